"""db backup's manifest, encryption, verify and the pg_dump lookup, on real PostgreSQL and real files."""

from __future__ import annotations

import hashlib
import json
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from moai_adk.db.backups import create_backup, list_backups, resolve
from moai_adk.db.connect import Target
from moai_adk.db.storage import LocalStorage
from moai_adk.db.verify import verify_backup
from moai_adk.errors import BackupError, DatabaseError, UsageError
from moai_adk.secrets.keys import SecretsKeyError
from tests.db.backup_helpers import PROJECT, give_key, key_environ, request, seed

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def test_manifest_holds_checksums_row_counts_and_the_migration_version(tmp_path: Path, db_url: str,
                                                                      db: psycopg.Connection) -> None:
    seed(db, rows=50)
    target = Target(url=db_url, environment="staging", env_var="STAGING_DB_URL")
    storage = LocalStorage(tmp_path / ".moai" / "backups")
    result = create_backup(target, request(tmp_path), storage, now=NOW)
    m = result.manifest
    assert m is not None and m.id == "staging-20240601120000" and m.environment == "staging"
    dump = storage.folder / "staging-20240601120000.dump"
    assert sorted(storage.names()) == ["staging-20240601120000.dump", "staging-20240601120000.json"]
    assert m.file == dump.name and m.size == dump.stat().st_size
    assert m.sha256 == hashlib.sha256(dump.read_bytes()).hexdigest() == m.dump_sha256
    assert dump.read_bytes()[:5] == b"PGDMP"
    assert m.tables == {"app.orders": 7, "public.empty_one": 0, "public.items": 50,
                        "supabase_migrations.schema_migrations": 2}
    assert m.migration_version == "20240301000000"
    row = db.execute("show server_version").fetchone()
    assert row is not None and m.server_version == row[0].split()[0]
    assert m.pg_dump_version.startswith("pg_dump (PostgreSQL) " + m.server_version.split(".")[0])
    assert m.created_at == NOW.isoformat() and m.database == db.info.dbname and not m.encrypted
    assert stat.S_IMODE(storage.folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in storage.folder.iterdir()} == {0o600}
    on_disk = json.loads((storage.folder / "staging-20240601120000.json").read_text())
    assert on_disk["tables"]["public.items"] == 50 and on_disk["sha256"] == m.sha256
    assert [b.id for b in list_backups(storage, "staging")[0]] == [m.id]
    assert list_backups(storage, "production")[0] == []
    log = (tmp_path / ".moai" / "audit" / "log.jsonl").read_text()
    assert '"action":"db backup"' in log and m.sha256 in log


def test_row_counts_come_from_the_dumped_snapshot_while_rows_are_written(tmp_path: Path, db_url: str,
                                                                          db: psycopg.Connection) -> None:
    db.execute("create table busy (id bigserial primary key, pad text)")
    db.execute("insert into busy (pad) select repeat('x', 200) from generate_series(1, 150000)")
    stop = threading.Event()

    def writer() -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("insert into busy (pad) values ('y')")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = create_backup(Target(url=db_url), request(tmp_path), LocalStorage(tmp_path / "b"), now=NOW)
    finally:
        stop.set()
        thread.join()
    assert result.manifest is not None
    after = db.execute("select count(*) from busy").fetchone()
    assert after is not None and after[0] > result.manifest.tables["public.busy"] >= 150000  # rows kept coming
    verified = verify_backup(LocalStorage(tmp_path / "b"), None, Target(url=db_url), project=PROJECT, environ={})
    assert verified.ok, verified.problems
    assert verified.tables["public.busy"] == result.manifest.tables["public.busy"]


def test_verify_catches_a_tampered_row_count_and_a_truncated_dump(tmp_path: Path, db_url: str,
                                                                   db: psycopg.Connection,
                                                                   admin: psycopg.Connection) -> None:
    seed(db)
    target = Target(url=db_url, environment="staging", env_var="X")
    storage = LocalStorage(tmp_path / "b")
    create_backup(target, request(tmp_path), storage, now=NOW)
    good = verify_backup(storage, None, target, project=PROJECT, environ={})
    assert good.ok and good.tables["public.items"] == 50
    assert not [r for r in admin.execute("select datname from pg_database where datname = %s",
                                         (good.database,)).fetchall()]  # scratch database dropped
    manifest_path = storage.folder / "staging-20240601120000.json"
    data = json.loads(manifest_path.read_text())
    data["tables"]["app.orders"] = 8
    manifest_path.write_text(json.dumps(data))
    bad = verify_backup(storage, "staging-20240601120000", target, project=PROJECT, environ={})
    assert not bad.ok and bad.problems == ["table app.orders has 7 rows, the manifest says 8"]
    assert "app.orders" in bad.summary()
    dump = storage.folder / "staging-20240601120000.dump"
    dump.write_bytes(dump.read_bytes()[:-100])
    with pytest.raises(BackupError) as err:
        verify_backup(storage, None, target, project=PROJECT, environ={})
    assert "truncated" in err.value.message and "nothing was restored" in err.value.message


