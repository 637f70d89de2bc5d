"""CLI wiring for ``moai-adk link supabase|firebase --to <host>`` (the work is in ``moai_adk.backend.wiring``)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from .options import common, open_provider

HOSTS = click.Choice(["vercel", "netlify", "firebase", "local"])


def _options(fn: Any) -> Any:
    fn = click.option("--dry-run", is_flag=True, help="Show what would be written and write nothing.")(fn)
    fn = click.option("--env", "environments", multiple=True, metavar="ENV",
                      help="Environment to link (repeatable; default: every environment with a project).")(fn)
    return fn


def _run(ctx: click.Context, backend: str, to: str, environments: tuple[str, ...], service_role: bool,
         dry_run: bool) -> None:
    from ..access import gate
    from ..backend.wiring import environments_for, link

    st, cfg, host = open_provider(ctx, to)
    chosen = environments_for(cfg, backend, st.environ, environments)
    for env in chosen:  # the access rules, before anything is read from the backend or sent
        gate(host, cfg.root, st.environ, env, "env")
    report = link(cfg, backend, host, st.environ, environments=chosen, service_role=service_role, dry_run=dry_run)
    data = report.to_json()
    for note in report.notes:
        st.output.info(note)

    def render(con: Console) -> None:
        for e in report.environments:
            con.print(f"{e.environment} (project {e.project}) -> {e.destination}:", markup=False)
            for key, secret in e.keys.items():
                sign = "+" if key in e.added else "~" if key in e.changed else "="
                con.print(f"  {sign} {key}  ({'secret' if secret else 'plain'})", markup=False, highlight=False)
        verb = "Would link" if dry_run else "Linked"
        con.print(f"{verb} the {backend} backend into {to} for {len(report.environments)} environment(s)"
                  + (" (dry run: nothing was written)." if dry_run else "."), markup=False)

    st.output.result(data, render)


@click.group("link")
def link_group() -> None:
    """Wire a backend into a host: its client settings into the host's env vars of each environment."""


@link_group.command("supabase")
@click.option("--to", "to", type=HOSTS, required=True, help="The hosting platform whose env vars get the settings.")
@click.option("--service-role", is_flag=True,
              help="Also write the service-role key, as the server-side secret SUPABASE_SERVICE_ROLE_KEY.")
@_options
@common
@click.pass_context
def link_supabase(ctx: click.Context, to: str, service_role: bool, environments: tuple[str, ...],
                  dry_run: bool) -> None:
    """Write each environment's Supabase URL and anon key under the framework's public prefix."""
    _run(ctx, "supabase", to, environments, service_role, dry_run)


@link_group.command("firebase")
@click.option("--to", "to", type=click.Choice(["vercel", "netlify", "local"]), required=True,
              help="The hosting platform whose env vars get the web app config.")
@_options
@common
@click.pass_context
def link_firebase(ctx: click.Context, to: str, environments: tuple[str, ...], dry_run: bool) -> None:
    """Write each environment's Firebase web app config (public by design) under the framework's public prefix."""
    _run(ctx, "firebase", to, environments, False, dry_run)


def register(cli: click.Group) -> None:
    """Add ``link`` to the root group."""
    cli.add_command(link_group)
