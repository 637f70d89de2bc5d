"""CLI wiring for platform-specific resources: preview channels (Firebase)
and edge functions (Supabase)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..providers.capabilities import Channels, Functions, require
from .options import State, common, dry_run_option, open_provider, platform_option


def _channels(ctx: click.Context, platform: str | None) -> tuple[State, Channels]:
    st, _, provider = open_provider(ctx, platform or "firebase")
    return st, require(provider, Channels, "preview channels")


def _functions(ctx: click.Context, platform: str | None, environment: str) -> tuple[State, Functions]:
    st, _, provider = open_provider(ctx, platform or "supabase", environment)
    return st, require(provider, Functions, "edge functions")


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Any:
    def render(con: Console) -> None:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        con.print(table)
    return render


@click.group()
def channels() -> None:
    """Preview channels (Firebase Hosting)."""


@channels.command("list")
@platform_option
@common
@click.pass_context
def channels_list(ctx: click.Context, platform: str | None) -> None:
    """List preview channels with their URLs and expiry."""
    st, provider = _channels(ctx, platform)
    rows = provider.list_channels()
    st.output.result(rows, _table(rows, ("id", "url", "expire_time", "version")))


@channels.command("delete")
@click.argument("name")
@platform_option
@dry_run_option
@common
@click.pass_context
def channels_delete(ctx: click.Context, name: str, platform: str | None, dry_run: bool) -> None:
    """Delete preview channel NAME (never `live`)."""
    st, provider = _channels(ctx, platform)
    if name == "live":
        provider.delete_channel(name)  # refuses with a clear error before sending anything
    if dry_run:
        st.output.dry_run("delete-channel", f"would delete channel {name} on {provider.name}.", channel=name)
        return
    provider.delete_channel(name)
    st.output.result({"deleted": name}, lambda con: con.print(f"Deleted channel {name}."))


@click.group()
def functions() -> None:
    """Edge functions (Supabase)."""


@functions.command("list")
@click.option("--env", "environment", default="production", show_default=True)
@platform_option
@common
@click.pass_context
def functions_list(ctx: click.Context, environment: str, platform: str | None) -> None:
    """List deployed edge functions of ENV's project."""
    st, provider = _functions(ctx, platform, environment)
    rows = provider.list_functions(environment)
    st.output.result(rows, _table(rows, ("slug", "status", "version", "verify_jwt", "updated_at")))


@functions.command("deploy")
@click.argument("names", nargs=-1)
@click.option("--env", "environment", default="production", show_default=True)
@platform_option
@click.option("--dry-run", is_flag=True, help="Check and list what would be sent, send nothing.")
@common
@click.pass_context
def functions_deploy(ctx: click.Context, names: tuple[str, ...], environment: str, platform: str | None,
                     dry_run: bool) -> None:
    """Deploy supabase/functions/<name> (all of them when no NAMES are given)."""
    st, provider = _functions(ctx, platform, environment)
    rows = provider.deploy_functions(list(names) or None, environment, dry_run=dry_run)
    st.output.result(rows, _table(rows, ("slug", "status", "version", "files", "bytes")))


@functions.command("delete")
@click.argument("slug")
@click.option("--env", "environment", default="production", show_default=True)
@platform_option
@dry_run_option
@common
@click.pass_context
def functions_delete(ctx: click.Context, slug: str, environment: str, platform: str | None, dry_run: bool) -> None:
    """Delete the deployed edge function SLUG."""
    st, provider = _functions(ctx, platform, environment)
    if dry_run:
        st.output.dry_run("delete-function", f"would delete function {slug} ({environment}).", slug=slug)
        return
    provider.delete_function(slug, environment)
    st.output.result({"deleted": slug}, lambda con: con.print(f"Deleted function {slug}."))


def register(cli: click.Group) -> None:
    cli.add_command(channels)
    cli.add_command(functions)
