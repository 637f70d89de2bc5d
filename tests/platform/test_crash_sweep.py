"""``kill -9`` during a blob write leaves a temp file; the next start sweeps it (both servers)."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from moai_adk.platform.store import STALE_TMP_SECONDS, BlobStore
from tests.platform.conftest import start_serve


def test_sweep_removes_dead_writers_files_and_keeps_live_ones(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    live = store.tmp / f"tmp-{os.getpid()}-1-2-{'a' * 64}"
    dead_pid = 2 ** 22 + 12345  # above the kernel's pid_max: never a running process
    dead = store.tmp / f"tmp-{dead_pid}-1-2-{'b' * 64}"
    old = store.tmp / f"tmp-{os.getpid()}-3-4-{'c' * 64}"
    stray = store.tmp / "something-else"
    for f in (live, dead, old, stray):
        f.write_bytes(b"partial")
    os.utime(old, (time.time() - STALE_TMP_SECONDS - 60,) * 2)
    again = BlobStore(tmp_path / "blobs")
    assert again.swept == 3
    assert sorted(p.name for p in store.tmp.iterdir()) == [live.name]


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_kill_9_during_an_upload_leaves_nothing_after_restart(tmp_path: Path, server: str) -> None:
    tmp_dir = tmp_path / "platform-data" / "blobs" / ".tmp"
    with start_serve(tmp_path, "--server", server, stop=signal.SIGKILL) as (running, proc):
        sock = socket.create_connection(("127.0.0.1", running.port), timeout=10)
        sock.sendall(f"PUT /_api/v1/blobs/{'d' * 64} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {running.token}"
                     f"\r\nContent-Length: {64 << 20}\r\n\r\n".encode() + b"z" * (3 << 20))
        deadline = time.monotonic() + 10
        while not any(f.stat().st_size > 0 for f in tmp_dir.iterdir()):
            assert time.monotonic() < deadline, "the upload never reached the disk"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # the whole server, mid-write
        proc.wait(10)
        sock.close()
    left = list(tmp_dir.iterdir())
    assert left and all(f.name.startswith("tmp-") for f in left)  # what a crash leaves
    with start_serve(tmp_path, "--server", server):
        assert list(tmp_dir.iterdir()) == []
