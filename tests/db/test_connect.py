"""Database URL resolution, redaction and connection errors (against a real refused port)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from moai_adk.config import parse_config
from moai_adk.db.connect import Target, connect, redact, resolve_target
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
