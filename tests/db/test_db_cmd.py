"""`moai-adk db ...` as a user runs it: a real process, real files, a real database."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg

Write = Callable[[str, str], Path]
CLI = str(Path(sys.executable).with_name("moai-adk"))

TOML = """[project]
name = "shop"

[environments.production]
db_url_env = "PROD_DB_URL"
"""


def run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "PROD_DB_URL"}
    full_env.update(env, NO_COLOR="1", COLUMNS="200")
    return subprocess.run([CLI, "-C", str(project), *args], capture_output=True, text=True, env=full_env, timeout=60)


def test_migration_new_creates_a_timestamped_file(project: Path) -> None:
    proc = run(project, "db", "migration", "new", "create_users", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert re.fullmatch(r"supabase/migrations/\d{14}_create_users\.sql", data["path"])
    assert (project / data["path"]).is_file()


def test_push_by_environment_then_list(project: Path, write: Write, db_url: str) -> None:
    (project / "moai.toml").write_text(TOML)
    write("20240101000001_a.sql", "create table a (id int);")
    proc = run(project, "db", "push", "--env", "production", "--json", PROD_DB_URL=db_url)
    assert proc.returncode == 0, proc.stderr
    assert [m["version"] for m in json.loads(proc.stdout)["applied"]] == ["20240101000001"]
    proc = run(project, "db", "migration", "list", "--env", "production", "--json", PROD_DB_URL=db_url)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["local"] == ["20240101000001"] and data["remote"] == ["20240101000001"]
    table = run(project, "db", "migration", "list", "--env", "production", PROD_DB_URL=db_url)
    assert "20240101000001 │ 20240101000001 │ 2024-01-01 00:00:01" in table.stdout


def test_list_without_a_database_shows_local_files_only(project: Path, write: Write) -> None:
    write("20240101000001_a.sql", "select 1;")
    write("oops.sql", "select 1;")
    proc = run(project, "db", "migration", "list", "--json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["local"] == ["20240101000001"] and data["remote"] is None
    assert "oops.sql" in proc.stderr and "<YYYYMMDDHHMMSS>_<name>.sql" in proc.stderr


def test_failed_push_prints_file_statement_and_caret(project: Path, write: Write, db_url: str) -> None:
    write("20240101000001_bad.sql", "create table a (id int);\ninsert into a values (1);\nselect * fro a;\n")
    proc = run(project, "db", "push", "--db-url", db_url)
    assert proc.returncode == 1
    assert "supabase/migrations/20240101000001_bad.sql failed at statement 3 (line 3, column 10)" in proc.stderr
    assert "    3 | select * fro a;\n      |          ^" in proc.stderr
    assert "Hint: Fix statement 3" in proc.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select to_regclass('a')").fetchone() == (None,)


def test_refused_connection_names_environment_and_variable(project: Path, write: Write) -> None:
    (project / "moai.toml").write_text(TOML)
    write("20240101000001_a.sql", "select 1;")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run(project, "db", "push", "--env", "production",
               PROD_DB_URL=f"postgresql://app:hunter2@127.0.0.1:{port}/app")
    assert proc.returncode == 1
    assert "environment 'production'" in proc.stderr and "PROD_DB_URL" in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout


def test_missing_url_variable(project: Path) -> None:
    (project / "moai.toml").write_text(TOML)
    proc = run(project, "db", "push", "--env", "production")
    assert proc.returncode == 1
    assert "PROD_DB_URL" in proc.stderr and "environments.production.db_url_env" in proc.stderr


def test_no_database_flag_is_a_usage_error(project: Path) -> None:
    proc = run(project, "db", "push")
    assert proc.returncode == 2 and "--env" in proc.stderr


def test_bad_name_refuses_push_with_rename_hint(project: Path, write: Write, db_url: str) -> None:
    write("add_users.sql", "create table users (id int);")
    proc = run(project, "db", "push", "--db-url", db_url)
    assert proc.returncode == 1
    assert "supabase/migrations/add_users.sql" in proc.stderr and "mv supabase/migrations/add_users.sql" in proc.stderr


def test_repair_and_out_of_order_from_the_cli(project: Path, write: Write, db_url: str) -> None:
    write("20240101000001_a.sql", "create table a (id int);")
    write("20240101000003_c.sql", "create table c (id int);")
    assert run(project, "db", "push", "--db-url", db_url).returncode == 0
    write("20240101000002_b.sql", "create table b (id int);")
    proc = run(project, "db", "push", "--db-url", db_url)
    assert proc.returncode == 1 and "local file out of order" in proc.stderr and "--include-all" in proc.stderr
    proc = run(project, "db", "migration", "repair", "20240101000002", "--status", "applied", "--db-url", db_url)
    assert proc.returncode == 0, proc.stderr
    proc = run(project, "db", "push", "--db-url", db_url, "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["pending"] == []
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select to_regclass('b')").fetchone() == (None,)  # repair runs no SQL


def test_backup_and_restore_from_the_cli(project: Path, write: Write, db_url: str, admin: psycopg.Connection) -> None:
    import uuid

    from tests.db.conftest import url_for

    (project / "moai.toml").write_text(TOML)
    write("20240101000001_a.sql", "create table a (id int);\ninsert into a values (7);")
    assert run(project, "db", "push", "--db-url", db_url).returncode == 0
    proc = run(project, "db", "backup", "--env", "production", "--json", PROD_DB_URL=db_url)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    dump = Path(data["where"]) / data["file"]
    assert dump.parent == project / ".moai" / "backups" and dump.name.startswith("production-")
    assert data["manifest"]["entries"] > 0 and dump.stat().st_size == data["manifest"]["size"]
    assert data["manifest"]["migration_version"] == "20240101000001"
    name = f"moai_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        proc = run(project, "db", "restore", str(dump), "--db-url", url_for(name))
        assert proc.returncode == 0, proc.stderr
        with psycopg.connect(url_for(name)) as conn:
            assert conn.execute("select id from a").fetchall() == [(7,)]
            assert conn.execute("select version from supabase_migrations.schema_migrations").fetchall() == [
                ("20240101000001",)]
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BLOCK_PSYCOPG = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'psycopg':
            raise ImportError('No module named psycopg')
sys.meta_path.insert(0, Block())
from moai_adk.cli.main import main
main(sys.argv[1:])
"""


