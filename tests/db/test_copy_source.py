"""db sync's two row sources read the same bytes: psql in the sync's exported snapshot, and libpq."""

from __future__ import annotations

import psycopg
import pytest

from moai_adk.db.connect import Target
from moai_adk.db.copy_source import libpq_rows, psql_reader
from moai_adk.db.copytext import RowTransformer
from moai_adk.errors import DatabaseError

SQL = "copy public.t (id, v) to stdout"


def _source(db_url: str) -> psycopg.Connection:
    with psycopg.connect(db_url, autocommit=True) as setup:
        setup.execute("create table t (id int primary key, v text)")
        setup.execute("insert into t select i, case when i % 3 = 0 then null "
                      "else 'row ' || i || E'\\ttab\\nnewline\\\\back' end from generate_series(1, 30000) i")
    conn = psycopg.connect(db_url, autocommit=True)
    conn.execute("begin isolation level repeatable read read only")
    return conn


def test_psql_and_libpq_give_the_same_rows_in_the_same_snapshot(db_url: str) -> None:
    conn = _source(db_url)
    try:
        read = psql_reader(conn, Target(url=db_url), {})
        assert read is not None  # the client tools are installed by scripts/test's PostgreSQL
        with psycopg.connect(db_url, autocommit=True) as other:  # after the snapshot: not seen by the sync
            other.execute("insert into t values (999999, 'later')")
        via_psql = b"".join(bytes(b) for b in read(SQL, "t"))
        via_libpq = b"".join(bytes(b) for b in libpq_rows(conn)(SQL, "t"))
        assert via_psql == via_libpq and via_psql.count(b"\n") == 30000 and b"later" not in via_psql
        counted = RowTransformer({})
        buffers = list(read(SQL, "t"))
        assert len(buffers) < 30000  # many rows per buffer, each buffer ends at a row
        assert all(bytes(b).endswith(b"\n") for b in buffers)
        for b in buffers:
            counted.chunk([b])
        assert counted.count == 30000
    finally:
        conn.close()


def test_a_failing_psql_copy_names_the_table(db_url: str) -> None:
    conn = _source(db_url)
    try:
        read = psql_reader(conn, Target(url=db_url), {})
        assert read is not None
        with pytest.raises(DatabaseError, match="Reading table nope .*does not exist"):
            list(read("copy public.nope to stdout", "nope"))
    finally:
        conn.close()


def test_no_snapshot_no_psql_reader(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:  # not in a transaction: nothing to export
        assert psql_reader(conn, Target(url=db_url), {}) is None
