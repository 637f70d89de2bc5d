"""Backups in an S3-compatible bucket: a real moto server on loopback, real PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from moai_adk.config import BackupSettings
from moai_adk.db.backups import create_backup, list_backups, restore_backup
from moai_adk.db.connect import Target
from moai_adk.db.storage import S3Storage, open_storage
from moai_adk.db.verify import verify_backup
from moai_adk.errors import BackupError
from tests.db.backup_helpers import PROJECT, extra_databases, new_database, request, seed  # noqa: F401
from tests.db.conftest import url_for

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
         "PATH": "/usr/bin:/bin"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = str(Path(sys.executable).with_name("moto_server"))
    proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **CREDS})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("moto_server exited at start")
                time.sleep(0.05)
        else:
            pytest.fail("moto_server did not answer")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bucket(moto_url: str, name: str) -> BackupSettings:
    settings = BackupSettings(location=f"s3://{name}/backups/app", endpoint_url=moto_url)
    storage = open_storage(Path("/nonexistent"), settings, CREDS)
    assert isinstance(storage, S3Storage)
    storage.client.create_bucket(Bucket=name)
    return settings


def test_backup_to_a_bucket_lists_verifies_and_restores(tmp_path: Path, moto_url: str, db_url: str,
                                                        db: psycopg.Connection, admin: psycopg.Connection,
                                                        extra_databases: list[str]) -> None:  # noqa: F811
    seed(db)
    settings = bucket(moto_url, "round-trip")
    storage = open_storage(tmp_path, settings, CREDS)
    target = Target(url=db_url, environment="staging", env_var="X")
    result = create_backup(target, request(tmp_path, CREDS), storage, now=NOW)
    assert result.where == "s3://round-trip/backups/app"
    assert storage.names() == ["staging-20240601120000.dump", "staging-20240601120000.json"]
    keys = [o["Key"] for o in storage.client.list_objects_v2(Bucket="round-trip")["Contents"]]  # type: ignore[attr-defined]
    assert sorted(keys) == ["backups/app/staging-20240601120000.dump", "backups/app/staging-20240601120000.json"]
    assert not (tmp_path / ".moai" / "backups").exists()   # nothing kept locally
    found, warnings = list_backups(storage, "staging")
    assert [m.id for m in found] == ["staging-20240601120000"] and warnings == []
    assert found[0].tables["public.items"] == 50
    verified = verify_backup(storage, None, target, project=PROJECT, environ=CREDS)
    assert verified.ok and verified.tables == found[0].tables
    other = new_database(admin, extra_databases)
    restore_backup(storage, "staging-20240601120000", Target(url=url_for(other)), root=tmp_path, project=PROJECT,
                   environ=CREDS)
    with psycopg.connect(url_for(other)) as conn:
        assert conn.execute("select count(*) from app.orders").fetchone() == (7,)
    storage.client.put_object(Bucket="round-trip", Key="backups/app/staging-20240601120000.dump",  # type: ignore[attr-defined]
                              Body=b"PGDMP truncated")
    with pytest.raises(BackupError) as err:
        verify_backup(storage, None, target, project=PROJECT, environ=CREDS)
    assert "truncated" in err.value.message


def test_large_files_go_up_in_parts_and_come_back_whole(tmp_path: Path, moto_url: str) -> None:
    storage = open_storage(tmp_path, bucket(moto_url, "multipart"), CREDS)
    assert isinstance(storage, S3Storage)
    big = tmp_path / "big.dump"
    with big.open("wb") as f:
        for _ in range(20):
            f.write(os.urandom(1 << 20))
    storage.put_file(big, "big.dump")
    head = storage.client.head_object(Bucket="multipart", Key="backups/app/big.dump")
    assert head["ContentLength"] == 20 << 20 and head["ETag"].strip('"').endswith("-2")  # two parts
    (tmp_path / "w").mkdir()
    back = storage.fetch("big.dump", tmp_path / "w")
    assert back.read_bytes() == big.read_bytes()
    storage.delete("big.dump")
    assert storage.names() == []


def test_a_missing_bucket_is_a_clear_error(tmp_path: Path, moto_url: str) -> None:
    storage = open_storage(tmp_path, BackupSettings(location="s3://nope/x", endpoint_url=moto_url), CREDS)
    with pytest.raises(BackupError) as err:
        storage.names()
    assert "s3://nope/x" in err.value.message and "endpoint_url" in (err.value.hint or "")
