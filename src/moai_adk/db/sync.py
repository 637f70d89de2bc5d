"""``db sync``: copy tables from one environment's database into another's, anonymised in-stream.

The source is read in one ``REPEATABLE READ READ ONLY`` transaction (every table from the same
snapshot). The target is written in ONE transaction: ``SET CONSTRAINTS ALL DEFERRED``, ``TRUNCATE``
of every synced table, then per table (in foreign-key order, see ``tables.copy_order``)
``COPY ... TO STDOUT`` on the source streamed into ``COPY ... FROM STDIN`` on the target in text
format, the ruled columns rewritten row by row as they pass (``copytext.RowTransformer``), the
untouched fields never decoded. Sequences are set to the copied ``max()`` before the commit. Any
failure rolls the target back as it was. Memory stays flat: one chunk (1 MB) of rows at a time.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.copy import QueuedLibpqWriter

from .. import audit
from ..errors import DatabaseError, MoaiError
from ..ui import UI, SilentUI
from . import tables as cat
from .anonymize import Anonymizer, Rules
from .connect import Target, connect, translate
from .copy_source import Reader, libpq_rows, psql_reader
from .copytext import RowTransformer
from .sync_plan import SyncPlan, TablePlan, build_plan, check_targets, estimate_rows

CHUNK = 1 << 20


@dataclass
class SyncRequest:
    source: Target
    target: Target
    tables: list[str] | None = None
    rules: Rules | None = None
    rules_path: str = "--anonymize"
    key: bytes | None = None  # HMAC key (anonymize.derive_key); needed when rules are given
    allow_pii: bool = False
    allow_production_target: bool = False
    dry_run: bool = False


@dataclass
class SyncResult:
    source: str
    target: str
    dry_run: bool
    tables: list[TablePlan] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "from": self.source, "to": self.target, "rows": self.rows,
                "seconds": round(self.seconds, 3), "tables": [t.to_json() for t in self.tables]}


def _client(target: Target) -> psycopg.Connection[Any]:
    conn = connect(target)
    conn.execute("set client_encoding to 'UTF8'")
    return conn


def sync(req: SyncRequest, *, root: Path | None = None, ui: UI | None = None,
         environ: Mapping[str, str] | None = None) -> SyncResult:
    """Plan (and unless ``dry_run``, run) one sync; records ``db sync`` in ``root``'s audit log."""
    ui = ui or SilentUI()
    check_targets(req.source, req.target, req.allow_production_target)
    anonymizer = Anonymizer(req.key) if req.key is not None else None
    if req.rules and anonymizer is None:
        raise MoaiError("Anonymisation rules were given without a key.", hint="Pass SyncRequest.key.")
    result = SyncResult(source=req.source.label, target=req.target.label, dry_run=req.dry_run)
    src = _client(req.source)
    try:
        dst = _client(req.target)
        try:
            src.execute("begin isolation level repeatable read read only")
            try:
                plan = build_plan(src, dst, req.source, req.target, req.tables, req.rules, req.rules_path,
                                  anonymizer, req.allow_pii)
            except psycopg.Error as exc:
                raise translate(exc, req.source, "reading the catalog") from exc
            result.tables = plan.tables
            if req.dry_run:
                estimate_rows(src, plan)
                return result
            started = time.perf_counter()
            try:
                _run(src, dst, req, plan, ui, environ)
            except BaseException as exc:
                _record(root, req, result, "failed", environ, error=str(exc) if isinstance(exc, MoaiError) else
                        type(exc).__name__)
                raise
            result.seconds = time.perf_counter() - started
            _record(root, req, result, "ok", environ)
            return result
        finally:
            dst.close()
    finally:
        src.close()