def test_without_the_postgres_driver_the_cli_still_works_and_db_says_what_to_install(project: Path) -> None:
    def run_blocked(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", BLOCK_PSYCOPG, "-C", str(project), *args],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})

    assert run_blocked("--help").returncode == 0
    assert run_blocked("db", "migration", "new", "offline").returncode == 0
    assert len(list((project / "supabase" / "migrations").glob("*_offline.sql"))) == 1
    proc = run_blocked("db", "push", "--db-url", "postgresql://x/y")
    assert proc.returncode == 1
    assert "pip install --force-reinstall moai-adk" in proc.stderr


def test_restore_over_existing_objects_hints_clean(project: Path, write: Write, db_url: str) -> None:
    write("20240101000001_a.sql", "create table a (id int);\ninsert into a values (7);")
    assert run(project, "db", "push", "--db-url", db_url).returncode == 0
    dump = project / "a.dump"
    assert run(project, "db", "backup", "--db-url", db_url, "--out", str(dump)).returncode == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("insert into a values (8)")
    proc = run(project, "db", "restore", str(dump), "--db-url", db_url)
    assert proc.returncode == 1
    assert "already exists" in proc.stderr
    hint = proc.stderr.split("Hint:", 1)[1]
    assert "--clean" in hint and f"moai-adk db restore {dump} --clean --db-url" in " ".join(hint.split())
    with psycopg.connect(db_url) as conn:  # nothing was restored
        assert conn.execute("select id from a order by id").fetchall() == [(7,), (8,)]
    proc = run(project, "db", "restore", str(dump), "--db-url", db_url, "--clean")
    assert proc.returncode == 0, proc.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select id from a order by id").fetchall() == [(7,)]


def test_a_failed_restore_for_another_reason_keeps_the_generic_hint(project: Path, db_url: str) -> None:
    from moai_adk.db.backup import _clean_hint
    from moai_adk.db.connect import Target

    hint = _clean_hint(project / "x.dump", Target(url=db_url, environment="production", env_var="PROD_DB_URL"))
    assert hint("pg_restore: error: could not execute query: ERROR:  permission denied for schema public") is None
    found = hint('pg_restore: error: could not execute query: ERROR:  relation "a" already exists')
    assert found is not None and '(relation "a")' in found and "--clean --env production" in found


def test_repair_prints_the_pooler_notice_as_push_does(project: Path, write: Write, db_url: str) -> None:
    """A transaction-pooler URL: repair connects to the session port and says so on stderr."""
    info = psycopg.conninfo.conninfo_to_dict(db_url)
    user, dbname = info.get("user", "postgres"), info["dbname"]
    password = f":{info['password']}" if info.get("password") else ""
    # the Supavisor host name stays in the URL; hostaddr sends the connection to the test server
    pooler = f"postgresql://{user}{password}@aws-0-eu-west-1.pooler.supabase.com:6543/{dbname}?hostaddr=127.0.0.1"
    write("20240101000001_a.sql", "create table a (id int);")
    proc = run(project, "db", "migration", "repair", "20240101000001", "--status", "applied", "--db-url", pooler)
    assert proc.returncode == 0, proc.stderr
    assert "transaction pooler" in proc.stderr and "session pooler on port 5432" in proc.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select version from supabase_migrations.schema_migrations").fetchall() == [
            ("20240101000001",)]


