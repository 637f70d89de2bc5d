"""CLI wiring for ``moai-adk audit log|verify|digest`` (the work is in ``moai_adk.audit``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import audit
from ..config import find_config
from ..errors import UsageError
from .options import State, common, state

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def _root(st: State) -> Path:
    path = find_config(st.project_dir)
    return path.parent.resolve() if path is not None else st.project_dir


def parse_since(value: str, now: float | None = None) -> str:
    """``--since``: a date, a UTC date-time, or an age (30m, 12h, 7d, 2w) -> an ISO UTC prefix to compare."""
    m = _RELATIVE.match(value.strip())
    if m:
        t = (time.time() if now is None else now) - int(m.group(1)) * _UNITS[m.group(2)]
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--since {value!r} is neither a date, a date-time nor an age.",
                         hint="Use e.g. --since 2026-11-01, --since 2026-11-01T09:30:00Z or --since 7d.") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


@click.group("audit")
def audit_group() -> None:
    """The project's audit log in .moai/audit/: show it, verify it, sign a digest."""


@audit_group.command("log")
@click.option("--env", "environment", default=None, metavar="ENVIRONMENT", help="Only entries of this environment.")
@click.option("--since", default=None, metavar="WHEN", help="Only entries from then on: 2026-11-01, an ISO time, or 7d.")
@common
@click.pass_context
def audit_log(ctx: click.Context, environment: str | None, since: str | None) -> None:
    """Who changed what, where and when (oldest first)."""
    st = state(ctx)
    start = parse_since(since) if since else None
    entries = [e for e in audit.read_entries(_root(st))
               if (environment is None or e.get("environment") == environment)
               and (start is None or str(e.get("at", "")) >= start)]

    def render(con: Console) -> None:
        if not entries:
            con.print("No audit entries" + (f" for {environment}" if environment else "") + ".")
            return
        table = Table("#", "TIME (UTC)", "WHO", "ACTION", "ENV", "TARGET", "RESULT")
        for e in entries:
            table.add_row(str(e.get("seq")), str(e.get("at", ""))[:19].replace("T", " "), escape(str(e.get("who"))),
                          escape(str(e.get("action"))), escape(str(e.get("environment") or "")),
                          escape(str(e.get("target") or "")), escape(str(e.get("result"))))
        con.print(table)

    st.output.result({"entries": entries}, render)


@audit_group.command("verify")
@common
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the hash chain and the signed digests; name the first entry that does not hold."""
    st = state(ctx)
    try:
        report: dict[str, Any] = audit.verify(_root(st))
    except audit.AuditIntegrityError as exc:
        if st.output.json:
            st.output.result(exc.report)
        raise
    st.output.result(report, lambda con: con.print(audit.summary(report)))


@audit_group.command("digest")
@common
@click.pass_context
def audit_digest(ctx: click.Context) -> None:
    """Sign a digest of the log now (also done every 100 entries); makes the key pair the first time."""
    st = state(ctx)
    payload = audit.sign_digest(_root(st), st.environ)
    st.output.result(payload, lambda con: con.print(f"Signed a digest of entries 1-{payload['seq']}."))


def register(cli: click.Group) -> None:
    """Add ``audit`` to the root group."""
    cli.add_command(audit_group)
