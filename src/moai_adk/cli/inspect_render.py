"""How `moai-adk db inspect` looks on a terminal: one block per section, a table per list."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

HEADERS = {"size_bytes": "Size", "wasted_bytes": "Wasted", "total_ms": "Total ms", "mean_ms": "Mean ms",
           "share_pct": "% time", "bloat_ratio": "Bloat", "index_share_pct": "% index scans",
           "rows_per_seq_scan": "Rows/seq scan", "seq_scan": "Seq scans", "idx_scan": "Index scans",
           "blocked_by": "Blocked by", "blocker_state": "Blocker state", "blocker_query": "Blocker query"}


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column.endswith("_bytes"):
        from ..db.inspect import human_size  # loaded already: the report came from it
        return human_size(float(value))
    if column == "bloat_ratio":
        return f"{float(value):.0%}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def render_inspect(con: Console, report: Any) -> None:
    con.print(f"Database {report.database} on {report.target}, PostgreSQL {report.server_version}"
              + (f"; statistics since {report.stats_reset}" if report.stats_reset else "") + ".",
              markup=False, highlight=False)
    for sec in report.sections:
        con.print()
        mark = "[green]ok[/green]  " if sec.verdict == "ok" else "[yellow]warn[/yellow]"
        con.print(f"{mark} [bold]{sec.title}[/bold]")
        con.print(f"     {sec.summary}", markup=False, highlight=False)
        for name, items in sec.lists.items():
            shown = sec.columns.get(name)
            if not items or not shown:
                continue
            table = Table(*(HEADERS.get(c, c.replace("_", " ").capitalize()) for c in shown),
                          title=name.replace("_", " ") if len(sec.lists) > 1 else None, title_justify="left")
            for item in items:
                table.add_row(*(_cell(c, item.get(c)) for c in shown))
            con.print(table)
        for line in sec.advice:
            con.print(f"     - {line}", markup=False, highlight=False)
    warned = [s.title for s in report.sections if s.verdict == "warn"]
    con.print()
    con.print(f"{len(warned)} of {len(report.sections)} section(s) need attention"
              + (f": {', '.join(warned)}." if warned else "."), markup=False, highlight=False)
