"""How a file runs: batch, steps (COPY), autocommit (non-transactional only), or refused."""

from __future__ import annotations

import pytest

from moai_adk.db.classify import Mode, non_transactional_reason, plan_file
from moai_adk.db.splitter import split
from moai_adk.errors import MigrationError

PG15 = 150000


def plan(sql: str, version: int = PG15):  # type: ignore[no-untyped-def]
    return plan_file("supabase/migrations/1_x.sql", split(sql), version)


@pytest.mark.parametrize("sql", [
    "create index concurrently i on t (a)",
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)",
    "drop index concurrently if exists i",
    "reindex index concurrently i",
    "reindex (verbose) table concurrently t",
    "reindex database app",
    "vacuum analyze t",
    "alter system set work_mem = '8MB'",
    "create database other",
    "drop database other",
    "create tablespace ts location '/tmp'",
    "alter database app set tablespace ts",
    "cluster",
    "discard all",
    "alter table p detach partition c concurrently",
    "create subscription s connection 'x' publication p",
])
def test_non_transactional_statements_are_detected(sql: str) -> None:
    assert non_transactional_reason(split(sql).statements[0], PG15) is not None


@pytest.mark.parametrize("sql", [
    "create index i on t (a)",
    "create table concurrently_named (id int)",
    "reindex table t",
    "cluster t using i",
    "alter database app set work_mem = '8MB'",
    "alter type mood add value 'meh'",
    "select 'vacuum'",
])
def test_transactional_statements_are_not_flagged(sql: str) -> None:
    assert non_transactional_reason(split(sql).statements[0], PG15) is None


def test_alter_type_add_value_is_non_transactional_before_pg12_only() -> None:
    stmt = split("alter type mood add value 'meh'").statements[0]
    assert non_transactional_reason(stmt, 110000) is not None
    assert non_transactional_reason(stmt, 120000) is None


def test_ordinary_file_is_one_batch() -> None:
    p = plan("create table a (id int);\ninsert into a values (1);")
    assert p.mode is Mode.BATCH and len(p.run) == 2 and not p.skipped


def test_file_of_only_non_transactional_statements_runs_in_autocommit() -> None:
    p = plan("create index concurrently i1 on t (a);\ncreate index concurrently i2 on t (b);")
    assert p.mode is Mode.AUTOCOMMIT and [s.index for s in p.run] == [1, 2]


def test_mixed_file_is_refused_naming_statement_and_fix() -> None:
    with pytest.raises(MigrationError) as err:
        plan("create table t (a int);\ncreate index concurrently i on t (a);\ninsert into t values (1);")
    msg = err.value.message
    assert "supabase/migrations/1_x.sql:2" in msg and "statement 2" in msg
    assert "CREATE INDEX CONCURRENTLY" in msg and "statements 1, 3" in msg
    assert "own" in (err.value.hint or "")


def test_begin_commit_wrapper_is_skipped() -> None:
    p = plan("BEGIN;\ncreate table a (id int);\nCOMMIT;")
    assert p.mode is Mode.BATCH
    assert [s.text for s in p.run] == ["create table a (id int)"]
    assert [s.text for s in p.skipped] == ["BEGIN", "COMMIT"]


def test_start_transaction_end_wrapper_is_skipped() -> None:
    p = plan("start transaction isolation level serializable;\ncreate table a (id int);\nend;")
    assert len(p.run) == 1 and len(p.skipped) == 2


@pytest.mark.parametrize("sql", [
    "create table a (id int);\ncommit;\ncreate table b (id int);",
    "create table a (id int);\nrollback;",
    "begin;\ncreate table a (id int);",
])
def test_transaction_control_inside_a_file_is_refused(sql: str) -> None:
    with pytest.raises(MigrationError) as err:
        plan(sql)
    assert "controls the transaction" in err.value.message


def test_savepoints_are_allowed() -> None:
    p = plan("savepoint s;\ncreate table a (id int);\nrollback to savepoint s;\nrelease savepoint s;")
    assert p.mode is Mode.BATCH and len(p.run) == 4


def test_copy_from_stdin_runs_in_steps() -> None:
    p = plan("create table t (a int);\ncopy t from stdin;\n1\n\\.\n")
    assert p.mode is Mode.STEPS


def test_copy_to_stdout_is_refused() -> None:
    with pytest.raises(MigrationError) as err:
        plan("copy t to stdout;")
    assert "TO STDOUT" in err.value.message


def test_wrapped_non_transactional_statement_is_refused() -> None:
    with pytest.raises(MigrationError) as err:
        plan("begin;\ncreate index concurrently i on t (a);\ncommit;")
    assert "BEGIN ... COMMIT" in err.value.message
