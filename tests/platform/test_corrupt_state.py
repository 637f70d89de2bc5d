"""A damaged metadata database stops `platform serve` with a clear error and touches nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