def _run(src: psycopg.Connection[Any], dst: psycopg.Connection[Any], req: SyncRequest, plan: SyncPlan,
         ui: UI, environ: Mapping[str, str] | None = None) -> None:
    doing = "starting the sync"
    try:
        dst.execute("begin")
        dst.execute("set constraints all deferred")
        dst.execute("truncate " + ", ".join(t.target.ident for t in plan.tables))
        read = psql_reader(src, req.source, environ or {}) or libpq_rows(src)
        for t in plan.tables:
            doing = f"copying table {t.name}"
            _copy_table(read, dst, t, ui)
        doing = "setting sequences"
        for t in plan.tables:
            for column, seq in cat.sequences(dst, t.target):
                col = cat.quote(column)
                dst.execute(f"select setval(%s, coalesce((select max({col}) from {t.target.ident}), 1), "
                            f"(select max({col}) from {t.target.ident}) is not null)", (seq,))
        doing = "committing (deferred foreign keys are checked now)"
        dst.execute("commit")
    except psycopg.Error as exc:
        _rollback(dst)
        side = req.source if src.info.transaction_status == psycopg.pq.TransactionStatus.INERROR else req.target
        raise translate(exc, side, doing) from exc
    except BaseException:
        _rollback(dst)
        raise
    finally:
        _rollback(src)


def _rollback(conn: psycopg.Connection[Any]) -> None:
    try:
        if not conn.closed:
            conn.execute("rollback")
    except psycopg.Error:
        pass


class BoundedWriter(QueuedLibpqWriter):
    """psycopg's threaded COPY writer with at most ``MAX_QUEUED`` buffers (~1 MB each) waiting: its own
    queue holds 1,024, and psql reads faster than a server writes, so memory would follow the table."""

    MAX_QUEUED = 8

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        super().__init__(cursor)
        self._queue = queue.Queue(maxsize=self.MAX_QUEUED)  # type: ignore[assignment]  # psycopg uses queue.Queue


def _copy_table(read: Reader, dst: psycopg.Connection[Any], t: TablePlan, ui: UI) -> None:
    cols = t.column_list()
    source = t.source.ident if t.source.kind == "r" else f"(select {cols} from {t.source.ident})"
    out_sql = f"copy {source} ({cols}) to stdout" if t.source.kind == "r" else f"copy {source} to stdout"
    tr = RowTransformer(t.fns)
    total = t.source.estimate if t.source.estimate > 0 else None
    out_cur = dst.cursor()
    # the writer thread sends chunks while this thread reads and rewrites the next ones
    writer = BoundedWriter(out_cur)
    with ui.progress(f"{t.name}", total) as advance, \
            out_cur.copy(f"copy {t.target.ident} ({cols}) from stdin", writer=writer) as cout:
        rows: list[bytes | bytearray | memoryview] = []  # whole rows: one each from libpq, many from psql
        size = 0
        for row in read(out_sql, t.name):
            rows.append(row)
            size += len(row)
            if size >= CHUNK:
                before = tr.count
                cout.write(tr.chunk(rows))
                advance(tr.count - before)
                rows.clear()
                size = 0
        if rows:
            before = tr.count
            cout.write(tr.chunk(rows))
            advance(tr.count - before)
    t.rows = tr.count
    t.exact = True


def _record(root: Path | None, req: SyncRequest, result: SyncResult, outcome: str,
            environ: Mapping[str, str] | None, error: str | None = None) -> None:
    if root is None:
        return
    details: dict[str, Any] = {
        "from": req.source.label, "tables": {t.name: t.rows for t in result.tables},
        "anonymized": {t.name: sorted(c for c, r in t.rules.items() if r.kind != "keep")
                       for t in result.tables if any(r.kind != "keep" for r in t.rules.values())} or None,
        "allow_pii": req.allow_pii or None, "error": error,
    }
    try:
        audit.record(root, "db sync", environment=req.target.environment, target=req.target.label,
                     result=outcome, details=details, environ=environ)
    except audit.AuditError as exc:
        if outcome == "ok":
            raise DatabaseError(f"The sync committed but its audit entry could not be written: {exc}",
                                hint="Check .moai/audit/ (moai-adk audit verify).") from exc
