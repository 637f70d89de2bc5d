"""CLI wiring for deploy, deployments, promote, rollback, status."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..config import Config, find_config, load_config
from ..deploy import pipeline
from ..errors import ConfigError, MoaiError, UsageError
from ..providers import available, get_provider_class, make_provider
from ..providers.base import Deployment, Provider, ProviderContext
from .main import State, common, dry_run_option, state


def load_project(st: State) -> Config:
    path = find_config(st.project_dir)
    if path is None:
        raise ConfigError(
            f"No moai.toml in {st.project_dir} or any folder above it.",
            hint="Run `moai-adk init` in your project folder (or pass -C DIR).",
        )
    return load_config(path)


def provider_for(st: State, cfg: Config, platform: str | None, environment: str | None = None,
                 concurrency: int | None = None) -> Provider:
    name = platform or cfg.platform_for(environment)
    if concurrency is None and st.environ.get("MOAI_UPLOAD_CONCURRENCY"):
        raw = st.environ["MOAI_UPLOAD_CONCURRENCY"]
        if not raw.isdigit() or int(raw) < 1:
            raise UsageError(f"MOAI_UPLOAD_CONCURRENCY={raw!r} is not a positive whole number.",
                             hint="Unset it, or set it to e.g. 8.")
        concurrency = int(raw)
    settings = cfg.settings_for(name)
    # per-environment values a provider may need (Supabase: the project ref of each environment)
    settings.setdefault("environments", {n: {"supabase_project_ref": e.supabase_project_ref}
                                         for n, e in cfg.environments.items() if e.supabase_project_ref})
    ctx = ProviderContext(root=cfg.root, settings=settings, environ=st.environ,
                          project_name=cfg.name, concurrency=concurrency)
    return make_provider(name, ctx)


def open_provider(ctx: click.Context, platform: str | None,
                  environment: str | None = None) -> tuple[State, Config, Provider]:
    """What most commands start with: the invocation state, the project's config, and the
    provider for ``platform`` (default: the one moai.toml names for ``environment``)."""
    st = state(ctx)
    cfg = load_project(st)
    return st, cfg, provider_for(st, cfg, platform, environment)


def _deployment_row(d: Deployment) -> dict[str, Any]:
    return {"id": d.id, "state": d.state, "production": d.production, "target": d.target,
            "url": d.url, "production_url": d.production_url, "created_at": d.created_at}


platform_option = click.option("--platform", "-p", default=None, metavar="NAME",
                               help="Platform to use (default: from moai.toml, else local).")


@click.command()
@platform_option
@click.option("--env", "environment", default=None, metavar="ENV",
              help="Environment: development, preview, staging, production (default preview).")
@click.option("--prod", is_flag=True, help="Promote to production after the health check (same as --env production).")
@click.option("--dry-run", is_flag=True, help="Build nothing, upload nothing: print what would be deployed.")
@click.option("--skip-build", is_flag=True, help="Deploy the output folder as it is, without running the build command.")
@click.option("--allow-secret-file", "allow_secret", multiple=True, metavar="PATH",
              help="Publish this file even though it looks like a secret (repeatable).")
@click.option("--message", "-m", default=None, help="A note stored with the deployment.")
@click.option("--branch", default=None, help="Branch name for preview aliases/channels.")
@click.option("--expires", default=None, metavar="TTL", help="Preview lifetime where the platform supports it (e.g. 7d).")
@click.option("--no-health-check", is_flag=True, help="Do not check the new deployment before promoting it.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Uploads in flight at once (default: the platform's; env MOAI_UPLOAD_CONCURRENCY).")
@common
@click.pass_context
def deploy(ctx: click.Context, platform: str | None, environment: str | None, prod: bool, dry_run: bool,
           skip_build: bool, allow_secret: tuple[str, ...], message: str | None, branch: str | None,
           expires: str | None, no_health_check: bool, concurrency: int | None) -> None:
    """Build, upload and (with --prod) promote the project."""
    st = state(ctx)
    cfg = load_project(st)
    if prod and environment not in (None, "production"):
        raise click.UsageError(f"--prod conflicts with --env {environment}; use one of them.")
    env_name = "production" if prod else (environment or "preview")
    cfg.environment(env_name)  # validates the name
    provider = provider_for(st, cfg, platform, env_name, concurrency)
    req = pipeline.DeployRequest(
        config=cfg, platform=provider.name, environment=env_name, production=env_name == "production",
        build=not skip_build, dry_run=dry_run, allow_secret_files=allow_secret, message=message,
        branch=branch, expires=expires, health_check=not no_health_check,
    )
    result = pipeline.run_deploy(req, provider, environ=st.environ, ui=st.output)

    def render(con: Console) -> None:
        if result.dry_run:
            con.print(f"Dry run: would deploy {result.files_total:,} files ({result.bytes_total:,} bytes) "
                      f"from {cfg.output_dir} to {provider.name} ({env_name}).")
            return
        d = result.deployment
        assert d is not None
        con.print(f"Deployed [bold]{d.id}[/bold] to {provider.name} ({env_name}): "
                  f"{d.stats.files_uploaded:,} of {result.files_total:,} files uploaded.")
        if d.url:
            con.print(f"Preview:    {d.url}")
        if result.promoted and d.production_url:
            con.print(f"Production: {d.production_url}")
        elif d.production_url:
            con.print(f"Production (unchanged): {d.production_url}  — promote with `moai-adk promote {d.id}`")

    st.output.result(result.to_json(), render)


@click.command("deployments")
@platform_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@common
@click.pass_context
def deployments(ctx: click.Context, platform: str | None, limit: int) -> None:
    """List deployments, newest first."""
    st, cfg, provider = open_provider(ctx, platform)
    items = provider.list_deployments(limit=limit)
    rows = [_deployment_row(d) for d in items]

    def render(con: Console) -> None:
        table = Table("id", "state", "live", "created")
        table.add_column("url", overflow="fold")
        for r in rows:
            created = str(r["created_at"] or "").replace("T", " ")[:16]
            table.add_row(r["id"], r["state"], "yes" if r["production"] else "", created, r["url"] or "")
        con.print(table)

    st.output.result(rows, render)


@click.command()
@click.argument("deployment_id")
@platform_option
@dry_run_option
@common
@click.pass_context
def promote(ctx: click.Context, deployment_id: str, platform: str | None, dry_run: bool) -> None:
    """Point production at DEPLOYMENT_ID (one atomic switch)."""
    st, cfg, provider = open_provider(ctx, platform, "production")
    if dry_run:
        st.output.dry_run("promote", f"would promote {deployment_id} to production on {provider.name}.",
                          platform=provider.name, deployment_id=deployment_id)
        return
    d = pipeline.promote(provider, cfg.root, deployment_id)
    st.output.result(_deployment_row(d), lambda con: con.print(
        f"Production on {provider.name} now serves {d.id}" + (f": {d.production_url}" if d.production_url else ".")))


@click.command()
@click.argument("deployment_id", required=False)
@platform_option
@dry_run_option
@common
@click.pass_context
def rollback(ctx: click.Context, deployment_id: str | None, platform: str | None, dry_run: bool) -> None:
    """Point production back at DEPLOYMENT_ID, or at the previous production deployment."""
    st, cfg, provider = open_provider(ctx, platform, "production")
    if dry_run:
        what = deployment_id or "the previous production deployment"
        st.output.dry_run("rollback", f"would roll production on {provider.name} back to {what}.",
                          platform=provider.name, deployment_id=deployment_id)
        return
    d = pipeline.rollback(provider, cfg.root, deployment_id)
    st.output.result(_deployment_row(d), lambda con: con.print(
        f"Rolled back: production on {provider.name} serves {d.id}" + (f": {d.production_url}" if d.production_url else ".")))


@click.command()
@common
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the project, its platforms, and what production serves on each."""
    st = state(ctx)
    cfg = load_project(st)
    platforms: list[dict[str, Any]] = []
    for name in cfg.platforms:
        entry: dict[str, Any] = {"platform": name}
        try:
            cls = get_provider_class(name)
            entry["capabilities"] = sorted(cls.capabilities)
            provider = provider_for(st, cfg, name)
            live = [d for d in provider.list_deployments(limit=20) if d.production]
            entry["production"] = _deployment_row(live[0]) if live else None
            entry["ok"] = True
        except MoaiError as exc:
            entry["ok"] = False
            entry["error"] = exc.message
            entry["hint"] = exc.hint
        platforms.append(entry)
    data = {"project": cfg.name, "config": str(cfg.path), "output": str(cfg.output_dir),
            "build_command": cfg.build_command, "default_platform": cfg.platform,
            "environments": sorted(set(cfg.environments) | {"development", "preview", "staging", "production"}),
            "platforms": platforms, "known_platforms": sorted(available())}

    def render(con: Console) -> None:
        con.print(f"Project [bold]{cfg.name}[/bold] ({cfg.path})")
        con.print(f"Build: {cfg.build_command or '(none)'} -> {cfg.output_dir}")
        table = Table("platform", "production", "url", "note")
        for p in platforms:
            prod = p.get("production") or {}
            note = "" if p["ok"] else f"{p['error']} {p.get('hint') or ''}"
            table.add_row(p["platform"], prod.get("id", "-") if p["ok"] else "?", prod.get("production_url") or "", note)
        con.print(table)

    st.output.result(data, render)


def register(cli: click.Group) -> None:
    for command in (deploy, deployments, promote, rollback, status):
        cli.add_command(command)
