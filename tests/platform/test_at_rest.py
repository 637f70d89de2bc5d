"""What the platform keeps on disk is its user's only: private modes, secret env values encrypted at rest.

Another local user is played by ``nobody`` (``runuser``), on a data folder under a world-traversable
folder, so only the platform's own modes stand in the way."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from moai_adk.errors import StateError
from moai_adk.platform.atrest import KEY_FILE, PREFIX
from moai_adk.platform.meta import SCHEMA, MetaDB
from tests.platform.conftest import start_serve

SECRET = "s3cr3t-VALUE-that-must-not-leak"


@pytest.fixture
def open_base() -> Iterator[Path]:
    """A folder every local user may pass through (unlike pytest's tmp_path, which is 0700)."""
    base = Path(tempfile.mkdtemp(prefix="moai-atrest-"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def as_nobody(*argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["runuser", "-u", "nobody", "--", *argv], capture_output=True, timeout=30)


def test_serve_keeps_the_data_folder_from_other_local_users(open_base: Path) -> None:
    with start_serve(open_base) as (running, _proc):
        auth = {"Authorization": f"Bearer {running.token}"}
        api = f"{running.url}/_api/v1"
        assert httpx.post(f"{api}/sites", json={"name": "shop"}, headers=auth).status_code == 201
        r = httpx.put(f"{api}/sites/shop/env/production/STRIPE_KEY", json={"value": SECRET, "secret": True},
                      headers=auth)
        assert r.status_code == 200, r.text
        body = b"<h1>published</h1>"
        sha = hashlib.sha256(body).hexdigest()
        assert httpx.put(f"{api}/blobs/{sha}", content=body, headers=auth).status_code == 201
        data = running.data_dir
        db = data / "meta.sqlite3"
        blob = data / "blobs" / sha[:2] / sha[2:4] / sha
        private = [db, db.with_name("meta.sqlite3-wal"), db.with_name("meta.sqlite3-shm"), data / KEY_FILE, blob,
                   running.credentials]
        assert mode(data) == 0o700
        for path in private:
            assert mode(path) == 0o600, path
        assert mode(data / "blobs") == 0o700
        for path in private[:-1]:
            r2 = as_nobody("cat", str(path))
            assert r2.returncode != 0 and r2.stdout == b"", path
        r2 = as_nobody("/usr/bin/python3", "-c", f"import os; print(os.listdir({str(data)!r}))")
        assert r2.returncode != 0 and b"Permission denied" in r2.stderr
        # at rest, the value is not in the database's bytes (nor its WAL); the platform still reads it
        raw = b"".join(p.read_bytes() for p in private[:3])
        assert SECRET.encode() not in raw
        assert running.platform is not None
        assert running.platform.meta.env_list("shop", "production")[0][1] == SECRET


def _old_database(data: Path) -> Path:
    """A data folder as the previous release left it: 0755, a 0644 database with secrets in clear."""
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    db = data / "meta.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO env_vars VALUES (?,?,?,?,?,?)", [
        ("shop", "production", "API_SECRET", SECRET, 1, "2026-01-01T00:00:00Z"),
        ("shop", "production", "PUBLIC_URL", "https://shop.example", 0, "2026-01-01T00:00:00Z"),
    ])
    conn.commit()
    conn.close()
    os.chmod(db, 0o644)
    return db


def test_clear_secrets_of_an_older_version_are_encrypted_on_open(tmp_path: Path) -> None:
    db = _old_database(tmp_path / "data")
    meta = MetaDB(db)
    try:
        assert meta.env_list("shop", "production") == [
            ("API_SECRET", SECRET, True, "2026-01-01T00:00:00Z"),
            ("PUBLIC_URL", "https://shop.example", False, "2026-01-01T00:00:00Z")]
        stored = dict(meta.query("SELECT key, value FROM env_vars"))
        assert stored["API_SECRET"].startswith(PREFIX) and stored["PUBLIC_URL"] == "https://shop.example"
        files = [db, db.with_name("meta.sqlite3-wal"), db.with_name("meta.sqlite3-shm")]
        assert not any(SECRET.encode() in p.read_bytes() for p in files if p.exists())
        assert mode(db.parent) == 0o700 and all(mode(p) == 0o600 for p in files if p.exists())
        assert mode(db.parent / KEY_FILE) == 0o600
    finally:
        meta.close()


def test_a_lost_key_is_a_clear_error_and_a_moved_value_does_not_decrypt(tmp_path: Path) -> None:
    db = tmp_path / "data" / "meta.sqlite3"
    meta = MetaDB(db)
    meta.env_set("shop", "production", "TOKEN", SECRET, True)
    meta.env_set("shop", "preview", "TOKEN", "other", True)
    with meta.tx() as c:  # copy production's sealed value into the preview row
        c.execute("UPDATE env_vars SET value = (SELECT value FROM env_vars WHERE environment = 'production')"
                  " WHERE environment = 'preview'")
    with pytest.raises(StateError, match="does not decrypt"):
        meta.env_list("shop", "preview")
    meta.close()
    (db.parent / KEY_FILE).unlink()
    with pytest.raises(StateError) as err:
        MetaDB(db)
    assert KEY_FILE in err.value.message and "Restore" in (err.value.hint or "")
    assert not (db.parent / KEY_FILE).exists()  # no new key was made over the sealed values
