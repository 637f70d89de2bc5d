"""`db migration repair`: applied upserts rows from local files, reverted deletes; no migration SQL runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from moai_adk.db.connect import Target
from moai_adk.db.plan import RemoteAheadError
from moai_adk.db.push import push
from moai_adk.db.repair import repair
from moai_adk.errors import MigrationError, UsageError

Write = Callable[[str, str], Path]


def rows(db: psycopg.Connection) -> list[tuple[str, str | None, list[str] | None]]:
    return db.execute("select version, name, statements from supabase_migrations.schema_migrations "
                      "order by 1").fetchall()


def test_applied_records_name_and_statements_without_running_them(project: Path, write: Write, target: Target,
                                                                   db: psycopg.Connection) -> None:
    write("20240101000001_users.sql", "create table users (id int);\ncreate table more (id int);")
    result = repair(project, target, ["20240101000001"], "applied")
    assert result.changed == ["20240101000001"]
    assert rows(db) == [("20240101000001", "users", ["create table users (id int)", "create table more (id int)"])]
    assert db.execute("select to_regclass('users')").fetchone() == (None,)
    assert push(project, target).pending == []


def test_applied_twice_updates_the_row(project: Path, write: Write, target: Target, db: psycopg.Connection) -> None:
    write("20240101000001_a.sql", "select 1;")
    repair(project, target, ["20240101000001"], "applied")
    write("20240101000001_a.sql", "select 2;")
    repair(project, target, ["20240101000001"], "applied")
    assert rows(db) == [("20240101000001", "a", ["select 2"])]


def test_applied_empty_file_records_null_statements(project: Path, write: Write, target: Target,
                                                    db: psycopg.Connection) -> None:
    write("20240101000001_nothing.sql", "")
    repair(project, target, ["20240101000001"], "applied")
    assert rows(db) == [("20240101000001", "nothing", None)]


def test_applied_needs_the_local_file(project: Path, target: Target) -> None:
    with pytest.raises(MigrationError) as err:
        repair(project, target, ["20240101000009"], "applied")
    assert "20240101000009_*.sql" in err.value.message


def test_reverted_fixes_remote_versions_missing_locally(project: Path, write: Write, target: Target,
                                                        db: psycopg.Connection) -> None:
    write("20240101000001_a.sql", "create table a (id int);")
    push(project, target)
    db.execute("insert into supabase_migrations.schema_migrations (version) values ('20240101000002')")
    write("20240101000003_c.sql", "create table c (id int);")
    with pytest.raises(RemoteAheadError):
        push(project, target)
    result = repair(project, target, ["20240101000002"], "reverted")
    assert result.changed == ["20240101000002"]
    assert [f.version for f in push(project, target).applied] == ["20240101000003"]


def test_dry_run_writes_nothing(project: Path, write: Write, target: Target, db: psycopg.Connection) -> None:
    write("20240101000001_a.sql", "select 1;")
    result = repair(project, target, ["20240101000001"], "applied", dry_run=True)
    assert result.dry_run and result.changed == ["20240101000001"]
    assert db.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone() == (None,)


@pytest.mark.parametrize("versions, status", [(["abc"], "applied"), ([], "reverted"), (["1"], "gone")])
def test_bad_arguments_are_usage_errors(project: Path, target: Target, versions: list[str], status: str) -> None:
    with pytest.raises(UsageError):
        repair(project, target, versions, status)
