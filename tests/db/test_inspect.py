"""`moai-adk db inspect` against real PostgreSQL servers.

The machine's server (MOAI_TEST_PG) does not preload pg_stat_statements and is not restarted here, so
this module starts its own server for the session (scripts/ensure-postgres with MOAI_PG_SETTINGS:
pg_stat_statements preloaded, 16 MB of shared_buffers, max_connections 30), fills a database with
`pgbench -i`, plants a slow function, unused and duplicate indexes, a large table read by sequential
scans and a bloated table, runs pgbench, and checks that the report names each of them.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from moai_adk.db.connect import Target
from moai_adk.db.inspect import Thresholds, inspect

from .test_db_cmd import TOML, run

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-postgres"
SETTINGS = ("shared_preload_libraries=pg_stat_statements max_connections=30 shared_buffers=16MB fsync=off "
            "synchronous_commit=off full_page_writes=off autovacuum=off")
SLOW_CALLS = 5
SEQ_SCANS = 12


@dataclass
class Server:
    port: int

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_db(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"{name} is missing: install PostgreSQL's server package (scripts/ensure-postgres does).")
    return found


@pytest.fixture(scope="session")
def pgss() -> Iterator[Server]:
    """A PostgreSQL server of this test session, with pg_stat_statements preloaded."""
    folder = Path(tempfile.mkdtemp(prefix="moai-inspect-pg-"))
    folder.chmod(0o755)  # the server runs as user postgres when the tests run as root
    port = _free_port()
    env = {**os.environ, "MOAI_PG_PORT": str(port), "MOAI_PG_DIR": str(folder / "data"), "MOAI_PG_EMBEDDED": "1",
           "MOAI_PG_SETTINGS": SETTINGS}
    start = subprocess.run([str(SCRIPT)], capture_output=True, text=True, env=env, timeout=240)
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        yield Server(port)
    finally:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, text=True, env=env, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _seq_scans(conn: psycopg.Connection[Any], table: str) -> int:
    found = conn.execute("select seq_scan from pg_stat_user_tables where relname = %s", (table,)).fetchone()
    return int(found[0]) if found else 0


def plant_bloat(conn: psycopg.Connection[Any]) -> None:
    """A 45 MB table with four rows in five deleted and vacuumed: most of its pages are empty space."""
    conn.execute("create unlogged table planted_bloat (id int, pad text)")
    conn.execute("insert into planted_bloat select g, repeat('x', 120) from generate_series(1, 300000) g")
    conn.execute("create index planted_bloat_id on planted_bloat (id)")
    conn.execute("delete from planted_bloat where id % 5 <> 0")
    conn.execute("vacuum analyze planted_bloat")


@pytest.fixture(scope="session")
def planted(pgss: Server) -> str:
    """A pgbench database with a planted slow statement, unused and duplicate indexes, a large table read by
    sequential scans and a bloated table; returns its URL."""
    url = pgss.create_db("shop")
    init = subprocess.run([_tool("pgbench"), "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", str(pgss.port),
                           "-U", "postgres", "shop"], capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create extension pg_stat_statements")
        conn.execute("create index planted_unused_idx on pgbench_history (mtime)")
        conn.execute("create index planted_dup_idx on pgbench_accounts (aid)")            # same as the primary key
        conn.execute("create index planted_tellers_bid on pgbench_tellers (bid)")          # leads the next one
        conn.execute("create index planted_tellers_bid_balance on pgbench_tellers (bid, tbalance)")
        conn.execute("create index planted_tellers_partial on pgbench_tellers (bid) where tbalance > 0")
        conn.execute("create table planted_pairs (a int, b int)")
        conn.execute("create unique index planted_pairs_a_u on planted_pairs (a)")         # unique: enforces more
        conn.execute("create index planted_pairs_ab on planted_pairs (a, b)")
        conn.execute("create index planted_pairs_expr1 on planted_pairs ((a + 1))")
        conn.execute("create index planted_pairs_expr2 on planted_pairs ((a + 1))")       # same expression
        conn.execute("create index planted_pairs_expr3 on planted_pairs ((a + 2))")
        conn.execute("create function moai_planted_slow() returns int language sql as 'select 1 from pg_sleep(0.12)'")
        conn.execute("create table planted_events (id int, kind text, pad text)")
        conn.execute("insert into planted_events select g, 'k' || (g % 50), repeat('e', 40) "
                     "from generate_series(1, 50000) g")
        plant_bloat(conn)
        conn.execute("analyze")
    bench = subprocess.run([_tool("pgbench"), "-n", "-T", "2", "-c", "2", "-h", "127.0.0.1", "-p", str(pgss.port),
                            "-U", "postgres", "shop"], capture_output=True, text=True, timeout=120)
    assert bench.returncode == 0, bench.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(SLOW_CALLS):
            conn.execute("select moai_planted_slow()")
        for _ in range(SEQ_SCANS):
            conn.execute("select count(*) from planted_events where kind = 'k7'")
        conn.execute("select count(*) from planted_bloat")
        conn.execute("select pg_stat_force_next_flush()")
        conn.execute("select 1")
    with psycopg.connect(url, autocommit=True) as conn:
        _wait_for(lambda: _seq_scans(conn, "planted_events") >= SEQ_SCANS, "the sequential scans in the statistics")
    return url


@pytest.fixture(scope="module")
def report(planted: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    proc = run(tmp_path_factory.mktemp("inspect"), "db", "inspect", "--db-url", planted, "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def section(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in data["sections"] if s["key"] == key)


def names(sec: dict[str, Any], field: str = "index", lst: str = "indexes") -> set[str]:
    return {r[field] for r in sec["lists"][lst]}


def test_report_names_the_planted_slow_query(report: dict[str, Any]) -> None:
    sec = section(report, "slow_queries")
    assert sec["verdict"] == "warn" and sec["info"]["preloaded"] is True
    (slow,) = [r for r in sec["lists"]["by_mean_time"] if r["query"] == "select moai_planted_slow()"]
    assert slow["calls"] == SLOW_CALLS and sec["info"]["slow"] == 1  # one-off statements (calls < 5) are not slow
    assert 120 <= slow["mean_ms"] < 1000 and slow["total_ms"] >= SLOW_CALLS * 120
    assert "moai_planted_slow" in sec["summary"] and "EXPLAIN" in sec["advice"][0]
    by_total = [r["query"] for r in sec["lists"]["by_total_time"]]
    assert "select moai_planted_slow()" in by_total
    assert any("pgbench_accounts" in q for q in by_total)  # the pgbench workload, normalised with $n
    assert not any("moai-adk db inspect" in q for q in by_total)  # the report leaves its own queries out
    assert all(len(r["query"]) <= 200 and "\n" not in r["query"] for r in sec["lists"]["by_total_time"])


def test_report_names_the_planted_unused_index(report: dict[str, Any]) -> None:
    sec = section(report, "unused_indexes")
    assert sec["verdict"] == "warn"
    unused = {r["index"]: r for r in sec["lists"]["indexes"]}
    assert "planted_unused_idx" in unused and unused["planted_unused_idx"]["table"] == "pgbench_history"
    assert unused["planted_unused_idx"]["size_bytes"] > 0 and unused["planted_unused_idx"]["scans"] == 0
    assert not any(name.endswith("_pkey") or name == "planted_pairs_a_u" for name in unused)  # they enforce something


def test_report_names_duplicate_indexes_and_only_those(report: dict[str, Any]) -> None:
    sec = section(report, "duplicate_indexes")
    assert sec["verdict"] == "warn"
    dups = {r["index"]: (r["reason"], r["covered_by"]) for r in sec["lists"]["indexes"]}
    assert dups == {
        "planted_dup_idx": ("same columns", "pgbench_accounts_pkey"),
        "planted_tellers_bid": ("prefix of", "planted_tellers_bid_balance"),
        "planted_pairs_expr2": ("same columns", "planted_pairs_expr1"),
    }


def test_report_names_the_table_read_by_sequential_scans(report: dict[str, Any]) -> None:
    sec = section(report, "missing_indexes")
    assert sec["verdict"] == "warn"
    tables = {r["table"]: r for r in sec["lists"]["tables"]}
    assert "planted_events" in tables and tables["planted_events"]["seq_scan"] >= SEQ_SCANS
    assert tables["planted_events"]["rows"] >= 50000 and tables["planted_events"]["idx_scan"] == 0
    assert "pgbench_accounts" not in tables  # read through its primary key by pgbench


def test_report_estimates_the_planted_bloat(report: dict[str, Any]) -> None:
    sec = section(report, "bloat")
    assert sec["verdict"] == "warn" and sec["info"]["method"] == "estimate"
    rels = {r["name"]: r for r in sec["lists"]["relations"]}
    assert rels["planted_bloat"]["kind"] == "table" and 0.6 <= rels["planted_bloat"]["bloat_ratio"] <= 0.9
    assert rels["planted_bloat_id"]["kind"] == "index" and rels["planted_bloat_id"]["bloat_ratio"] >= 0.5
    assert "planted_bloat" in sec["summary"] and "pgstattuple" in sec["summary"]
    assert all(r["bloat_ratio"] < 0.5 for name, r in rels.items() if name.startswith("pgbench_"))


def test_report_cache_hit_ratio_warns_when_reads_miss_memory(report: dict[str, Any]) -> None:
    sec = section(report, "cache_hit")
    # the 45 MB table was written and scanned through 16 MB of shared_buffers
    assert sec["info"]["table_hit_ratio"] < 0.99 and sec["info"]["table_blocks_read"] > 5000
    assert sec["verdict"] == "warn" and "shared_buffers (16MB)" in sec["advice"][0]
    assert 0 <= sec["info"]["index_hit_ratio"] <= 1


def test_report_quiet_sections_are_ok(report: dict[str, Any]) -> None:
    assert report["verdict"] == "warn" and report["server_version"].startswith("1")
    for key in ("long_running", "blocked", "connections"):
        assert section(report, key)["verdict"] == "ok", section(report, key)
    conns = section(report, "connections")["info"]
    assert conns["max_connections"] == 30 and conns["total"] >= 1
    assert report["thresholds"]["slow_mean_ms"] == 100.0


def test_text_report_names_the_findings(planted: str, tmp_path: Path) -> None:
    proc = run(tmp_path, "db", "inspect", "--db-url", planted)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in ("select moai_planted_slow()", "planted_unused_idx", "planted_dup_idx", "planted_events",
                 "planted_bloat", "DROP INDEX CONCURRENTLY"):
        assert name in out, name
    assert "ok   Blocked queries" in out and "warn Unused indexes" in out
    assert "section(s) need attention" in out


def test_blocked_and_long_running_queries(planted: str) -> None:
    holder = psycopg.connect(planted, autocommit=False)
    holder.execute("update planted_events set kind = kind where id = 1")  # holds the row lock, then sits idle
    holder_pid = holder.info.backend_pid
    waiter = psycopg.connect(planted, autocommit=True)
    waiter_pid = waiter.info.backend_pid
    thread = threading.Thread(target=lambda: waiter.execute("update planted_events set kind = 'w' where id = 1"))
    thread.start()
    try:
        with psycopg.connect(planted, autocommit=True) as probe:
            _wait_for(lambda: probe.execute("select cardinality(pg_blocking_pids(%s))", (waiter_pid,))
                      .fetchone() == (1,), "the update to wait for the row lock")
        time.sleep(0.6)
        rep = inspect(Target(url=planted), Thresholds(long_running_s=0.5))
    finally:
        holder.rollback()
        thread.join(timeout=10)
        holder.close()
        waiter.close()
    blocked = rep.section("blocked")
    assert blocked.verdict == "warn"
    (row,) = blocked.lists["queries"]
    assert row["pid"] == waiter_pid and row["blocked_by"] == [holder_pid]
    assert row["query"] == "update planted_events set kind = 'w' where id = 1"
    assert row["blocker_state"] == "idle in transaction" and "update planted_events" in row["blocker_query"]
    long = rep.section("long_running")
    assert long.verdict == "warn"
    states = {r["pid"]: r["state"] for r in long.lists["queries"]}
    assert states == {holder_pid: "idle in transaction", waiter_pid: "active"}
    assert any("idle_in_transaction_session_timeout" in a for a in long.advice)
    assert not thread.is_alive()


def test_connections_near_max_connections_advise_a_pooler(pgss: Server) -> None:
    url = pgss.url()
    idle = [psycopg.connect(url, autocommit=True) for _ in range(24)]
    try:
        rep = inspect(Target(url=url))
    finally:
        for c in idle:
            c.close()
    sec = rep.section("connections")
    assert sec.verdict == "warn" and sec.info["total"] >= 25 and sec.info["usage_ratio"] >= 0.8
    assert "too many clients" in sec.summary
    assert any("Supavisor" in a and "PgBouncer" in a and "transaction" in a for a in sec.advice)
    assert sec.lists["by_user"][0]["idle"] >= 24


def test_bloat_measured_with_pgstattuple(pgss: Server) -> None:
    url = pgss.create_db("measured")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create extension pgstattuple")
        plant_bloat(conn)
    sec = inspect(Target(url=url)).section("bloat")
    assert sec.info["method"] == "pgstattuple" and "pgstatindex" in sec.info["method_detail"]
    rels = {r["name"]: r for r in sec.lists["relations"]}
    assert sec.verdict == "warn" and 0.6 <= rels["planted_bloat"]["bloat_ratio"] <= 0.9
    assert rels["planted_bloat_id"]["bloat_ratio"] >= 0.5


def test_pg_stat_statements_preloaded_but_not_created(pgss: Server) -> None:
    sec = inspect(Target(url=pgss.create_db("nostatements"))).section("slow_queries")
    assert sec.verdict == "warn" and "is not created in this database and is loaded by the server" in sec.summary
    assert sec.advice[0].startswith("Create the extension in this database: CREATE EXTENSION pg_stat_statements;")
    assert not any("shared_preload_libraries" in a for a in sec.advice)


def test_ordinary_server_says_how_to_enable_pg_stat_statements(project: Path, db_url: str) -> None:
    (project / "moai.toml").write_text(TOML)
    proc = run(project, "db", "inspect", "--env", "production", "--json", PROD_DB_URL=db_url)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    sec = section(data, "slow_queries")
    assert sec["verdict"] == "warn" and "is not loaded by the server" in sec["summary"]
    assert "ALTER SYSTEM SET shared_preload_libraries = " in sec["advice"][0] and "restart" in sec["advice"][0]
    assert "CREATE EXTENSION pg_stat_statements" in sec["advice"][1]
    assert data["target"].startswith("environment 'production'")
    assert all(section(data, k)["verdict"] == "ok" for k in ("unused_indexes", "duplicate_indexes", "blocked"))
    text = run(project, "db", "inspect", "--env", "production", PROD_DB_URL=db_url)
    assert text.returncode == 0 and "shared_preload_libraries" in text.stdout


def test_extension_created_but_not_preloaded(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("create extension pg_stat_statements")
    sec = inspect(Target(url=db_url)).section("slow_queries")
    assert sec.verdict == "warn"
    assert "is created in schema public and is not loaded by the server" in sec.summary
    assert len(sec.advice) == 2 and "shared_preload_libraries" in sec.advice[0]


def test_unreachable_database_is_an_error_naming_the_url(project: Path) -> None:
    port = _free_port()
    proc = run(project, "db", "inspect", "--db-url", f"postgresql://app:s3cret-pw@127.0.0.1:{port}/shop")
    assert proc.returncode == 1
    assert f"Cannot connect to the database of --db-url postgresql://app:****@127.0.0.1:{port}/shop" in proc.stderr
    assert "s3cret-pw" not in proc.stderr + proc.stdout
    (project / "moai.toml").write_text(TOML)
    proc = run(project, "db", "inspect", "--env", "production", "--json",
               PROD_DB_URL=f"postgresql://postgres@127.0.0.1:{port}/postgres")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "environment 'production' ($PROD_DB_URL" in proc.stderr and "Hint:" in proc.stderr


def test_a_table_locked_exclusively_costs_sections_not_the_report(planted: str) -> None:
    holder = psycopg.connect(planted, autocommit=False)
    holder.execute("lock table planted_events in access exclusive mode")  # as a running migration would
    try:
        rep = inspect(Target(url=planted), Thresholds(long_running_s=3600), lock_timeout_s=0.2)
    finally:
        holder.rollback()
        holder.close()
    waited = [s for s in rep.sections if s.summary.startswith("Could not read this section")]
    assert waited and {s.key for s in waited} <= {"unused_indexes", "duplicate_indexes", "missing_indexes", "bloat"}
    for sec in waited:
        assert sec.verdict == "warn" and "lock timeout" in sec.summary and "exclusive lock" in sec.advice[0]
    assert rep.section("slow_queries").lists["by_total_time"]  # the sections that need no size still answer
    assert rep.section("connections").verdict == "ok"