def test_push_to_production_lints_refuses_destructive_and_backs_up_first(project: Path, write: Write,
                                                                          db_url: str) -> None:
    (project / "moai.toml").write_text(TOML)
    write("20240101000001_a.sql", "create table a (id int, legacy text);")
    assert run(project, "db", "push", "--env", "production", PROD_DB_URL=db_url).returncode == 0
    backups = sorted((project / ".moai" / "backups").glob("production-*.dump"))
    assert len(backups) == 1 and backups[0].stat().st_size > 0  # taken before the first apply
    write("20240101000002_b.sql", "alter table a drop column legacy;\ncreate index a_id on a (id);")
    dry = run(project, "db", "push", "--env", "production", "--dry-run", "--json", PROD_DB_URL=db_url)
    assert dry.returncode == 0, dry.stderr
    data = json.loads(dry.stdout)
    assert [f["rule"] for f in data["lint"]] == ["drop-column", "require-lock-timeout", "index-not-concurrently"]
    assert any("would refuse 1 destructive" in w for w in data["warnings"])
    refused = run(project, "db", "push", "--env", "production", PROD_DB_URL=db_url)
    assert refused.returncode == 1
    assert "20240101000002_b.sql:1 drop-column" in refused.stderr and "--allow-destructive" in refused.stderr
    with psycopg.connect(db_url) as conn:  # nothing applied, no new backup
        cols = [r[0] for r in conn.execute("select column_name from information_schema.columns "
                                           "where table_name = 'a' order by 1")]
        assert cols == ["id", "legacy"]
    assert len(list((project / ".moai" / "backups").glob("production-*.dump"))) == 1
    ok = run(project, "db", "push", "--env", "production", "--allow-destructive", "--json", PROD_DB_URL=db_url)
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["backup"] and Path(result["backup"]).is_file()
    assert [m["version"] for m in result["applied"]] == ["20240101000002"]


def test_push_elsewhere_warns_about_destructive_statements_and_takes_no_backup(project: Path, write: Write,
                                                                               db_url: str) -> None:
    write("20240101000001_a.sql", "create table a (id int); drop table a;")
    proc = run(project, "db", "push", "--db-url", db_url, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [f["rule"] for f in data["lint"]] == ["drop-table"] and data["backup"] is None
    assert "drop-table (destructive)" in proc.stderr
    assert not (project / ".moai" / "backups").exists()
