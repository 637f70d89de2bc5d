"""``each_server``: the platform on both servers it runs on, one per test module.

* ``uvicorn``: the ASGI entry point, in-process (``tests.conftest.start_platform``);
* ``granian``: the real ``moai-adk platform serve --server granian`` subprocess
  (the RSGI entry point, what users run).

Both yield a ``RunningPlatform``; for granian, ``.platform`` is a ``Platform``
opened on the server's data folder for read-only peeking at the store and the
database (its in-memory pointers are not the server's).

A module runs every test on both with::

    @pytest.fixture(scope="module")
    def local_platform(each_server):
        return each_server
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from moai_adk.platform.paths import CREDENTIALS_ENV
from moai_adk.platform.service import Platform
from tests.conftest import RunningPlatform, start_platform


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    """Wait until the platform at ``url`` answers its health route; fail with its stderr
    when the process exits or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/_api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the platform did not start: " + (proc.stderr.read() if proc.stderr else ""))
        time.sleep(0.05)


@contextmanager
def start_serve(tmp: Path, *args: str, stop: signal.Signals = signal.SIGINT,
                group: bool = True) -> Iterator[tuple[RunningPlatform, subprocess.Popen[str]]]:
    """``moai-adk platform serve [args]`` on a free port until the block exits; yields the running
    platform and its process. ``stop`` is sent to the process group (``group``) or the process."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp / "platform-data"
    creds = tmp / "config" / "platform.json"
    env = {**os.environ, CREDENTIALS_ENV: str(creds)}
    proc = subprocess.Popen([sys.executable, "-m", "moai_adk", "platform", "serve",
                             "--port", str(port), "--data", str(data_dir), *args], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    peek: Platform | None = None
    try:
        wait_healthy(url, proc)
        token = json.loads(creds.read_text())["token"]
        peek = Platform(data_dir)
        yield RunningPlatform(url=url, token=token, data_dir=data_dir, credentials=creds, platform=peek,
                              port=port), proc
    finally:
        if proc.poll() is None:
            if group:
                os.killpg(proc.pid, stop)
            else:
                proc.send_signal(stop)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
        proc.stderr_text = err  # type: ignore[attr-defined]  # what the server printed, for checks
        if peek is not None:
            peek.close()


@contextmanager
def start_granian(tmp: Path, *args: str) -> Iterator[RunningPlatform]:
    """``moai-adk platform serve --server granian [args]`` on a free port until the block exits."""
    with start_serve(tmp, "--server", "granian", *args) as (running, proc):
        yield running
    assert "granian" in proc.stderr_text, proc.stderr_text  # type: ignore[attr-defined]


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def each_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    tmp = tmp_path_factory.mktemp(f"platform-{request.param}")
    starter = start_granian if request.param == "granian" else start_platform
    with starter(tmp) as running:
        yield running
