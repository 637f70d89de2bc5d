"""scripts/ensure-postgres: leaves a running server alone, starts (and stops) an embedded one on another port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.db.conftest import SERVER

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=240,
                          env={**os.environ, **env})


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # not under pytest's tmp folder: that one is private to root and the server runs as another user
    folder = Path(tempfile.mkdtemp(prefix="moai-pg-"))
    folder.chmod(0o755)
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


def test_script_is_executable() -> None:
    assert os.access(SCRIPT, os.X_OK)


def test_running_server_is_left_alone(admin: psycopg.Connection) -> None:
    port = psycopg.conninfo.conninfo_to_dict(SERVER).get("port") or "5432"
    proc = script(MOAI_PG_PORT=str(port))
    assert proc.returncode == 0, proc.stderr
    assert "already answers" in proc.stdout


def test_starts_a_fresh_embedded_server_on_another_port_and_stops_it(data_dir: Path) -> None:
    port = free_port()
    env = {"MOAI_PG_PORT": str(port), "MOAI_PG_DIR": str(data_dir)}
    assert script("status", **env).returncode == 1
    proc = script(**env)
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "initdb" in proc.stdout and f"127.0.0.1:{port}" in proc.stdout
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=5) as conn:
            assert conn.execute("select current_setting('listen_addresses')").fetchone() == ("127.0.0.1",)
        again = script(**env)
        assert again.returncode == 0 and "already answers" in again.stdout
    finally:
        stop = script("stop", **env)
    assert stop.returncode == 0, stop.stderr
    assert "stopped" in stop.stdout
    assert script("status", **env).returncode == 1


def test_extra_settings_must_be_name_value_pairs(data_dir: Path) -> None:
    port = free_port()
    proc = script(MOAI_PG_PORT=str(port), MOAI_PG_DIR=str(data_dir), MOAI_PG_SETTINGS="fsync=off bogus")
    assert proc.returncode == 1
    assert "MOAI_PG_SETTINGS: 'bogus' is not a name=value pair" in proc.stderr
    assert not data_dir.exists()  # refused before initdb
