"""CLI wiring for ``moai-adk env list|set|unset|pull|push|diff`` (the work is in ``moai_adk.envs``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import envs, envs_diff, envs_files
from ..errors import UsageError
from ..providers.capabilities import EnvStore, require
from .options import State, common, open_project, open_provider
from .secrets_cmd import protect_environment, store_values

DEFAULT_ENV = "development"
ENV_OPT = click.option("--env", "environment", default=DEFAULT_ENV, show_default=True, metavar="ENVIRONMENT",
                       help="development, preview, staging, production or one from moai.toml.")
PLATFORM_OPT = click.option("--platform", default=None, help="Platform to use (default: the environment's platform in moai.toml).")
DRY_RUN_OPT = click.option("--dry-run", is_flag=True, help="Show what would change and change nothing.")


def _provider(ctx: click.Context, environment: str, platform: str | None,
              change: str | None = None) -> tuple[State, EnvStore, Path]:
    st, cfg = open_project(ctx)
    cfg.environment(environment)  # unknown environment -> ConfigError naming it
    protect_environment(st, cfg, environment)  # the environment's secrets never reach the output
    st, cfg, provider = open_provider(ctx, platform, environment, change=change)
    store = require(provider, EnvStore, "environment variables")
    note = store.mapping_note(environment)
    if note:
        st.output.info(note)
    return st, store, cfg.root


def _dotenv_path(root: Path, environment: str, given: Path | None) -> Path:
    if given is None:
        return root / f".env.{environment}.local"
    return given if given.is_absolute() else (Path.cwd() / given)


@click.group("env")
def env_group() -> None:
    """List, set, unset, pull and push environment variables on a platform."""


@env_group.command("list")
@ENV_OPT
@PLATFORM_OPT
@common
@click.pass_context
def env_list(ctx: click.Context, environment: str, platform: str | None) -> None:
    """List the variables of ENVIRONMENT (secrets show as unreadable)."""
    st, provider, _ = _provider(ctx, environment, platform)
    items = envs.list_env(provider, environment)
    rows = [envs.env_to_json(v) for v in items]

    def render(con: Console) -> None:
        if not rows:
            con.print(f"No variables for {environment} on {provider.name}.")
            return
        table = Table("KEY", "VALUE", "SECRET")
        for r in rows:
            value = escape(r["value"]) if r["value"] is not None else "[dim](not readable)[/dim]"
            table.add_row(r["key"], value, "yes" if r["secret"] else "")
        con.print(table)

    st.output.result({"platform": provider.name, "environment": environment, "variables": rows}, render)


@env_group.command("set")
@click.argument("key")
@click.argument("value")
@ENV_OPT
@PLATFORM_OPT
@click.option("--secret", is_flag=True, help="Store it write-only (Vercel sensitive, Netlify secret).")
@DRY_RUN_OPT
@common
@click.pass_context
def env_set(ctx: click.Context, key: str, value: str, environment: str, platform: str | None, secret: bool,
            dry_run: bool) -> None:
    """Set KEY to VALUE ('-' reads the value from stdin, keeping it out of shell history)."""
    if value == "-":
        value = sys.stdin.read().rstrip("\n")
    st, provider, root = _provider(ctx, environment, platform, "env")
    result = envs.set_env(provider, environment, key, value, secret=secret, dry_run=dry_run)
    _render_change(st, result)


@env_group.command("unset")
@click.argument("key")
@ENV_OPT
@PLATFORM_OPT
@DRY_RUN_OPT
@common
@click.pass_context
def env_unset(ctx: click.Context, key: str, environment: str, platform: str | None, dry_run: bool) -> None:
    """Remove KEY from ENVIRONMENT (other environments keep theirs)."""
    st, provider, root = _provider(ctx, environment, platform, "env")
    result = envs.unset_env(provider, environment, key, dry_run=dry_run)
    _render_change(st, result)


def _render_change(st: State, result: dict[str, Any]) -> None:
    verb = {"add": "Added", "change": "Changed", "unchanged": "Unchanged", "remove": "Removed"}[result["action"]]
    prefix = "Would have: " if result["dry_run"] else ""

    def render(con: Console) -> None:
        con.print(f"{prefix}{verb} {result['key']} ({result['environment']} on {result['platform']}).")

    st.output.result(result, render)


@env_group.command("pull")
@ENV_OPT
@PLATFORM_OPT
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write (default: .env.<environment>.local next to moai.toml).")
@DRY_RUN_OPT
@common
@click.pass_context
def env_pull(ctx: click.Context, environment: str, platform: str | None, file: Path | None, dry_run: bool) -> None:
    """Write ENVIRONMENT's variables to a .env file (secrets the platform hides are listed, never blanked)."""
    st, provider, root = _provider(ctx, environment, platform)
    path = _dotenv_path(root, environment, file)
    result = envs.pull_env(provider, environment, path, dry_run=dry_run)
    if result.unreadable:
        kept = f" (kept their current values in {path.name}: {', '.join(result.kept)})" if result.kept else ""
        st.output.warn(f"{len(result.unreadable)} secret(s) could not be read and were not written: "
                       f"{', '.join(result.unreadable)}{kept}.")

    def render(con: Console) -> None:
        verb = "Would write" if dry_run else "Wrote"
        con.print(f"{verb} {len(result.written)} variable(s) to {path}.")

    st.output.result(result.to_json(), render)


