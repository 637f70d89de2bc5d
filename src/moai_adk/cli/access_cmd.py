"""CLI wiring for ``moai-adk access grant|list|revoke`` (the work is in ``moai_adk.access``)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import access
from ..roles import ROLES
from .options import common, dry_run_option, open_provider

PLATFORM_OPT = click.option("--platform", "-p", default=None, metavar="NAME",
                            help="local (tokens) or vercel, netlify, firebase, supabase (the project's policy); "
                                 "default: the platform moai.toml names for the environment.")


@click.group("access")
def access_group() -> None:
    """Who may change what, per environment: tokens on the local platform, a policy for the cloud."""


@access_group.command("grant")
@click.argument("who")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--env", "environments", multiple=True, metavar="ENVIRONMENT",
              help="An environment the grant covers (repeatable; none: every environment).")
@click.option("--site", "sites", multiple=True, metavar="SITE",
              help="Local platform: a site the token covers (repeatable; default: this project's site).")
@click.option("--expires", default=None, metavar="TTL", help="The grant ends after this long: 90m, 12h, 30d, 2w.")
@PLATFORM_OPT
@dry_run_option
@common
@click.pass_context
def grant(ctx: click.Context, who: str, role: str, environments: tuple[str, ...], sites: tuple[str, ...],
          expires: str | None, platform: str | None, dry_run: bool) -> None:
    """Give WHO the ROLE (viewer, developer, deployer, admin) in the environments given.

    On the local platform this mints a token named WHO and prints it once."""
    access.expiry(expires)  # a bad --expires fails before anything is opened
    st, cfg, provider = open_provider(ctx, platform, environments[0] if environments else None)
    for env in environments:
        cfg.environment(env)  # unknown environment: the error lists the known ones
    data = access.grant(provider, cfg.root, st.environ, who, role, list(environments), list(sites) or None,
                        expires, dry_run=dry_run)
    scope = ", ".join(environments) or "every environment"
    if dry_run:
        st.output.dry_run("access grant", f"would grant {role} to {who} for {scope} on {data['platform']}.", **data)
        return
    if "token" in data:
        st.output.info(f"{role} token {data['name']!r} (id {data['id']}) for {scope} on {data['url']}; use it as "
                       "MOAI_PLATFORM_TOKEN. It is shown only once:")
        st.output.result(data, lambda con: con.print(data["token"], markup=False, highlight=False))
        return
    st.output.result(data, lambda con: con.print(f"{who} is {role} for {scope} on {data['platform']} "
                                                 f"(in {data['policy']})."))


@access_group.command("list")
@PLATFORM_OPT
@common
@click.pass_context
def list_cmd(ctx: click.Context, platform: str | None) -> None:
    """The tokens of the local platform (never their values), or the grants of the project's policy."""
    st, cfg, provider = open_provider(ctx, platform)
    data = access.listing(provider, cfg.root)

    def scope(items: Any) -> str:
        return ", ".join(items) if items else "all"

    def render(con: Console) -> None:
        if "tokens" in data:
            table = Table("ID", "NAME", "ROLE", "SITES", "ENVIRONMENTS", "EXPIRES", "LAST USED", "STATE")
            for t in data["tokens"]:
                state = "revoked" if t["revoked_at"] else ("expired" if t["expired"] else "valid")
                table.add_row(t["id"], escape(t["name"]), t["role"], scope(t["sites"]), scope(t["environments"]),
                              t["expires_at"] or "never", t["last_used"] or "-", state)
            con.print(table)
            return
        if not data["grants"]:
            con.print(f"No grants for {data['platform']} in {data['policy']}: every change is allowed.")
            return
        table = Table("WHO", "ROLE", "PLATFORM", "ENVIRONMENTS", "EXPIRED")
        for g in data["grants"]:
            table.add_row(escape(g["who"]), g["role"], g.get("platform", "*"), scope(g.get("environments")),
                          "yes" if g["expired"] else "")
        con.print(table)

    st.output.result(data, render)


@access_group.command("revoke")
@click.argument("ref", metavar="NAME_OR_ID")
@PLATFORM_OPT
@dry_run_option
@common
@click.pass_context
def revoke(ctx: click.Context, ref: str, platform: str | None, dry_run: bool) -> None:
    """Revoke a local platform token (by name or id), or remove someone's grants from the policy."""
    st, cfg, provider = open_provider(ctx, platform)
    data = access.revoke(provider, cfg.root, st.environ, ref, dry_run=dry_run)
    if dry_run:
        st.output.dry_run("access revoke", f"would revoke {ref} on {data['platform']}.", **data)
        return
    st.output.result(data, lambda con: con.print(f"Revoked {ref} on {data['platform']}."))


def register(cli: click.Group) -> None:
    cli.add_command(access_group)
