"""The history table and the advisory lock: two concurrent pushes apply each migration once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from moai_adk.db import history
from moai_adk.db.connect import Target
from moai_adk.db.push import push

Write = Callable[[str, str], Path]
CLI = str(Path(sys.executable).with_name("moai-adk"))


def test_create_table_is_the_supabase_ddl_and_idempotent(db: psycopg.Connection) -> None:
    assert "SET lock_timeout = '4s';" in history.CREATE_HISTORY
    history.create_table(db)
    history.create_table(db)
    assert db.execute("show lock_timeout").fetchone() == ("0",)
    assert history.list_versions(db) == []


def test_missing_table_reads_as_no_migrations(db: psycopg.Connection) -> None:
    assert history.list_versions(db) == []
    assert history.read_rows(db) == []


def test_insert_sql_round_trips_awkward_statements(db: psycopg.Connection) -> None:
    history.create_table(db)
    stmts = ["select 'it''s'", "select E'back\\\\slash'", 'create table "q""t" (id int)', "select $$ {a,b} $$",
             "-- 한국어 comment\nselect 1", ""]
    db.execute(history.insert_sql(db, "1", "weird name's", stmts).encode())
    db.execute(history.insert_sql(db, "2", "empty", []).encode())
    assert history.read_rows(db) == [history.HistoryRow("1", "weird name's", stmts), history.HistoryRow("2", "empty", [])]
    assert db.execute(f"select statements is null from {history.TABLE} where version = '2'").fetchone() == (True,)


def test_upsert_and_delete(db: psycopg.Connection) -> None:
    history.create_table(db)
    history.upsert(db, [history.HistoryRow("1", "a", ["x"]), history.HistoryRow("2", "b", [])])
    history.upsert(db, [history.HistoryRow("1", "a2", ["y"])])
    assert db.execute(f"select statements is null from {history.TABLE} where version = '2'").fetchone() == (True,)
    assert history.read_rows(db)[0] == history.HistoryRow("1", "a2", ["y"])
    assert history.delete(db, ["1", "3"]) == 1
    assert history.list_versions(db) == ["2"]


def _lock_holders(db: psycopg.Connection) -> int:
    key = history.LOCK_KEY
    row = db.execute("select count(*) from pg_locks where locktype = 'advisory' and granted "
                     "and database = (select oid from pg_database where datname = current_database()) "
                     "and classid = %s and objid = %s", ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)).fetchone()
    return int(row[0]) if row else 0


def _migrations(write: Write, n: int) -> None:
    write("20240101000000_log.sql", "create table applied_log (n int not null);\nselect pg_sleep(1.5);")
    for i in range(1, n + 1):
        write(f"202401010000{i:02d}_m{i}.sql", f"create table t{i} (id int);\ninsert into applied_log values ({i});")


def test_two_concurrent_processes_apply_each_migration_once(project: Path, write: Write, db_url: str,
                                                            db: psycopg.Connection) -> None:
    _migrations(write, 12)
    env = dict(os.environ, NO_COLOR="1")
    cmd = [CLI, "-C", str(project), "db", "push", "--db-url", db_url, "--json"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 20
    while _lock_holders(db) == 0:
        assert time.monotonic() < deadline, "first push never took the lock"
        assert first.poll() is None, first.communicate()
        time.sleep(0.02)
    second = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "Waiting for another migration run" in err2
    import json
    applied1, applied2 = json.loads(out1)["applied"], json.loads(out2)["applied"]
    assert len(applied1) == 13 and applied2 == []
    counts = db.execute("select n, count(*) from applied_log group by n order by n").fetchall()
    assert counts == [(i, 1) for i in range(1, 13)]
    assert len(history.list_versions(db)) == 13
    assert _lock_holders(db) == 0


def test_two_concurrent_threads_split_nothing_twice(project: Path, write: Write, target: Target,
                                                    db: psycopg.Connection) -> None:
    _migrations(write, 6)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append([f.version for f in push(project, target).applied])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    applied = sorted(v for r in results for v in r)
    assert applied == sorted(history.list_versions(db)) and len(applied) == 7
    assert db.execute("select count(*), count(distinct n) from applied_log").fetchone() == (6, 6)


@pytest.mark.parametrize("dry_run", [True, False])
def test_lock_is_released_after_push(project: Path, write: Write, target: Target, db: psycopg.Connection,
                                     dry_run: bool) -> None:
    write("20240101000001_a.sql", "create table a (id int);")
    push(project, target, dry_run=dry_run)
    assert _lock_holders(db) == 0
