"""CLI wiring for platform-specific resources: preview channels (Firebase)
and edge functions (Supabase)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..errors import NotSupported
from .deploy_cmds import open_provider, platform_option
from .main import common, dry_run_option


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Any:
    def render(con: Console) -> None:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        con.print(table)
    return render


def _need(provider: object, method: str, what: str) -> Any:
    fn = getattr(provider, method, None)
    if fn is None:
        name = getattr(provider, "name", "this")
        raise NotSupported(f"The {name} platform has no {what}.",
                           hint="Preview channels are Firebase's (--platform firebase); edge functions are Supabase's "
                                "(--platform supabase).")
    return fn


@click.group()
def channels() -> None:
    """Preview channels (Firebase Hosting)."""


@channels.command("list")
@platform_option
@common
@click.pass_context
def channels_list(ctx: click.Context, platform: str | None) -> None:
    """List preview channels with their URLs and expiry."""
    st, _, provider = open_provider(ctx, platform or "firebase")
    rows = _need(provider, "list_channels", "preview channels")()
    st.output.result(rows, _table(rows, ("id", "url", "expire_time", "version")))


@channels.command("delete")
@click.argument("name")
@platform_option
@dry_run_option
@common
@click.pass_context
def channels_delete(ctx: click.Context, name: str, platform: str | None, dry_run: bool) -> None:
    """Delete preview channel NAME (never `live`)."""
    st, _, provider = open_provider(ctx, platform or "firebase")
    delete = _need(provider, "delete_channel", "preview channels")
    if name == "live":
        delete(name)  # refuses with a clear error before sending anything
    if dry_run:
        st.output.dry_run("delete-channel", f"would delete channel {name} on {provider.name}.", channel=name)
        return
    delete(name)
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
    st, _, provider = open_provider(ctx, platform or "supabase", environment)
    rows = _need(provider, "list_functions", "edge functions")(environment)
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
    st, _, provider = open_provider(ctx, platform or "supabase", environment)
    rows = _need(provider, "deploy_functions", "edge functions")(list(names) or None, environment, dry_run=dry_run)
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
    st, _, provider = open_provider(ctx, platform or "supabase", environment)
    delete = _need(provider, "delete_function", "edge functions")
    if dry_run:
        st.output.dry_run("delete-function", f"would delete function {slug} ({environment}).", slug=slug)
        return
    delete(slug, environment)
    st.output.result({"deleted": slug}, lambda con: con.print(f"Deleted function {slug}."))


def register(cli: click.Group) -> None:
    cli.add_command(channels)
    cli.add_command(functions)
