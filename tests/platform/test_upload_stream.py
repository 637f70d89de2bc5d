"""Uploads stream to disk: a 1 GiB chunked blob and a 100 MB chunked batch keep the
server's memory flat (RSS growth < 64 MB) on both servers. The body is made by a
generator, never held whole by the test either."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningPlatform

API = "/_api/v1"
CHUNK = 1 << 20
GIB = 1 << 30


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


def pattern(total: int, seed: int) -> Iterator[bytes]:
    """``total`` deterministic bytes in 1 MiB chunks (each chunk differs)."""
    base = hashlib.sha256(str(seed).encode()).digest() * (CHUNK // 32)
    sent = 0
    i = 0
    while sent < total:
        n = min(CHUNK, total - sent)
        yield (i.to_bytes(8, "big") + base[8:])[:n]
        sent += n
        i += 1


def digest_of(chunks: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def server_pids(running: RunningPlatform) -> list[int]:
    """The processes serving the platform: the granian tree of ``platform serve --port``, or this
    process (uvicorn in a thread)."""
    serve = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and f"--port\x00{running.port}\x00".encode() in (entry / "cmdline").read_bytes():
                serve.append(int(entry.name))
        except OSError:
            continue
    if not serve:
        return [os.getpid()]
    pids = set(serve)
    for pid in serve:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids.update(int(c) for c in (task / "children").read_text().split())
    return sorted(pids)


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) << 10
        except OSError:
            pass
    return total


class PeakRss:
    """Samples the summed RSS of ``pids`` every 20 ms while the block runs."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.base = rss(pids)
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss(self.pids))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def test_a_1gib_chunked_upload_keeps_memory_flat(local_platform: RunningPlatform) -> None:
    digest = digest_of(pattern(GIB, 1))
    pids = server_pids(local_platform)
    with local_platform.client() as c, PeakRss(pids) as peak:
        r = c.put(f"{API}/blobs/{digest}", content=pattern(GIB, 1), timeout=300)
    assert r.status_code == 201, r.text
    assert r.json() == {"sha256": digest, "size": GIB, "created": True}
    assert peak.growth < 64 << 20, f"RSS grew by {peak.growth >> 20} MB (pids {pids})"
    stored = local_platform.platform.store.path(digest)
    assert stored.stat().st_size == GIB
    stored.unlink()
    assert not any((local_platform.data_dir / "blobs" / ".tmp").iterdir())


def test_a_100mb_chunked_batch_is_stored_blob_by_blob(local_platform: RunningPlatform) -> None:
    sizes = [(i % 7 + 1) * 700_000 + i for i in range(40)]  # 40 blobs, ~112 MB
    digests = [digest_of(pattern(n, 100 + i)) for i, n in enumerate(sizes)]

    def body() -> Iterator[bytes]:
        yield json.dumps([[d, n] for d, n in zip(digests, sizes, strict=True)]).encode() + b"\n"
        for i, n in enumerate(sizes):
            yield from pattern(n, 100 + i)

    with local_platform.client() as c, PeakRss(server_pids(local_platform)) as peak:
        r = c.post(f"{API}/blobs", content=body(), timeout=120)
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 40, "created": 40}
    assert peak.growth < 64 << 20, f"RSS grew by {peak.growth >> 20} MB"
    for d, n in zip(digests, sizes, strict=True):
        assert local_platform.platform.store.size(d) == n


def test_uploads_stream_while_the_body_arrives(local_platform: RunningPlatform) -> None:
    """The first blobs of a slow batch are on disk (verified, in temp files until the batch ends)
    before the client has sent the last one."""
    blobs = [os.urandom(50_000) for _ in range(3)]
    digests = [hashlib.sha256(b).hexdigest() for b in blobs]
    tmp = local_platform.data_dir / "blobs" / ".tmp"
    seen: list[int] = []

    def on_disk() -> int:
        return sum(f.stat().st_size for f in tmp.iterdir())

    def body() -> Iterator[bytes]:
        yield json.dumps([[d, len(b)] for d, b in zip(digests, blobs, strict=True)]).encode() + b"\n"
        yield blobs[0]
        yield blobs[1]
        deadline = time.monotonic() + 5
        while on_disk() < 100_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        seen.append(on_disk())
        assert not local_platform.platform.store.exists(digests[0])  # named only once the batch is whole
        yield blobs[2]

    with local_platform.client() as c:
        r = c.post(f"{API}/blobs", content=body())
    assert r.status_code == 200 and r.json() == {"stored": 3, "created": 3}
    assert seen == [100_000]
    assert all(local_platform.platform.store.exists(d) for d in digests) and on_disk() == 0
