"""CLI wiring for ``moai-adk monitor probe`` (the work is in ``moai_adk.monitor.probe``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..errors import MoaiError, UsageError
from .options import common, open_provider, state


@click.group("monitor")
def monitor_group() -> None:
    """Check deployed sites from this machine."""


def _env_url(ctx: click.Context, env: str) -> str:
    from ..deploy.status import probe_url
    from ..providers.capabilities import Environments

    _, _, provider = open_provider(ctx, None, env)
    if not isinstance(provider, Environments):
        raise MoaiError(f"monitor probe: {provider.name} hosts no environments, so --env {env} has no URL",
                        hint="Pass the URL to probe instead of --env.")
    d = provider.environment_deployment(env)
    url = probe_url(env, d) if d is not None else None
    if not url:
        raise MoaiError(f"monitor probe: no deployment serves the {env} environment on {provider.name}",
                        hint=f"Deploy to {env} first, or pass a URL.")
    return url


@monitor_group.command("probe")
@click.argument("url", required=False)
@click.option("--env", "env", metavar="ENV", default=None, help="Probe this environment's URL instead of URL.")
@click.option("--runs", type=click.IntRange(1, 1000), default=5, show_default=True, help="How many requests to time.")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Trust the certificates of this PEM file instead of the system's trust store.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds each network step may take.")
@common
@click.pass_context
def probe(ctx: click.Context, url: str | None, env: str | None, runs: int, ca_file: Path | None,
          timeout: float) -> None:
    """Time DNS, connect, TLS, first byte and total of N requests to a URL; exit 1 if any run fails."""
    from ..monitor.probe import PHASES
    from ..monitor.probe import probe as run_probe

    if (url is None) == (env is None):
        raise UsageError("monitor probe: pass either a URL or --env ENV (one of them)",
                         hint="e.g. moai-adk monitor probe https://example.com/ or --env production.")
    target = url if url is not None else _env_url(ctx, str(env))
    report = run_probe(target, runs=runs, ca_file=ca_file, timeout=timeout)

    def render(con: Console) -> None:
        table = Table(title=f"{target} ({runs} runs, cumulative ms)")
        for column in ("phase", "p50", "p95", "p99", "min", "max"):
            table.add_column(column, justify="left" if column == "phase" else "right")
        for phase in PHASES:
            row: Any = report["phases"][phase]
            if row is not None:
                table.add_row(phase, *(f"{row[k]:.1f}" for k in ("p50", "p95", "p99", "min", "max")))
        con.print(table)
        con.print("statuses: " + ", ".join(f"{k} x{v}" for k, v in report["statuses"].items()), markup=False)

    state(ctx).output.result(report, render)
    if report["failures"]:
        raise MoaiError(f"monitor probe: {len(report['failures'])} of {runs} runs to {target} failed: "
                        + "; ".join(report["failures"][:5]),
                        hint="A run fails on a DNS, connect, TLS or read error, or a status of 500 or more.")


def register(cli: click.Group) -> None:
    """Add ``monitor`` to the root group."""
    cli.add_command(monitor_group)
