"""One site's heavy work does not hold up the others (both servers): a big finalize does not
block another site's finalize, and building the indexes of big deployments (cycling their
previews) happens off the event loop, so another site keeps answering fast."""

from __future__ import annotations

import hashlib
import random
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from moai_adk.platform.app import INDEX_ENV
from tests.conftest import RunningPlatform, start_platform
from tests.platform.conftest import start_granian

API = "/_api/v1"


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def local_platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """Both servers, with 16 MB for deployment indexes (three of the 10,000-file ones below)."""
    tmp = tmp_path_factory.mktemp(f"isolation-{request.param}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(INDEX_ENV, "16")
        with start_granian(tmp) if request.param == "granian" else start_platform(tmp) as running:
            mp.delenv(INDEX_ENV)
            if request.param == "uvicorn":  # in this process: the server's own Platform
                running.platform.views.budget = 16 << 20
            yield running


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def words_text(seed: int, size: int) -> bytes:
    """Text that compresses, but not trivially (brotli and gzip have work to do)."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(4000)]
    out: list[str] = []
    n = 0
    while n < size:
        w = rng.choice(vocab)
        out.append(w)
        n += len(w) + 1
    return " ".join(out).encode()[:size]


def upload(c: httpx.Client, site: str, files: dict[str, bytes]) -> str:
    c.post(f"{API}/sites", json={"name": site})
    created = c.post(f"{API}/sites/{site}/deploys", json={"files": {p: sha(b) for p, b in files.items()}}).json()
    by_sha = {sha(b): b for b in files.values()}
    for h in created["required"]:
        assert c.put(f"{API}/blobs/{h}", content=by_sha[h]).status_code in (200, 201)
    return str(created["id"])


def test_a_big_finalize_does_not_block_another_sites(local_platform: RunningPlatform) -> None:
    base = words_text(1, 1 << 20)
    big = {f"page{i}.html": f"{i}".encode() + base[i * 9973:] + base[:i * 9973] for i in range(24)}
    with local_platform.client() as c:
        big_id = upload(c, local_platform.new_site("bigfin"), big)
        small_id = upload(c, local_platform.new_site("smallfin"), {"index.html": b"<h1>small</h1>"})
        done: dict[str, float] = {}

        def finalize_big() -> None:
            with local_platform.client() as c2:
                assert c2.post(f"{API}/deploys/{big_id}/finalize", timeout=120).json()["state"] == "ready"
            done["big"] = time.monotonic()

        thread = threading.Thread(target=finalize_big)
        thread.start()
        time.sleep(0.3)  # the big one holds its site's lock now
        start = time.monotonic()
        r = c.post(f"{API}/deploys/{small_id}/finalize")
        small_took = time.monotonic() - start
        big_running = "big" not in done
        thread.join()
    assert r.status_code == 200 and r.json()["state"] == "ready"
    assert big_running, "the big finalize ended too soon to show anything; make it bigger"
    assert small_took < 1.0, f"the 1-file finalize waited {small_took:.2f} s behind another site's"


def test_cycling_big_previews_does_not_slow_other_sites(local_platform: RunningPlatform) -> None:
    blob = b"<p>same</p>"
    files = {f"d{i % 40:02d}/s{i % 25:02d}/page-{i:05d}.html": blob for i in range(10_000)}
    with local_platform.client() as c:
        site = local_platform.new_site("bigview")
        ids = []
        for n in range(17):  # more indexes than the cache keeps (by count before, by memory now)
            ids.append(upload(c, site, {**files, "index.html": f"<h1>{n}</h1>".encode()}))
            assert c.post(f"{API}/deploys/{ids[-1]}/finalize").status_code == 200
    other = local_platform.new_site("quiet")
    local_platform.deploy(other, {"index.html": b"<h1>quiet</h1>"})
    stop = threading.Event()
    cycled = [0]

    def cycle() -> None:
        with httpx.Client(base_url=local_platform.url, timeout=60) as h:
            while not stop.is_set():
                for deploy_id in ids:
                    assert h.get(f"/_deploys/{deploy_id}/").status_code == 200
                    cycled[0] += 1

    def probe(n: int) -> list[float]:
        out = []
        with httpx.Client(base_url=local_platform.url, timeout=10) as h:
            for _ in range(n):
                t = time.perf_counter()
                assert h.get(f"/_sites/{other}/").content == b"<h1>quiet</h1>"
                out.append(time.perf_counter() - t)
                time.sleep(0.01)
        return out

    quiet = statistics.median(probe(50))
    cyclers = [threading.Thread(target=cycle) for _ in range(2)]
    for t in cyclers:
        t.start()
    try:
        time.sleep(0.5)
        busy = probe(100)
    finally:
        stop.set()
        for t in cyclers:
            t.join()
    assert cycled[0] > len(ids), "the previews were not cycled"
    median = statistics.median(busy)
    assert median < max(0.02, quiet * 5), f"median {median * 1000:.1f} ms while indexes were built (quiet {quiet * 1000:.1f} ms)"
