"""``db inspect``: a performance report of one PostgreSQL database (the database doctor).

Read-only: every query reads statistics views and catalogs (``pg_stat_statements``,
``pg_stat_user_tables``/``_indexes``, ``pg_statio_*``, ``pg_stats``, ``pg_stat_activity``,
``pg_blocking_pids``) in a read-only session with a statement timeout. Each section ends
in a verdict (``ok`` or ``warn``) and advice in plain words; the thresholds are the fields
of ``Thresholds`` and are printed with the report. A section the server cannot answer
(a missing privilege, an extension that is not loaded) says so and how to fix it instead
of failing the report; only an unreachable server is an error.

The sections live in ``inspect_queries`` (statements, activity, connections, cache) and
``inspect_indexes`` (unused, duplicate and missing indexes, bloat).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from .catalog import MANAGED_SCHEMAS, SYSTEM_SCHEMAS
from .connect import Target, connect, translate

OK = "ok"
WARN = "warn"
MARK = "/* moai-adk db inspect */ "  # leads every query of the report, so the report leaves itself out

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class Thresholds:
    """When a section turns from ok to warn (documented in docs/db-inspect.md)."""

    top: int = 10                        # rows per list
    slow_mean_ms: float = 100.0          # a statement is slow at this mean time ...
    slow_min_calls: int = 5              # ... once called this often
    long_running_s: float = 60.0         # a query (or an open idle transaction) running this long
    missing_min_rows: int = 10_000       # missing-index candidates: tables with at least this many rows,
    missing_min_seq_scans: int = 10      # scanned sequentially this often,
    missing_min_rows_per_scan: int = 1_000  # reading this many rows per sequential scan on average,
    missing_max_index_share: float = 0.95  # with fewer than this share of scans using an index
    bloat_ratio: float = 0.5             # bloat: this share of a relation estimated wasted ...
    bloat_min_bytes: int = 10 * 1024 * 1024  # ... and at least this many bytes
    cache_hit_ratio: float = 0.99        # cache hit ratio below this ...
    cache_min_blocks: int = 10_000       # ... once this many blocks were read in all
    connections_ratio: float = 0.8       # connections in use against max_connections
    idle_ratio: float = 0.5              # idle connections against max_connections


@dataclass
class Section:
    """One part of the report: a verdict, a sentence, advice, and lists of rows."""

    key: str
    title: str
    verdict: str = OK
    summary: str = ""
    advice: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)  # which keys of each list a table shows

    def warn(self, summary: str, *advice: str) -> None:
        self.verdict, self.summary = WARN, summary
        self.advice.extend(advice)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["columns"]
        return data


@dataclass
class Report:
    target: str
    database: str
    server_version: str
    stats_reset: str | None
    thresholds: Thresholds
    sections: list[Section]

    @property
    def verdict(self) -> str:
        return WARN if any(s.verdict == WARN for s in self.sections) else OK

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "database": self.database, "server_version": self.server_version,
                "stats_reset": self.stats_reset, "verdict": self.verdict, "thresholds": asdict(self.thresholds),
                "sections": [s.to_json() for s in self.sections]}


def user_schemas_clause(column: str) -> str:
    """SQL that keeps the rows of ``column`` in the user's own schemas (not system or Supabase-managed)."""
    names = ", ".join(f"'{s}'" for s in (*SYSTEM_SCHEMAS, *MANAGED_SCHEMAS))
    return f"{column} not in ({names}) and {column} !~ '^pg_(toast|temp)'"


def rows(conn: Conn, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    """The rows of a report query, as dicts."""
    with conn.cursor() as cur:
        cur.execute(MARK + sql, params or None)
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def one(conn: Conn, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> dict[str, Any]:
    found = rows(conn, sql, params)
    return found[0] if found else {}


def shorten(query: str, limit: int = 200) -> str:
    """A statement on one line, cut to ``limit`` characters."""
    flat = " ".join(query.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


Check = Callable[[Conn, Thresholds], Section]


def _checks() -> list[tuple[str, str, Check]]:
    from . import inspect_bloat as bl
    from . import inspect_indexes as ix
    from . import inspect_queries as q
    return [
        ("slow_queries", "Slow queries (pg_stat_statements)", q.slow_queries),
        ("unused_indexes", "Unused indexes", ix.unused_indexes),
        ("duplicate_indexes", "Duplicate indexes", ix.duplicate_indexes),
        ("missing_indexes", "Missing-index candidates", ix.missing_indexes),
        ("bloat", "Table and index bloat", bl.bloat),
        ("cache_hit", "Cache hit ratio", q.cache_hit),
        ("long_running", "Long-running queries", q.long_running),
        ("blocked", "Blocked queries", q.blocked),
        ("connections", "Connections", q.connections),
    ]


def inspect(target: Target, thresholds: Thresholds | None = None, *, lock_timeout_s: float = 5.0) -> Report:
    """Run every section against ``target``. Raises ``DatabaseError`` only when the server is unreachable.

    Sizes come from ``pg_relation_size``, which waits for a table locked exclusively (a running migration);
    after ``lock_timeout_s`` the section gives up and says so, and the others go on."""
    th = thresholds or Thresholds()
    conn = connect(target)
    try:
        try:
            conn.execute("set default_transaction_read_only = on")
            conn.execute("set statement_timeout = '60s'")
            conn.execute(f"set lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
            head = one(conn, """select current_database() as db, current_setting('server_version') as version,
                                       (select stats_reset from pg_stat_database
                                         where datname = current_database())::text as stats_reset""")
        except psycopg.Error as exc:
            raise translate(exc, target, "reading the statistics") from exc
        sections = []
        for key, title, check in _checks():
            sections.append(_run(conn, target, key, title, check, th))
        return Report(target=target.label, database=str(head["db"]), server_version=str(head["version"]),
                      stats_reset=head["stats_reset"], thresholds=th, sections=sections)
    finally:
        conn.close()


def _run(conn: Conn, target: Target, key: str, title: str, check: Check, th: Thresholds) -> Section:
    try:
        section = check(conn, th)
    except psycopg.Error as exc:
        if conn.closed or conn.broken or (isinstance(exc, psycopg.OperationalError) and not exc.diag.sqlstate):
            raise translate(exc, target, f"reading {title.lower()}") from exc
        section = Section(key, title)
        message = translate(exc, target, f"reading {title.lower()}").message
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            fix = ("Another session holds an exclusive lock on a table this section measures (often a migration "
                   "or a VACUUM FULL; see Blocked queries and Long-running queries): run the report again when "
                   "it has finished.")
        elif isinstance(exc, psycopg.errors.InsufficientPrivilege):
            fix = ("Run the report as a role that may read the statistics views (a superuser, or a member of "
                   "pg_read_all_stats and pg_monitor).")
        else:
            fix = "The other sections are unaffected; re-run with --debug and report this with the server version."
        section.warn(f"Could not read this section: {message}", fix)
    section.key, section.title = key, title
    return section
