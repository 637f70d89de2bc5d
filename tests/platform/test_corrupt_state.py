"""A damaged metadata database stops `platform serve` with a clear error and touches nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from moai_adk.platform.service import Platform


def test_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Platform(data).close()  # a real data folder
    db = data / "meta.sqlite3"
    assert db.is_file()
    db.write_bytes(b"not a database at all" * 100)
    before = db.read_bytes()
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    r = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "serve", "--port", "59997", "--data", str(data)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "metadata database" in r.stderr and "damaged" in r.stderr and str(data) in r.stderr
    assert "Hint:" in r.stderr
    assert db.read_bytes() == before  # nothing was overwritten


def _serve(tmp_path: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    return subprocess.run([sys.executable, "-m", "moai_adk", "platform", "serve", "--port", "59996", "--data",
                           str(data)], env=env, capture_output=True, text=True, timeout=60)


def _deployed_folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    platform = Platform(data)
    platform.put_blob(hashlib.sha256(b"<h1>hi</h1>").hexdigest(), b"<h1>hi</h1>")
    platform.close()
    for name in ("meta.sqlite3-wal", "meta.sqlite3-shm"):
        (data / name).unlink(missing_ok=True)
    return data


@pytest.mark.parametrize("state", ["empty", "missing"])
def test_an_empty_or_missing_database_beside_blobs_refuses_to_start(tmp_path: Path, state: str) -> None:
    data = _deployed_folder(tmp_path)
    db = data / "meta.sqlite3"
    if state == "empty":
        db.write_bytes(b"")
    else:
        db.unlink()
    creds = tmp_path / "cfg" / "moai-adk" / "platform.json"
    creds.parent.mkdir(parents=True)
    creds.write_text('{"url": "http://127.0.0.1:59996", "token": "moai_the_old_admin_token"}\n')
    r = _serve(tmp_path, data)
    assert r.returncode == 1, r.stderr
    assert ("is empty" if state == "empty" else "is missing") in r.stderr and "not a new data folder" in r.stderr
    assert "Hint:" in r.stderr and "Restore" in r.stderr and f"mv {data} {data}.old" in r.stderr
    assert "moai_the_old_admin_token" in creds.read_text()  # the credentials file was left alone
    assert (db.stat().st_size == 0) if state == "empty" else not db.exists()


def test_a_read_only_database_is_a_clear_error(tmp_path: Path) -> None:
    data = _deployed_folder(tmp_path)
    db = data / "meta.sqlite3"
    subprocess.run(["chattr", "+i", str(db)], check=True)  # read-only even for root
    try:
        r = _serve(tmp_path, data)
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    assert r.returncode == 2, r.stderr  # a folder the user must fix, like an unwritable --data
    assert "read-only" in r.stderr and "This is a bug" not in r.stderr
    assert "Hint:" in r.stderr and "--data" in r.stderr
