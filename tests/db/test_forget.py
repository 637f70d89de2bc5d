"""db forget against real PostgreSQL, and db sync / db forget as a user runs them (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from moai_adk import audit
from moai_adk.db.anonymize import derive_key
from moai_adk.db.connect import Target
from moai_adk.db.forget import Privacy, forget
from moai_adk.errors import ConfigError, UsageError

CLI = str(Path(sys.executable).with_name("moai-adk"))

SCHEMA = """
create table users (id int primary key, email text not null unique, name text, phone text, plan text);
create table orders (id int primary key, user_id int references users(id), total int, shipping_name text);
create table events (id int primary key, actor int, kind text);
insert into users values (1, 'ann@x.org', 'Ann', '555-1', 'pro'), (2, 'bo@x.org', 'Bo', '555-2', 'free');
insert into orders values (10, 1, 5, 'Ann A'), (11, 1, 7, 'Ann A'), (12, 2, 9, 'Bo B');
insert into events values (100, 1, 'login'), (101, 2, 'login'), (102, 1, 'logout');
"""

PRIVACY = Privacy(subject_table="users", subject_columns=["id", "email"], key="id",
                  tables={"orders": "user_id", "events": "actor"})
KEY = derive_key(b"forget test")


def q(conn: psycopg.Connection, sql: str) -> list[tuple[object, ...]]:
    return conn.execute(sql).fetchall()


def test_forget_deletes_exactly_one_subject_and_audits_a_hash(db: psycopg.Connection, target: Target,
                                                              tmp_path: Path) -> None:
    db.execute(SCHEMA)
    result = forget(tmp_path, target, PRIVACY, "ann@x.org", key=KEY)
    assert result.counts == {"orders": 2, "events": 2, "users": 1}
    assert q(db, "select id from users") == [(2,)]
    assert q(db, "select id from orders") == [(12,)]
    assert q(db, "select id from events") == [(101,)]
    entries = audit.read_entries(tmp_path)
    assert entries[-1]["action"] == "db forget"
    assert entries[-1]["details"]["tables"] == {"orders": 2, "events": 2, "users": 1}
    assert entries[-1]["details"]["subject_hash"] == result.subject_hash and len(result.subject_hash) == 64
    assert "ann@x.org" not in (tmp_path / ".moai" / "audit" / "log.jsonl").read_text()
    # by id, the other person; then nobody left to find
    assert forget(tmp_path, target, PRIVACY, "2", key=KEY).counts == {"orders": 1, "events": 1, "users": 1}
    again = forget(tmp_path, target, PRIVACY, "2", key=KEY)
    assert again.found == 0 and sum(again.counts.values()) == 0


def test_forget_dry_run_counts_and_changes_nothing(db: psycopg.Connection, target: Target, tmp_path: Path) -> None:
    db.execute(SCHEMA)
    result = forget(tmp_path, target, PRIVACY, "1", key=KEY, dry_run=True)
    assert result.counts == {"orders": 2, "events": 2, "users": 1}
    assert q(db, "select count(*) from users") == [(2,)] and q(db, "select count(*) from orders") == [(3,)]
    assert audit.read_entries(tmp_path) == []


def test_forget_anonymize_keeps_rows_and_rewrites_personal_columns(db: psycopg.Connection, target: Target,
                                                                   tmp_path: Path) -> None:
    db.execute(SCHEMA)
    result = forget(tmp_path, target, PRIVACY, "ann@x.org", key=KEY, anonymize=True)
    assert result.counts == {"orders": 2, "events": 2, "users": 1}
    (uid, email, name, phone, plan), = q(db, "select * from users where id = 1")
    assert (uid, plan) == (1, "pro") and str(email).endswith("@example.invalid") and name != "Ann" and phone is None
    assert q(db, "select shipping_name = 'Ann A', user_id from orders where id = 10") == [(False, 1)]
    assert q(db, "select * from users where id = 2") == [(2, "bo@x.org", "Bo", "555-2", "free")]
    assert q(db, "select shipping_name from orders where id = 12") == [("Bo B",)]
    # with a rules file, its rules win
    rules = tmp_path / "rules.toml"
    rules.write_text('[users]\nname = "fixed:Erased"\n[orders]\nshipping_name = "null"\n')
    with_rules = Privacy(**{**PRIVACY.__dict__, "rules": rules})
    forget(tmp_path, target, with_rules, "bo@x.org", key=KEY, anonymize=True)
    assert q(db, "select email, name, phone from users where id = 2") == [("bo@x.org", "Erased", "555-2")]
    assert q(db, "select shipping_name from orders where id = 12") == [(None,)]


def test_forget_refusals(db: psycopg.Connection, db_url: str, tmp_path: Path) -> None:
    db.execute(SCHEMA)
    prod = Target(url=db_url, environment="production", env_var="PROD_DB_URL")
    with pytest.raises(UsageError, match="production"):
        forget(tmp_path, prod, PRIVACY, "1", key=KEY)
    assert q(db, "select count(*) from users") == [(2,)]
    assert forget(tmp_path, prod, PRIVACY, "1", key=KEY, yes=True).counts["users"] == 1
    bad = Privacy(subject_table="users", subject_columns=["id", "mail"], tables={"orders": "uid"})
    with pytest.raises(ConfigError, match="db.privacy.subject_columns.*column mail"):
        forget(tmp_path, Target(url=db_url), bad, "2", key=KEY)
    with pytest.raises(ConfigError, match=r"has no \[db.privacy\]"):
        Privacy.from_config(None, tmp_path, "moai.toml")


TOML = """[project]
name = "shop"