def test_encrypted_backup_round_trip_and_a_missing_key(tmp_path: Path, db_url: str, db: psycopg.Connection) -> None:
    seed(db)
    environ = key_environ(tmp_path)
    public = give_key(tmp_path, environ, "staging")
    target = Target(url=db_url, environment="staging", env_var="X")
    storage = LocalStorage(tmp_path / "b")
    result = create_backup(target, request(tmp_path, environ, encrypt=True), storage, now=NOW)
    m = result.manifest
    assert m is not None and m.encrypted and m.recipients == [public] and m.file.endswith(".dump.age")
    sealed = (storage.folder / m.file).read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1") and b"PGDMP" not in sealed and b"item 1" not in sealed
    assert m.sha256 == hashlib.sha256(sealed).hexdigest() != m.dump_sha256
    assert [p.name for p in storage.folder.iterdir() if p.name.endswith(".dump")] == []  # no plain copy left
    assert verify_backup(storage, None, target, project=PROJECT, environ=environ).ok
    key_file = tmp_path / "config" / "moai-adk" / "keys" / PROJECT / "staging.key"
    key_file.unlink()
    with pytest.raises(SecretsKeyError) as err:
        verify_backup(storage, None, target, project=PROJECT, environ=environ)
    assert "no staging key" in err.value.message and str(key_file) in err.value.message
    assert public in (err.value.hint or "")


def test_encryption_needs_recipients_and_an_environment(tmp_path: Path, db_url: str) -> None:
    environ = key_environ(tmp_path)
    with pytest.raises(SecretsKeyError) as err:
        create_backup(Target(url=db_url, environment="staging", env_var="X"),
                      request(tmp_path, environ, encrypt=True), LocalStorage(tmp_path / "b"), now=NOW)
    assert ".moai/secrets/staging.recipients" in err.value.message
    assert "secrets keygen --env staging" in (err.value.hint or "")
    with pytest.raises(UsageError):
        create_backup(Target(url=db_url), request(tmp_path, environ, encrypt=True), LocalStorage(tmp_path / "b"),
                      now=NOW)
    assert not (tmp_path / "b").exists()


def test_an_old_pg_dump_is_refused_naming_the_server_and_the_package(tmp_path: Path, db_url: str,
                                                                     db: psycopg.Connection) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    (fake / "pg_dump").chmod(0o755)
    req = request(tmp_path, {"PATH": str(fake)})
    req.tools_root = tmp_path / "no-debian-layout"
    with pytest.raises(DatabaseError) as err:
        create_backup(Target(url=db_url), req, LocalStorage(tmp_path / "b"), now=NOW)
    row = db.execute("show server_version").fetchone()
    assert row is not None
    version = row[0].split()[0]
    major = version.split(".")[0]
    assert f"PostgreSQL {version} server" in err.value.message and "version 9: older than the server" \
        in err.value.message
    assert f"apt-get install postgresql-client-{major}" in (err.value.hint or "")
    assert not (tmp_path / "b").exists()


def test_dry_run_writes_nothing_and_hides_the_password(tmp_path: Path, db_url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(db_url)
    info["password"] = "hunter2"
    secret = Target(url=psycopg.conninfo.make_conninfo(**info))  # type: ignore[arg-type]
    result = create_backup(secret, request(tmp_path), LocalStorage(tmp_path / "b"), now=NOW, dry_run=True)
    assert result.dry_run and result.manifest is None and not (tmp_path / "b").exists()
    assert "hunter2" not in " ".join(result.command) and "Would run" in result.summary()


def test_a_named_file_and_a_file_without_manifest(tmp_path: Path, db_url: str, db: psycopg.Connection) -> None:
    seed(db)
    req = request(tmp_path)
    req.out = tmp_path / "x" / "mine.dump"
    result = create_backup(Target(url=db_url), req, LocalStorage(tmp_path / "unused"), now=NOW)
    assert result.id == "mine" and (tmp_path / "x" / "mine.json").is_file()
    storage, m = resolve(LocalStorage(tmp_path / "unused"), tmp_path / "x" / "mine.dump", None)
    assert m.id == "mine" and storage.where == str(tmp_path / "x")
    (tmp_path / "x" / "mine.json").unlink()
    with pytest.raises(BackupError) as err:
        resolve(storage, tmp_path / "x" / "mine.dump", None)
    assert "no manifest beside it" in err.value.message
