"""`moai-adk platform serve|status` and first-start token handling."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from moai_adk.platform.paths import CREDENTIALS_ENV
from moai_adk.platform.server import prepare
from moai_adk.platform.service import Platform
from tests.platform.conftest import wait_healthy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str], **kw) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "moai_adk", *args], env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw)


def test_prepare_mints_once_and_follows_the_port(tmp_path: Path) -> None:
    env = {CREDENTIALS_ENV: str(tmp_path / "creds.json")}
    first = prepare(tmp_path / "data", "http://127.0.0.1:1111", env)
    assert first.created and first.token
    again = prepare(tmp_path / "data", "http://127.0.0.1:2222", env)
    assert not again.created and again.token == first.token
    assert json.loads((tmp_path / "creds.json").read_text()) == {  # the same platform: its entry moves
        "url": "http://127.0.0.1:2222", "token": first.token,
        "platforms": {"http://127.0.0.1:2222": {"token": first.token}}}
    platform = Platform(tmp_path / "data")
    assert platform.role_for(first.token) == "admin"
    platform.close()
    # a different data folder does not know that token: a new one is minted and saved
    other = prepare(tmp_path / "other", "http://127.0.0.1:2222", env)
    assert other.created and other.token != first.token


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_serve_writes_credentials_and_serves(tmp_path: Path, server: str) -> None:
    port = free_port()
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = cli("platform", "serve", "--port", str(port), "--server", server, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        creds = tmp_path / "cfg" / "moai-adk" / "platform.json"
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        saved = json.loads(creds.read_text())
        assert saved["url"] == url
        who = httpx.get(f"{url}/_api/v1/whoami", headers={"authorization": f"Bearer {saved['token']}"})
        assert who.json()["role"] == "admin" and who.json()["sites"] is None
        assert (tmp_path / "data" / "moai-adk" / "platform" / "meta.sqlite3").exists()
        status = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "status", "--json"],
                                env={**os.environ, **env}, capture_output=True, text=True, timeout=30)
        info = json.loads(status.stdout)
        assert status.returncode == 0 and info["running"] and info["token_ok"] and info["url"] == url
        taken = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "serve", "--port", str(port)],
                               env={**os.environ, **env}, capture_output=True, text=True, timeout=30)
        assert taken.returncode == 2
        assert f"Port {port}" in taken.stderr and "--port" in taken.stderr
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert url in err and str(creds) in err and server in err


def test_status_when_nothing_runs(tmp_path: Path) -> None:
    env = {**os.environ, "MOAI_PLATFORM_URL": f"http://127.0.0.1:{free_port()}",
           "XDG_CONFIG_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "status"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "no local platform at" in out.stderr and "platform serve" in out.stderr


def test_unwritable_data_folder_names_the_flag(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    out = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "serve", "--port", str(free_port()),
                          "--data", str(blocker / "data")], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--data" in out.stderr


def test_token_command_mints_a_working_token(local_platform, tmp_path: Path) -> None:
    env = {**os.environ, **local_platform.environ()}
    out = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "token", "--role", "viewer", "--json"],
                         env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    minted = json.loads(out.stdout)
    assert minted["role"] == "viewer" and minted["url"] == local_platform.url
    who = httpx.get(f"{local_platform.url}/_api/v1/whoami", headers={"authorization": f"Bearer {minted['token']}"})
    assert who.json()["role"] == "viewer"
    # a viewer cannot mint
    env["MOAI_PLATFORM_TOKEN"] = minted["token"]
    refused = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "token"], env=env,
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 1 and "MOAI_PLATFORM_TOKEN" in refused.stderr
    dry = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "token", "--dry-run"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert dry.returncode == 0 and "would mint a deployer token" in dry.stdout


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_stopping_closes_the_database(tmp_path: Path, server: str) -> None:
    """The shutdown hook (RSGI ``__rsgi_del__`` on granian, the ASGI lifespan on uvicorn) closes
    the platform: SQLite folds the WAL back and removes it only when the last connection closes."""
    port = free_port()
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    data = tmp_path / "data"
    proc = cli("platform", "serve", "--port", str(port), "--server", server, "--data", str(data), env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        token = json.loads((tmp_path / "cfg" / "moai-adk" / "platform.json").read_text())["token"]
        made = httpx.post(f"{url}/_api/v1/sites", json={"name": "closing"},
                          headers={"authorization": f"Bearer {token}"})
        assert made.status_code == 201
        assert (data / "meta.sqlite3-wal").exists()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert not (data / "meta.sqlite3-wal").exists()
