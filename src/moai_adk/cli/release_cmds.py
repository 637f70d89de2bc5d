"""CLI wiring for canary releases: split production traffic, show the split."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from ..deploy.release import canary_weights
from ..providers.capabilities import Hosting, Traffic, require
from .options import State, common, dry_run_option, open_provider, platform_option


def _split(ctx: click.Context, platform: str | None, change: str | None = None) -> tuple[State, Traffic, str | None]:
    """The provider as a traffic splitter, and the deployment production serves now."""
    st, _, provider = open_provider(ctx, platform, "production", change=change)
    splitter = require(provider, Traffic, "canary traffic split")
    live = require(provider, Hosting, "site hosting").production()
    return st, splitter, live.id if live else None


@click.command()
@click.argument("deployment_id", required=False)
@click.option("--percent", type=int, default=None, metavar="1-99",
              help="Share of production traffic DEPLOYMENT_ID gets, 1 to 99 (the rest stays on production).")
@click.option("--off", is_flag=True, help="End the canary: production takes all traffic again.")
@platform_option
@dry_run_option
@common
@click.pass_context
def canary(ctx: click.Context, deployment_id: str | None, percent: int | None, off: bool, platform: str | None,
           dry_run: bool) -> None:
    """Send PERCENT of production traffic to DEPLOYMENT_ID (sticky per visitor).

    `moai-adk promote DEPLOYMENT_ID` completes the release; `--off` abandons it.
    """
    if off == (deployment_id is not None):
        raise click.UsageError("Give a DEPLOYMENT_ID with --percent, or --off (not both).")
    if deployment_id is not None and percent is None:
        raise click.UsageError("Say how much traffic the canary gets: --percent N (1-99).")
    st, provider, production = _split(ctx, platform, "traffic")
    weights = {} if off else canary_weights(production, deployment_id or "", percent or 0)
    if dry_run:
        what = "end the canary" if not weights else ", ".join(f"{k} {v}%" for k, v in weights.items())
        st.output.dry_run("canary", f"would set production traffic on {provider.name} to: {what}.",
                          platform=provider.name, weights=weights)
        return
    provider.set_traffic(weights)
    data: dict[str, Any] = {"platform": provider.name, "production": production, "weights": weights or None}

    def render(con: Console) -> None:
        if not weights:
            con.print(f"Canary ended: production ({production}) takes all traffic on {provider.name}.")
        else:
            con.print("Production traffic on " + provider.name + ": "
                      + ", ".join(f"{k} {v}%" for k, v in weights.items()))

    st.output.result(data, render)


@click.command()
@platform_option
@common
@click.pass_context
def traffic(ctx: click.Context, platform: str | None) -> None:
    """Show how production traffic is split between deployments."""
    st, provider, production = _split(ctx, platform)
    weights = provider.traffic()
    data = {"platform": provider.name, "production": production, "weights": weights}

    def render(con: Console) -> None:
        if not weights:
            con.print(f"All production traffic on {provider.name} goes to {production or '(nothing yet)'}.")
        else:
            for dep, share in weights.items():
                con.print(f"{dep}  {share:3d}%" + ("  (production)" if dep == production else ""))

    st.output.result(data, render)


def register(cli: click.Group) -> None:
    cli.add_command(canary)
    cli.add_command(traffic)