[environments.staging]
db_url_env = "STAGING_DB_URL"

[environments.development]
db_url_env = "DEV_DB_URL"

[db.privacy]
subject_table = "users"
subject_columns = ["id", "email"]

[db.privacy.tables]
orders = "user_id"
events = "actor"
"""


def run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "NO_COLOR": "1", "COLUMNS": "200", "MOAI_ANONYMIZE_KEY": "cli-test"}
    return subprocess.run([CLI, "-C", str(project), *args], capture_output=True, text=True, env=full, timeout=60)


def test_cli_sync_and_forget(db: psycopg.Connection, db_url: str, admin: psycopg.Connection, project: Path) -> None:
    from .conftest import url_for

    db.execute(SCHEMA)
    dev_name = f"{db_url.rsplit('=', 1)[-1]}_dev"
    admin.execute(f'create database "{dev_name}"')
    try:
        dev = url_for(dev_name)
        with psycopg.connect(dev, autocommit=True) as conn:
            conn.execute(SCHEMA.split("insert", 1)[0])
        (project / "moai.toml").write_text(TOML)
        (project / "rules.toml").write_text('[users]\nemail = "email"\nname = "name"\nphone = "null"\n'
                                            '[orders]\nshipping_name = "name"\n')
        envs = {"STAGING_DB_URL": db_url, "DEV_DB_URL": dev}
        guarded = run(project, "db", "sync", "--from", "staging", "--to", "development", **envs)
        assert guarded.returncode == 1
        assert "orders.shipping_name, users.email, users.name, users.phone" in guarded.stderr
        dry = run(project, "db", "sync", "--from", "staging", "--to", "development", "--anonymize", "rules.toml",
                  "--dry-run", "--json", **envs)
        assert dry.returncode == 0, dry.stderr
        assert [t["table"] for t in json.loads(dry.stdout)["tables"]] == ["events", "users", "orders"]
        done = run(project, "db", "sync", "--from", "staging", "--to", "development", "--anonymize", "rules.toml",
                   **envs)
        assert done.returncode == 0, done.stderr
        assert "Copied 8 row(s)" in done.stdout
        with psycopg.connect(dev) as conn:
            assert conn.execute("select count(*) from users where email like '%@example.invalid'").fetchone() == (2,)
        missing = run(project, "db", "sync", "--from", "staging", "--to", "production", "--to-url", dev, **envs)
        assert missing.returncode == 2 and "--to or --to-url" in missing.stderr
        gone = run(project, "db", "forget", "--env", "staging", "--subject", "bo@x.org", "--json", **envs)
        assert gone.returncode == 0, gone.stderr
        assert json.loads(gone.stdout)["tables"] == {"orders": 1, "events": 1, "users": 1}
        log = (project / ".moai" / "audit" / "log.jsonl").read_text()
        assert '"action":"db forget"' in log and '"action":"db sync"' in log and "bo@x.org" not in log
    finally:
        admin.execute(f'drop database if exists "{dev_name}" with (force)')
