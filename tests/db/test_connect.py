"""Database URL resolution, redaction and connection errors (against a real refused port)."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest

from moai_adk.config import parse_config
from moai_adk.db.connect import Target, connect, redact, resolve_target, session_target
from moai_adk.errors import ConfigError, DatabaseError, UsageError

TOML = """
[project]
name = "shop"

[environments.production]
db_url_env = "PROD_DB_URL"

[environments.staging]
platform = "local"
"""


def config(tmp_path: Path):  # type: ignore[no-untyped-def]
    return parse_config(TOML, tmp_path / "moai.toml")


def refused_port() -> int:
    """A loopback port with nothing listening (bound then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_db_url_flag_wins(tmp_path: Path) -> None:
    t = resolve_target(None, None, "postgresql://u@h/db", {})
    assert t is not None and t.url == "postgresql://u@h/db" and t.environment is None


def test_env_reads_the_variable_named_in_moai_toml(tmp_path: Path) -> None:
    t = resolve_target(config(tmp_path), "production", None, {"PROD_DB_URL": "postgresql://u:pw@h/db"})
    assert t is not None and t.url == "postgresql://u:pw@h/db"
    assert t.env_var == "PROD_DB_URL" and t.flag == "--env production"
    assert "pw" not in t.label


def test_missing_variable_names_environment_key_and_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_target(config(tmp_path), "production", None, {})
    msg = err.value.message
    assert "'production'" in msg and "PROD_DB_URL" in msg and "environments.production.db_url_env" in msg
    assert "moai.toml" in msg


def test_environment_without_db_url_env_says_which_key_to_add(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_target(config(tmp_path), "staging", None, {})
    assert "environments.staging.db_url_env" in err.value.message
    assert 'db_url_env = "STAGING_DB_URL"' in (err.value.hint or "")


def test_both_or_neither_flag_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        resolve_target(config(tmp_path), "production", "postgresql://x", {})
    with pytest.raises(UsageError):
        resolve_target(config(tmp_path), None, None, {})
    assert resolve_target(config(tmp_path), None, None, {}, required=False) is None


@pytest.mark.parametrize("url, shown", [
    ("postgresql://app:s3cret@db.example.com:5432/app", "postgresql://app:****@db.example.com:5432/app"),
    ("postgres://app@h/db?password=s3cret&sslmode=require", "postgres://app@h/db?password=****&sslmode=require"),
    ("host=h user=app password=s3cret dbname=x", "host=h user=app password=**** dbname=x"),
    ("postgresql://h/db", "postgresql://h/db"),
])
def test_redact_hides_passwords(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_refused_connection_names_environment_and_variable_without_password(tmp_path: Path) -> None:
    url = f"postgresql://app:topsecret@127.0.0.1:{refused_port()}/app"
    target = resolve_target(config(tmp_path), "production", None, {"PROD_DB_URL": url})
    assert target is not None
    with pytest.raises(DatabaseError) as err:
        connect(target, connect_timeout=3)
    text = err.value.message + (err.value.hint or "")
    assert "environment 'production'" in err.value.message and "PROD_DB_URL" in err.value.message
    assert "refused" in err.value.message.lower()
    assert "PROD_DB_URL" in (err.value.hint or "")
    assert "topsecret" not in text and "****" in err.value.message


def test_invalid_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        connect(Target(url="notaurl"))
    assert "--db-url" in err.value.message


def test_connects_to_the_test_database(db_url: str) -> None:
    conn = connect(Target(url=db_url))
    try:
        assert conn.autocommit
        assert conn.execute("select current_setting('application_name')").fetchone() == ("moai-adk",)
    finally:
        conn.close()


def test_unparsable_url_with_password_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        connect(Target(url="postgresql://app:topsecret@[::1/db"))
    assert "topsecret" not in err.value.message


POOLER = "aws-0-eu-central-1.pooler.supabase.com"


@pytest.mark.parametrize("url, switched", [
    (f"postgresql://postgres.abcdefghijklmnopqrst:pw@{POOLER}:6543/postgres?sslmode=require",
     f"postgresql://postgres.abcdefghijklmnopqrst:pw@{POOLER}:5432/postgres?sslmode=require"),
    (f"postgres://u:p%40ss@{POOLER.upper()}:6543/postgres", f"postgres://u:p%40ss@{POOLER.upper()}:5432/postgres"),
    (f"host={POOLER} port=6543 user=postgres.x password=pw dbname=postgres", None),
])
def test_transaction_pooler_becomes_the_session_pooler_with_a_notice(url: str, switched: str | None) -> None:
    target = Target(url=url, environment="production", env_var="PROD_DB_URL")
    moved, notices = session_target(target)
    params = psycopg.conninfo.conninfo_to_dict(moved.url)
    assert params["port"] == "5432" and str(params["host"]).lower() == POOLER
    assert params["password"] in ("pw", "p@ss") and params["dbname"] == "postgres"
    if switched is not None:
        assert moved.url == switched
    assert (moved.environment, moved.env_var) == ("production", "PROD_DB_URL")
    assert len(notices) == 1 and "6543" in notices[0] and "5432" in notices[0] and "$PROD_DB_URL" in notices[0]
    assert "pw" not in notices[0]


@pytest.mark.parametrize("url", [
    f"postgresql://u:pw@{POOLER}:5432/postgres",           # already the session pooler
    f"postgresql://u:pw@{POOLER}/postgres",                # default port
    "postgresql://u:pw@db.example.com:6543/app",           # someone else's port 6543: left alone
    "postgresql://u:pw@127.0.0.1:6543/app",
])
def test_other_urls_are_left_alone(url: str) -> None:
    target = Target(url=url)
    assert session_target(target) == (target, [])


def test_dedicated_pgbouncer_transaction_port_is_refused() -> None:
    url = "postgresql://postgres:topsecret@db.abcdefghijklmnopqrst.supabase.co:6543/postgres"
    with pytest.raises(ConfigError) as err:
        session_target(Target(url=url))
    assert "--db-url" in err.value.message and "6543" in err.value.message
    assert "5432" in (err.value.hint or "") and "--db-url" in (err.value.hint or "")
    assert "topsecret" not in err.value.message + (err.value.hint or "")
    with pytest.raises(ConfigError) as err:
        session_target(Target(url=url, environment="production", env_var="PROD_DB_URL"))
    assert "$PROD_DB_URL" in err.value.message and "$PROD_DB_URL" in (err.value.hint or "")
