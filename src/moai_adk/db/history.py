"""The migration history table, kept exactly as the Supabase CLI keeps it.

``supabase_migrations.schema_migrations(version text primary key,
statements text[], name text)``: one row per applied file, ``statements``
holding the file's split statements, NULL for a file that has none (the CLI
binds its empty statement list, which its driver sends as NULL). The DDL
below is the Supabase CLI's, run the same way (one implicit transaction), so
either tool can continue where the other stopped.

Concurrent runs of moai-adk are serialised by a session-level advisory lock
(``LOCK_KEY``) taken before the history is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

SCHEMA = "supabase_migrations"
TABLE = f"{SCHEMA}.schema_migrations"

CREATE_HISTORY = (
    "SET lock_timeout = '4s';\n"
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA};\n"
    f"CREATE TABLE IF NOT EXISTS {TABLE} (version text NOT NULL PRIMARY KEY);\n"
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS statements text[];\n"
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS name text;\n"
)
INSERT_VERSION = f"INSERT INTO {TABLE}(version, name, statements) VALUES(%s, %s, %s)"
UPSERT_VERSION = (INSERT_VERSION + " ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, "
                  "statements = EXCLUDED.statements")
DELETE_VERSIONS = f"DELETE FROM {TABLE} WHERE version = ANY(%s)"
LIST_VERSIONS = f"SELECT version FROM {TABLE} ORDER BY version"
SELECT_ROWS = f"SELECT version, coalesce(name, '') AS name, statements FROM {TABLE} ORDER BY version"

# A fixed 64-bit key for pg_advisory_lock: "moai-adk supabase_migrations".
LOCK_KEY = 0x6D6F_6169_6D69_6772  # b"moaimigr"


@dataclass(frozen=True)
class HistoryRow:
    version: str
    name: str
    statements: list[str]


Conn = psycopg.Connection[tuple[object, ...]]


def create_table(conn: Conn) -> None:
    """The Supabase CLI's DDL in one implicit transaction; ``lock_timeout`` is reset afterwards."""
    conn.execute(CREATE_HISTORY.encode())
    conn.execute(b"RESET lock_timeout")


def list_versions(conn: Conn) -> list[str]:
    """Applied versions in order; an absent table means none."""
    try:
        rows = conn.execute(LIST_VERSIONS.encode()).fetchall()
    except psycopg.errors.UndefinedTable:
        return []
    return [str(r[0]) for r in rows]


def read_rows(conn: Conn) -> list[HistoryRow]:
    try:
        rows = conn.execute(SELECT_ROWS.encode()).fetchall()
    except psycopg.errors.UndefinedTable:
        return []
    return [HistoryRow(str(v), str(n), list(s or [])) for v, n, s in rows]  # type: ignore[call-overload]


def insert_sql(conn: Conn, version: str, name: str, statements: list[str]) -> str:
    """The INSERT of one history row as literal SQL, to travel in a file's batch."""
    return sql.SQL("INSERT INTO {}(version, name, statements) VALUES({}, {}, {})").format(
        sql.Identifier(SCHEMA, "schema_migrations"), sql.Literal(version), sql.Literal(name),
        sql.Literal(statements) if statements else sql.SQL("NULL"),
    ).as_string(conn)


def upsert(conn: Conn, rows: Iterable[HistoryRow]) -> None:
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany(UPSERT_VERSION, [(r.version, r.name, r.statements or None) for r in rows])


def delete(conn: Conn, versions: list[str]) -> int:
    with conn.transaction():
        cur = conn.execute(DELETE_VERSIONS, (versions,))
        return cur.rowcount


def lock(conn: Conn, on_wait: object = None) -> None:
    """Take the session advisory lock, waiting for another run to finish if needed."""
    got = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
    if got and got[0]:
        return
    if callable(on_wait):
        on_wait()
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))


def unlock(conn: Conn) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


@contextmanager
def locked(conn: Conn, *, enabled: bool = True, on_wait: object = None) -> Iterator[Conn]:
    """Hold the migration lock for the block (when ``enabled``: dry runs take none),
    then release it and close ``conn`` whatever happened."""
    try:
        if enabled:
            lock(conn, on_wait=on_wait)
        yield conn
    finally:
        try:
            if enabled and not conn.closed:
                unlock(conn)
        except psycopg.Error:
            pass
        conn.close()
