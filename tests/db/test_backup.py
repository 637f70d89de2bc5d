"""db backup / restore with the server's own pg_dump and pg_restore, on real databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from moai_adk.db.backup import _conn_env, find_tool, restore, server_major
from moai_adk.db.backups import BackupRequest, create_backup
from moai_adk.db.connect import Target
from moai_adk.db.storage import LocalStorage
from moai_adk.errors import DatabaseError
from tests.db.conftest import url_for

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def other_db(admin: psycopg.Connection) -> Iterator[str]:
    name = f"moai_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    yield url_for(name)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(db: psycopg.Connection) -> None:
    db.execute("create table items (id int primary key, label text); insert into items values (1, 'a'), (2, 'b;c');"
               "create view v as select count(*) from items;")


def backup(root: Path, target: Target, out: Path | None) -> Path:
    req = BackupRequest(root=root, out=out)
    result = create_backup(target, req, LocalStorage(root / ".moai" / "backups"), now=NOW)
    return (out or root / ".moai" / "backups" / result.file)


def test_backup_is_verified_and_restores_into_another_database(tmp_path: Path, target: Target, db: psycopg.Connection,
                                                               other_db: str) -> None:
    seed(db)
    path = backup(tmp_path, Target(url=target.url, environment="staging", env_var="X"), None)
    assert path == tmp_path / ".moai" / "backups" / "staging-20240601120000.dump"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, "staging-20240601120000.json"]  # no partial
    restored = restore(path, Target(url=other_db), environ={})
    assert restored.entries >= 3
    with psycopg.connect(other_db) as conn:
        assert conn.execute("select id, label from items order by id").fetchall() == [(1, "a"), (2, "b;c")]
        assert conn.execute("select * from v").fetchone() == (2,)


def test_restore_of_a_broken_file_changes_nothing(tmp_path: Path, target: Target, db: psycopg.Connection) -> None:
    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"PGDMP\x00not really a dump")
    with pytest.raises(DatabaseError) as err:
        restore(bad, target, environ={})
    assert "bad.dump" in err.value.message
    assert db.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone() == (0,)


def test_failed_restore_is_rolled_back(tmp_path: Path, target: Target, db: psycopg.Connection,
                                       other_db: str) -> None:
    seed(db)
    dump = backup(tmp_path, target, tmp_path / "x.dump")
    with psycopg.connect(other_db, autocommit=True) as conn:
        conn.execute("create table marker (id int); create table items (id int)")  # clash: items exists
    with pytest.raises(DatabaseError) as err:
        restore(dump, Target(url=other_db), environ={})
    assert "pg_restore failed" in err.value.message
    with psycopg.connect(other_db) as conn:
        tables = conn.execute("select tablename from pg_tables where schemaname = 'public' order by 1").fetchall()
    assert tables == [("items",), ("marker",)]


def test_the_password_travels_in_the_environment(target: Target) -> None:
    info = psycopg.conninfo.conninfo_to_dict(target.url)
    info["password"] = "hunter2"
    secret = Target(url=psycopg.conninfo.make_conninfo(**info))  # type: ignore[arg-type]
    conninfo, env = _conn_env(secret, {"PATH": "/usr/bin"})
    assert "hunter2" not in conninfo and env["PGPASSWORD"] == "hunter2"


def test_tools_match_the_server_major_version(target: Target, tmp_path: Path) -> None:
    major = server_major(target)
    path = find_tool("pg_dump", major, {"PATH": "/usr/bin"})
    assert f"/{major}/" in path or Path(path).name == "pg_dump"
    fake = tmp_path / "99" / "bin"
    fake.mkdir(parents=True)
    (fake / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 99.0'\n")
    (fake / "pg_dump").chmod(0o755)
    assert find_tool("pg_dump", 99, {"PATH": ""}, search_root=tmp_path) == str(fake / "pg_dump")
    # a newer pg_dump on PATH can dump an older server; an older one cannot
    assert find_tool("pg_dump", 98, {"PATH": str(fake)}, search_root=tmp_path) == str(fake / "pg_dump")
    with pytest.raises(DatabaseError) as err:
        find_tool("pg_dump", 100, {"PATH": str(fake)}, search_root=tmp_path)
    assert "postgresql-client-100" in (err.value.hint or "")
