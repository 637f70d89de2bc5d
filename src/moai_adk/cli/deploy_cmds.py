"""CLI wiring for deploy, deployments, promote, rollback, status."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from .. import workspace
from ..deploy import pipeline
from ..providers.capabilities import Hosting, require
from .options import common, dry_run_option, open_project, open_provider, platform_option


def _hosting(ctx: click.Context, platform: str | None, environment: str | None = None, *,
             concurrency: int | None = None, change: str | None = None) -> tuple[Any, Any, Hosting]:
    st, cfg, provider = open_provider(ctx, platform, environment, concurrency=concurrency, change=change)
    return st, cfg, require(provider, Hosting, "site hosting")


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
@click.option("--archive", type=click.Choice(["tgz", "split-tgz", "off"]), is_flag=False, flag_value="tgz",
              default=None, help="Vercel: send the output as one tarball (--archive or --archive=tgz; split-tgz is "
                                 "the same), or never (--archive=off). Default: automatic.")
@common
@click.pass_context
def deploy(ctx: click.Context, platform: str | None, environment: str | None, prod: bool, dry_run: bool,
           skip_build: bool, allow_secret: tuple[str, ...], message: str | None, branch: str | None,
           expires: str | None, no_health_check: bool, concurrency: int | None, archive: str | None) -> None:
    """Build, upload and (with --prod) promote the project."""
    if prod and environment not in (None, "production"):
        raise click.UsageError(f"--prod conflicts with --env {environment}; use one of them.")
    env_name = "production" if prod else (environment or "preview")
    _, cfg = open_project(ctx)
    cfg.environment(env_name)  # validates the name
    st, cfg, provider = _hosting(ctx, platform, env_name, concurrency=concurrency, change="deploy")
    req = pipeline.DeployRequest(
        config=cfg, platform=provider.name, environment=env_name, production=env_name == "production",
        build=not skip_build, dry_run=dry_run, allow_secret_files=allow_secret, message=message,
        branch=branch, expires=expires, health_check=not no_health_check, archive=archive,
    )
    result = pipeline.run_deploy(req, provider, environ=st.environ, ui=st.output)
    upload_note = result.deployment.extra.get("upload_note") if result.deployment else None
    if upload_note:  # how the files went (Vercel: file by file or one archive, and why)
        result.notices.append(str(upload_note))

    def render(con: Console) -> None:
        if result.dry_run:
            con.print(f"Dry run: would deploy {result.files_total:,} files ({result.bytes_total:,} bytes) "
                      f"from {cfg.output_dir} to {provider.name} ({env_name}).")
            return
        d = result.deployment
        assert d is not None
        if d.extra.get("upload", {}).get("mode") == "tgz":
            con.print(f"Deployed [bold]{d.id}[/bold] to {provider.name} ({env_name}): "
                      f"{result.files_total:,} files sent as one archive.")
        else:
            con.print(f"Deployed [bold]{d.id}[/bold] to {provider.name} ({env_name}): "
                      f"{d.stats.files_uploaded:,} of {result.files_total:,} files uploaded.")
        if upload_note:
            con.print(str(upload_note), markup=False, highlight=False)
        if d.url:
            con.print(f"Preview:    {d.url}")
        if d.extra.get("alias_url"):  # the environment's own URL (a local alias, docs/environments.md)
            con.print(f"{env_name.capitalize() + ':':<11} {d.extra['alias_url']}")
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
    st, cfg, provider = _hosting(ctx, platform)
    rows = [workspace.deployment_row(d) for d in provider.list_deployments(limit=limit)]

    def render(con: Console) -> None:
        from rich.table import Table  # only when a table is shown (not for --json)

        table = Table("id", "state", "live", "created")
        table.add_column("url", overflow="fold")
        for r in rows:
            created = str(r["created_at"] or "").replace("T", " ")[:16]
            table.add_row(r["id"], r["state"], "yes" if r["production"] else "", created, r["url"] or "")
        con.print(table)

    st.output.result(rows, render)


@click.command()
@click.argument("deployment_id", required=False)
@click.option("--from", "source", default=None, metavar="ENV", help="Promote what this environment serves ...")
@click.option("--to", "target", default=None, metavar="ENV", help="... into this one (build once, promote many).")
@platform_option
@dry_run_option
@common
@click.pass_context
def promote(ctx: click.Context, deployment_id: str | None, source: str | None, target: str | None,
            platform: str | None, dry_run: bool) -> None:
    """Point production at DEPLOYMENT_ID (one atomic switch), or move the artifact --from ENV --to ENV."""
    if deployment_id is None and source is None and target is None:
        raise click.UsageError("Pass a DEPLOYMENT_ID, or --from ENV --to ENV (e.g. --from staging --to production).")
    if deployment_id is not None and (source or target):
        raise click.UsageError("Pass either a DEPLOYMENT_ID or --from/--to, not both.")
    if deployment_id is None:
        if not source or not target:
            raise click.UsageError(f"--from and --to go together; add {'--to ENV' if source else '--from ENV'}.")
        if platform:
            raise click.UsageError("--platform does not apply to --from/--to: moai.toml maps each environment to "
                                   "its platform ([environments.<name>] platform).")
        from .promote_envs import promote_environments

        promote_environments(ctx, source, target, dry_run)
        return
    st, cfg, provider = _hosting(ctx, platform, "production", change="promote")
    if dry_run:
        st.output.dry_run("promote", f"would promote {deployment_id} to production on {provider.name}.",
                          platform=provider.name, deployment_id=deployment_id)
        return
    d = pipeline.promote(provider, cfg.root, deployment_id)
    st.output.result(workspace.deployment_row(d), lambda con: con.print(
        f"Production on {provider.name} now serves {d.id}" + (f": {d.production_url}" if d.production_url else ".")))


@click.command()
@click.argument("deployment_id", required=False)
@platform_option
@dry_run_option
@common
@click.pass_context
def rollback(ctx: click.Context, deployment_id: str | None, platform: str | None, dry_run: bool) -> None:
    """Point production back at DEPLOYMENT_ID, or one step back in production history (again: further back)."""
    st, cfg, provider = _hosting(ctx, platform, "production", change="rollback")
    if dry_run:
        target = deployment_id
        find = getattr(provider, "rollback_target", None)  # platforms that keep a production history
        if target is None and find is not None:
            target = find().id
        what = target or "the previous production deployment"
        st.output.dry_run("rollback", f"would roll production on {provider.name} back to {what}.",
                          platform=provider.name, deployment_id=target)
        return
    d = pipeline.rollback(provider, cfg.root, deployment_id)
    st.output.result(workspace.deployment_row(d), lambda con: con.print(
        f"Rolled back: production on {provider.name} serves {d.id}" + (f": {d.production_url}" if d.production_url else ".")))


@click.command()
@common
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the project, its platforms, and every environment side by side (deployment, commit, health)."""
    st, cfg = open_project(ctx)
    data = workspace.project_status(cfg, st.environ)
    platforms = data["platforms"]
    from .promote_envs import environment_rows, environments_table

    data["environment_status"] = environment_rows(ctx)  # every environment side by side (deploy/status.py)

    def render(con: Console) -> None:
        con.print(f"Project [bold]{cfg.name}[/bold] ({cfg.path})")
        con.print(f"Build: {cfg.build_command or '(none)'} -> {cfg.output_dir}")
        from rich.table import Table

        table = Table("platform", "production", "url", "note")
        for p in platforms:
            prod = p.get("production") or {}
            note = "" if p["ok"] else f"{p['error']} {p.get('hint') or ''}"
            table.add_row(p["platform"], prod.get("id", "-") if p["ok"] else "?", prod.get("production_url") or "", note)
        con.print(table)
        con.print(environments_table(data["environment_status"]))

    st.output.result(data, render)


def register(cli: click.Group) -> None:
    for command in (deploy, deployments, promote, rollback, status):
        cli.add_command(command)
