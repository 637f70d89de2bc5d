"""Where ``db sync`` reads a table's rows from: ``psql`` streaming ``COPY ... TO STDOUT`` in the sync's
own snapshot, or libpq row by row.

libpq hands COPY data over one row per call (``PQgetCopyData``), about 1.3 µs of Python per row:
half of a sync of narrow rows. ``psql`` (the client tools ``db backup`` already needs) writes the same
stream to a pipe that is read 1 MB at a time, so the rows cost nothing to receive. It reads in the
sync's snapshot (``pg_export_snapshot()`` of the source transaction, ``SET TRANSACTION SNAPSHOT`` in
psql's), so every table still comes from one consistent view. Without psql, or where a snapshot cannot
be exported (a transaction pooler), rows come from libpq as before.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import psycopg
from psycopg import pq

from ..errors import DatabaseError
from .backup import _conn_env, find_tool
from .connect import Target

Reader = Callable[[str, str], Iterator[bytes | memoryview]]  # (COPY statement, table) -> row-aligned buffers
BUFFER = 1 << 20


def libpq_rows(conn: psycopg.Connection[Any]) -> Reader:
    """Rows of ``COPY ... TO STDOUT`` one per item, read straight from libpq (``Cursor.copy()`` costs about
    1 µs more per row than ``PQgetCopyData`` itself); errors raise the matching ``psycopg.Error``."""
    def read(sql: str, _table: str) -> Iterator[memoryview]:
        pgconn = conn.pgconn
        encoding = conn.info.encoding
        pgconn.send_query(sql.encode("utf-8"))
        res = pgconn.get_result()
        if res is None or res.status != pq.ExecStatus.COPY_OUT:
            while pgconn.get_result() is not None:
                pass
            if res is not None and res.status == pq.ExecStatus.FATAL_ERROR:
                raise psycopg.errors.error_from_result(res, encoding=encoding)
            raise psycopg.ProgrammingError(f"{sql} did not start a COPY")
        get = pgconn.get_copy_data
        while True:
            nbytes, data = get(0)
            if nbytes <= 0:
                break
            yield data
        final = pgconn.get_result()
        while pgconn.get_result() is not None:
            pass
        if nbytes == -2 or final is None or final.status != pq.ExecStatus.COMMAND_OK:
            if final is not None and final.status == pq.ExecStatus.FATAL_ERROR:
                raise psycopg.errors.error_from_result(final, encoding=encoding)
            raise psycopg.OperationalError(pgconn.get_error_message())
    return read


def psql_reader(conn: psycopg.Connection[Any], source: Target, environ: Mapping[str, str]) -> Reader | None:
    """A reader through psql in ``conn``'s snapshot (``conn`` is in its REPEATABLE READ transaction), or
    None when there is no psql of the server's version or the snapshot cannot be exported."""
    if conn.info.transaction_status != pq.TransactionStatus.INTRANS:
        return None  # a snapshot outlives only the transaction that exports it
    try:
        psql = find_tool("psql", conn.info.server_version // 10000, environ)
        row = conn.execute("select pg_export_snapshot()").fetchone()
    except (DatabaseError, psycopg.Error):
        return None
    if row is None:
        return None
    snapshot = str(row[0])
    conninfo, env = _conn_env(source, environ)

    def read(sql: str, table: str) -> Iterator[bytes]:
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(
                [psql, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                 "-c", "begin isolation level repeatable read read only",
                 "-c", f"set transaction snapshot '{snapshot}'", "-c", sql],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, env=env)
            assert proc.stdout is not None
            rest = b""
            try:
                while chunk := proc.stdout.read(BUFFER):
                    data = rest + chunk
                    cut = data.rfind(b"\n") + 1
                    rest = data[cut:]
                    if cut:
                        yield data[:cut]
            finally:
                proc.stdout.close()
                code = proc.wait()
            if code != 0 or rest:
                errors.seek(0)
                said = errors.read().decode("utf-8", "replace").strip()[-500:]
                raise DatabaseError(f"Reading table {table} from {source.label} with psql failed "
                                    f"(exit {code}): {said or 'the stream ended inside a row'}.",
                                    hint="Check the message; `moai-adk db sync --dry-run` shows the plan.")
    return read
