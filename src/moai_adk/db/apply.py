"""Running migration files against PostgreSQL, one transaction per file.

Fast path (``Mode.BATCH``): several files travel in one simple-query round
trip, each as ``RESET ALL; RESET ROLE; BEGIN; <file>; INSERT history row; COMMIT;``.
The file text is sent verbatim (a redundant BEGIN/COMMIT wrapper blanked out
with spaces), so a server error position maps straight back to the file.
Within a round trip every commit but the last uses ``synchronous_commit =
off``; the last, synchronous commit flushes the WAL of all before it, so
when the round trip returns everything is as durable as with one commit per
file, and a crash in between loses whole files only (schema and history row
together).

On an error the transaction is rolled back, the history is re-read to learn
which files of the round trip committed, and the rest run one file per round
trip, so the failing file is reported exactly. When the server gives no
error position, the file is replayed statement by statement inside a
transaction that is rolled back, to find the statement.

``Mode.STEPS`` (files with ``COPY ... FROM stdin``) runs statement by
statement in one transaction; ``Mode.AUTOCOMMIT`` (only non-transactional
statements) runs each statement on its own, history row last.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.pq import TransactionStatus

from .classify import FilePlan, Mode, plan_file
from .connect import Target, password_of, translate
from .files import MigrationFile
from .history import CREATE_HISTORY, Conn, insert_sql, list_versions
from .report import Failure, failure_error, statement_at
from .splitter import SplitResult, Statement

# Before each file, like the Supabase CLI's RESET ALL; RESET ROLE too, since RESET ALL keeps a
# SET ROLE of the previous file.
RESET_SESSION = "RESET ALL;\nRESET ROLE;\n"
_COPY_LINE = re.compile(r"COPY [^,]+, line (\d+)")
_DO_LINE = re.compile(r"PL/pgSQL function inline_code_block line (\d+)")
_DOLLAR = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def _line_offset(text: str, start: int, line: int) -> int:
    """Offset of the start of the ``line``-th line (1-based) counted from ``start``."""
    offset = start
    for _ in range(line - 1):
        nl = text.find("\n", offset)
        if nl == -1:
            break
        offset = nl + 1
    return offset


@dataclass
class Prepared:
    file: MigrationFile
    display: str
    text: str
    split: SplitResult
    plan: FilePlan
    history: str            # the INSERT of its history row, as literal SQL

    @property
    def body(self) -> str:
        """The file text with a skipped BEGIN/COMMIT wrapper and psql \\restrict lines blanked
        (offsets unchanged)."""
        body = self.text
        spans = list(self.split.meta)
        for stmt in self.plan.skipped:
            end = body.find(";", stmt.end)
            spans.append((stmt.start, stmt.end if end == -1 else end + 1))
        for start, end in spans:
            blank = re.sub(r"[^\n]", " ", body[start:end])
            body = body[:start] + blank + body[end:]
        return body


def prepare(conn: Conn, file: MigrationFile, display: str) -> Prepared:
    text, split = file.parsed(display)
    plan = plan_file(display, split, conn.info.server_version)
    return Prepared(file, display, text, split, plan,
                    insert_sql(conn, file.version, file.name, split.history_statements()))


class Applier:
    def __init__(self, conn: Conn, target: Target, retry: str, on_applied: Callable[[Prepared], None], *,
                 chunk_bytes: int = 1 << 20, chunk_files: int = 64, async_commit: bool = True) -> None:
        self.conn = conn
        self.target = target
        self.retry = retry
        self.on_applied = on_applied
        self.chunk_bytes = chunk_bytes
        self.chunk_files = chunk_files
        self.async_commit = async_commit
        self.applied = 0
        self.history_ready = False   # the history table is created inside the first file's transaction

    def _history_ddl(self) -> str:
        """The Supabase CLI's history DDL (with its 4 s lock timeout), until a file has committed."""
        return "" if self.history_ready else CREATE_HISTORY + "RESET lock_timeout;\n"

    # -- driving ---------------------------------------------------------------------------
    def apply(self, files: list[Prepared]) -> None:
        chunk: list[Prepared] = []
        size = 0
        for f in files:
            if f.plan.mode is not Mode.BATCH:
                self._flush(chunk)
                chunk, size = [], 0
                self._run_single(f)
                continue
            if chunk and (size + len(f.text) > self.chunk_bytes or len(chunk) >= self.chunk_files):
                self._flush(chunk)
                chunk, size = [], 0
            chunk.append(f)
            size += len(f.text)
        self._flush(chunk)

    def _done(self, f: Prepared) -> None:
        self.applied += 1
        self.history_ready = True
        self.on_applied(f)

    def _flush(self, chunk: list[Prepared]) -> None:
        if not chunk:
            return
        parts: list[str] = []
        spans: list[tuple[int, int, int]] = []     # (body start, history start, history end) per file
        pos = 0
        for k, f in enumerate(chunk):
            sync = "" if (k == len(chunk) - 1 or not self.async_commit) else "SET LOCAL synchronous_commit = off;\n"
            head = f"{RESET_SESSION}BEGIN;\n{self._history_ddl() if k == 0 else ''}{sync}"
            body = f.body
            tail = "\n;\n"
            parts += [head, body, tail, f.history, ";\nCOMMIT;\n"]
            body_start = pos + len(head)
            hist_start = body_start + len(body) + len(tail)
            spans.append((body_start, hist_start, hist_start + len(f.history)))
            pos = hist_start + len(f.history) + len(";\nCOMMIT;\n")
        query = "".join(parts)
        try:
            self.conn.execute(query.encode())
        except psycopg.Error as exc:
            self._check_connection(exc, "applying migrations")
            self._rollback()
            applied = set(list_versions(self.conn))
            if self.async_commit and any(f.file.version in applied for f in chunk):
                # make the asynchronously committed files durable before going on
                self.conn.execute(b"BEGIN; SELECT txid_current(); COMMIT;")
            rest = []
            for f in chunk:
                if f.file.version in applied:
                    self._done(f)
                else:
                    rest.append(f)
            if len(chunk) == 1 and rest:
                raise self._batch_failure(chunk[0], exc, spans[0]) from exc
            for f in rest:
                self._flush([f])
            return
        for f in chunk:
            self._done(f)

    # -- failures ----------------------------------------------------------------------------
    def _check_connection(self, exc: psycopg.Error, doing: str) -> None:
        if self.conn.closed or (isinstance(exc, psycopg.OperationalError) and not exc.diag.sqlstate):
            raise translate(exc, self.target, doing) from exc

    def _rollback(self) -> None:
        if self.conn.info.transaction_status != TransactionStatus.IDLE:
            self.conn.execute(b"ROLLBACK")

    def _state(self) -> str:
        earlier = (f" {self.applied} earlier migration file{'s' if self.applied != 1 else ''} of this run "
                   f"{'were' if self.applied != 1 else 'was'} applied and recorded."
                   if self.applied else " No migration was applied in this run.")
        return ("Nothing from this file was applied: its transaction was rolled back, so the schema and the "
                "migration history are as they were before it." + earlier)

    def _raise(self, f: Prepared, failure: Failure, state: str | None = None) -> Exception:
        return failure_error(f.display, f.text, f.split, failure, state=state or self._state(),
                             retry=self.retry, password=password_of(self.target.url))

    def _batch_failure(self, f: Prepared, exc: psycopg.Error, span: tuple[int, int, int]) -> Exception:
        body_start, hist_start, hist_end = span
        pos = exc.diag.statement_position
        if pos:
            q = int(pos) - 1
            if body_start <= q < body_start + len(f.text):
                offset = q - body_start
                return self._raise(f, Failure(statement_at(f.split, offset), offset, exc))
            if hist_start <= q < hist_end:
                return self._raise(f, Failure(None, None, exc, "history"))
        return self._raise(f, self._replay(f, exc))

    def _replay(self, f: Prepared, original: psycopg.Error) -> Failure:
        """Find the failing statement by running them one by one in a transaction rolled back after."""
        conn = self.conn
        conn.execute(RESET_SESSION.encode())
        conn.execute(b"BEGIN")
        try:
            if not self.history_ready:
                conn.execute((CREATE_HISTORY + "RESET lock_timeout;").encode())
            for stmt in f.plan.run:
                try:
                    conn.execute(stmt.text.encode())
                except psycopg.Error as exc:
                    self._check_connection(exc, f"locating the error in {f.display}")
                    return Failure(stmt, self._offset(f, stmt, exc), exc)
            try:
                conn.execute(f.history.encode())
            except psycopg.Error as exc:
                return Failure(None, None, exc, "history")
            return Failure(None, None, original, "commit")
        finally:
            self._rollback()

    # -- one file, not batched ---------------------------------------------------------------
    def _run_single(self, f: Prepared) -> None:
        if f.plan.mode is Mode.AUTOCOMMIT:
            self._run_autocommit(f)
        else:
            self._run_steps(f)

    def _run_steps(self, f: Prepared) -> None:
        conn = self.conn
        conn.execute(RESET_SESSION.encode())
        conn.execute(b"BEGIN")
        failure: Failure | None = None
        if not self.history_ready:
            conn.execute((CREATE_HISTORY + "RESET lock_timeout;").encode())
        try:
            for stmt in f.plan.run:
                try:
                    if stmt.copy_data is not None:
                        with conn.cursor() as cur, cur.copy(stmt.text.encode()) as copy:
                            copy.write(stmt.copy_data.encode())
                    else:
                        conn.execute(stmt.text.encode())
                except psycopg.Error as exc:
                    self._check_connection(exc, f"applying {f.display}")
                    failure = Failure(stmt, self._offset(f, stmt, exc), exc)
                    raise
            try:
                conn.execute(f.history.encode())
            except psycopg.Error as exc:
                failure = Failure(None, None, exc, "history")
                raise
            try:
                conn.execute(b"COMMIT")
            except psycopg.Error as exc:
                failure = Failure(None, None, exc, "commit")
                raise
        except psycopg.Error as exc:
            self._rollback()
            assert failure is not None
            raise self._raise(f, failure) from exc
        self._done(f)

    def _offset(self, f: Prepared, stmt: Statement, exc: psycopg.Error) -> int | None:
        """Where in the file ``exc`` happened: the server's position, else a COPY data line or
        the line of a DO block named in the error context, else unknown."""
        pos = exc.diag.statement_position
        if pos:
            return stmt.start + int(pos) - 1
        context = exc.diag.context or ""
        m = _COPY_LINE.search(context)
        if stmt.copy_data is not None and m:
            data_start = f.text.find("\n", f.text.find(";", stmt.end)) + 1
            return _line_offset(f.text, data_start, int(m.group(1)))
        m = _DO_LINE.search(context)
        if m and stmt.words[:1] == ("DO",):
            body = _DOLLAR.search(f.text, stmt.code_start, stmt.end)
            if body:
                start = _line_offset(f.text, body.end(), int(m.group(1)))
                line_end = f.text.find("\n", start)
                line = f.text[start:line_end if line_end != -1 else len(f.text)]
                return start + len(line) - len(line.lstrip())
        return None

    def _run_autocommit(self, f: Prepared) -> None:
        conn = self.conn
        conn.execute(RESET_SESSION.encode())
        for k, stmt in enumerate(f.plan.run):
            try:
                conn.execute(stmt.text.encode())
            except psycopg.Error as exc:
                self._check_connection(exc, f"applying {f.display}")
                done = (f"Statements 1-{k} of this file ran and stay applied (they cannot run in a transaction, "
                        "so they are not rolled back); " if k else "Nothing from this file was applied; ")
                state = done + "its history row was not written, so the next push runs the file again " \
                               "(write such statements with IF NOT EXISTS / IF EXISTS so a re-run is safe)."
                raise self._raise(f, Failure(stmt, self._offset(f, stmt, exc), exc), state) from exc
        try:
            if not self.history_ready:
                conn.execute((CREATE_HISTORY + "RESET lock_timeout;").encode())
            conn.execute(f.history.encode())
        except psycopg.Error as exc:
            state = ("All its statements ran, but its history row was not written; after fixing the cause, "
                     f"record it with `moai-adk db migration repair --status applied {f.file.version} "
                     f"{self.target.flag}`.")
            raise self._raise(f, Failure(None, None, exc, "history"), state) from exc
        self._done(f)
