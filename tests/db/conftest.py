"""Fixtures for the db tests: a fresh PostgreSQL database per test, a project folder.

The server comes from MOAI_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres);
`scripts/ensure-postgres` starts one when none answers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from moai_adk.db.connect import Target

SERVER = os.environ.get("MOAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def url_for(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def admin() -> Iterator[psycopg.Connection]:
    try:
        conn = psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"No PostgreSQL at MOAI_TEST_PG={SERVER} ({exc}); run scripts/ensure-postgres first.")
    yield conn
    conn.close()


@pytest.fixture
def db_url(admin: psycopg.Connection) -> Iterator[str]:
    """A freshly created database `moai_test_<random>`, dropped after the test."""
    name = f"moai_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_for(name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def target(db_url: str) -> Target:
    return Target(url=db_url)


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the test database, for assertions."""
    conn = psycopg.connect(db_url, autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    return tmp_path


@pytest.fixture
def write(project: Path) -> Callable[[str, str], Path]:
    """write("20240101000000_init.sql", "create table ...") -> path."""
    def _write(filename: str, sql: str) -> Path:
        path = project / "supabase" / "migrations" / filename
        path.write_text(sql, encoding="utf-8")
        return path
    return _write


def schema_fingerprint(conn: psycopg.Connection) -> dict[str, object]:
    """Everything a migration could change: relations, columns, functions, types, indexes, history rows."""
    q = {
        "relations": """select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
                        where n.nspname not in ('pg_catalog','information_schema','pg_toast') order by 1,2""",
        "columns": """select table_schema, table_name, column_name, data_type, column_default from information_schema.columns
                      where table_schema not in ('pg_catalog','information_schema') order by 1,2,3""",
        "functions": """select n.nspname, p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                        where n.nspname not in ('pg_catalog','information_schema') order by 1,2""",
        "types": """select n.nspname, t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
                    where n.nspname not in ('pg_catalog','information_schema','pg_toast') order by 1,2""",
        "schemas": "select nspname from pg_namespace order by 1",
    }
    out: dict[str, object] = {k: conn.execute(v).fetchall() for k, v in q.items()}
    try:
        out["history"] = conn.execute(
            "select version, name, statements from supabase_migrations.schema_migrations order by 1").fetchall()
    except psycopg.errors.UndefinedTable:
        out["history"] = None
    return out


@pytest.fixture
def fingerprint(db: psycopg.Connection) -> Callable[[], dict[str, object]]:
    return lambda: schema_fingerprint(db)
