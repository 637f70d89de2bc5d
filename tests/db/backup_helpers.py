"""Shared pieces of the backup tests: a seeded database, a project with an age key, a request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from moai_adk.config import BackupSettings
from moai_adk.db.backups import BackupRequest
from moai_adk.secrets.keys import KeyStore
from moai_adk.secrets.store import Recipient, SecretStore, generate

PROJECT = "shop"


def seed(conn: psycopg.Connection, rows: int = 50) -> None:
    conn.execute("create schema app; create table app.orders (id int primary key, note text);"
                 "create table items (id int primary key, label text); create table empty_one (x int);"
                 "create schema supabase_migrations; create table supabase_migrations.schema_migrations "
                 "(version text primary key, statements text[], name text);"
                 "insert into supabase_migrations.schema_migrations values ('20240101000001', null, 'a'), "
                 "('20240301000000', null, 'b')")
    conn.execute("insert into items select g, 'item ' || g from generate_series(1, %s) g", (rows,))
    conn.execute("insert into app.orders select g, 'o' from generate_series(1, 7) g")


def request(root: Path, environ: dict[str, str] | None = None, **settings: object) -> BackupRequest:
    return BackupRequest(root=root, settings=BackupSettings(**settings),  # type: ignore[arg-type]
                         project=PROJECT, environ=environ or {"PATH": "/usr/bin:/bin"})


def key_environ(tmp: Path) -> dict[str, str]:
    """An environ whose key store is a key folder under ``tmp`` (no OS keyring)."""
    return {"PATH": "/usr/bin:/bin", "MOAI_SECRETS_BACKEND": "file", "XDG_CONFIG_HOME": str(tmp / "config")}


def give_key(root: Path, environ: dict[str, str], environment: str) -> str:
    """Make an age key for ``environment``: private key in the key store, public key in the recipients file."""
    private, public = generate()
    keys = KeyStore(PROJECT, environ)
    keys.save(environment, private, public)
    store = SecretStore(root, environment, keys)
    store.dir.mkdir(parents=True, exist_ok=True)
    store.write_recipients([Recipient(public, "me")])
    return public


@pytest.fixture
def extra_databases(admin: psycopg.Connection) -> Iterator[list[str]]:
    """Names of databases a test creates (restores, kept originals), dropped afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_database(admin: psycopg.Connection, names: list[str]) -> str:
    name = f"moai_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    names.append(name)
    return name


def databases_like(admin: psycopg.Connection, prefix: str) -> list[str]:
    return [r[0] for r in admin.execute("select datname from pg_database where datname like %s order by 1",
                                        (prefix + "%",)).fetchall()]