@env_group.command("push")
@ENV_OPT
@PLATFORM_OPT
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The .env file to read (default: .env.<environment>.local next to moai.toml).")
@click.option("--secret", is_flag=True, help="Store every pushed variable as a secret.")
@click.option("--secret-key", "secret_keys", multiple=True, metavar="KEY", help="Store this key as a secret (repeatable).")
@click.option("--secrets-from-store", "from_store", is_flag=True,
              help="Push ENVIRONMENT's secrets from .moai/secrets/<env>.age (as secrets, decrypted in memory only).")
@DRY_RUN_OPT
@common
@click.pass_context
def env_push(ctx: click.Context, environment: str, platform: str | None, file: Path | None, secret: bool,
             secret_keys: tuple[str, ...], from_store: bool, dry_run: bool) -> None:
    """Set every KEY=value of a .env file (or of the secrets store) on ENVIRONMENT; unchanged values are not sent."""
    if from_store and (file is not None or secret or secret_keys):
        raise UsageError("--secrets-from-store pushes the store's secrets only; it does not take --file, --secret "
                         "or --secret-key.", hint="Run two pushes: one with --secrets-from-store, one with --file.")
    st, provider, root = _provider(ctx, environment, platform, "env")
    path = _dotenv_path(root, environment, file)
    for key in secret_keys:
        if not envs.KEY_RE.match(key):
            raise UsageError(f"--secret-key {key!r} is not a valid variable name.", hint="Use e.g. --secret-key API_TOKEN.")
    if from_store:
        path = root / ".moai" / "secrets" / f"{environment}.age"
        result = envs.push_values(provider, environment, store_values(ctx, environment), secret=True, dry_run=dry_run)
    else:
        result = envs.push_env(provider, environment, path, secret=secret, secret_keys=frozenset(secret_keys),
                               dry_run=dry_run)

    def render(con: Console) -> None:
        prefix = "Would push" if dry_run else "Pushed"
        con.print(f"{prefix} {path.name} to {environment} on {provider.name}: {len(result.added)} added, "
                  f"{len(result.changed)} changed, {len(result.unchanged)} unchanged.")

    st.output.result(result.to_json(), render)


def register(cli: click.Group) -> None:
    """Add ``env`` and its subcommands to the root group."""
    cli.add_command(env_group)


@env_group.command("diff")
@click.option("--env", "environments", multiple=True, metavar="ENVIRONMENT",
              help="Twice: compare two environments; once with --local: the platform against the .env files.")
@click.option("--local", "local", is_flag=True,
              help="Compare --env's variables on the platform with .env, .env.<env> and .env.<env>.local.")
@PLATFORM_OPT
@common
@click.pass_context
def env_diff(ctx: click.Context, environments: tuple[str, ...], local: bool, platform: str | None) -> None:
    """Keys added, changed or removed between two environments (values masked, secrets never shown)."""
    if len(environments) != (1 if local else 2):
        raise UsageError("env diff compares two sets of variables: give --env twice, or --env once with --local.",
                         hint="e.g. `moai-adk env diff --env staging --env production` or "
                              "`moai-adk env diff --env production --local`.")
    first = environments[0]
    st, store, root = _provider(ctx, first, platform)
    left = envs_diff.remote_vars(envs.list_env(store, first))
    left_name = f"{store.name} ({first})"
    if local:
        files = envs_files.read_local_env(root, first)
        right = envs_diff.local_vars(files.values)
        right_name = f"{', '.join(files.files) or 'no .env files'} ({first})"
    else:
        second = environments[1]
        _, other, _ = _provider(ctx, second, platform)
        right = envs_diff.remote_vars(envs.list_env(other, second))
        right_name = f"{other.name} ({second})"
    diff = envs_diff.diff_vars(left, right, left_name=left_name, right_name=right_name)

    def render(con: Console) -> None:
        shown = [r for r in diff.rows if r.status != "unchanged"]
        con.print(f"{escape(diff.left)} -> {escape(diff.right)}: " + ", ".join(
            f"{len(diff.keys(s))} {s}" for s in envs_diff.STATUSES))
        if shown:
            table = Table("", "KEY", escape(diff.left), escape(diff.right))
            sign = {"added": "+", "removed": "-", "changed": "~", "unknown": "?"}
            for r in shown:
                table.add_row(sign[r.status], r.key, escape(r.left or ""), escape(r.right or ""))
            con.print(table)

    st.output.result(diff.to_json(), render)
