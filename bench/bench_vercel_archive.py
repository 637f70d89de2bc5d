"""Vercel archive deploys (`--archive=tgz`) on the 20,000-file / ~210 MB bench site.

    .venv/bin/python bench/bench_vercel_archive.py [--latency 0.02] [--concurrency 16] [--rounds 3]

The Vercel fake (tests/fakes/vercel.py, spec checks off) runs on a real
loopback HTTP server in a child process and adds ``--latency`` seconds to
every request. Figures, each with its baseline measured in the same run:

1. building the archive (tar + gzip into its parts, every input re-hashed)
   against ``tar czf`` of the same folder, best of ``--rounds`` each
   (pass: <= 1.5x);
2. a cold archive deploy (nothing on the fake, no local archive cache)
   against a cold file-by-file deploy of the same output at the same
   concurrency (pass: archive >= 2x faster). Vercel refuses more than 15,000
   files sent one by one, so for this baseline only the limit is lifted in
   the fake and in the client; the 20,000 uploads are what file-by-file
   would cost;
3. redeploys with nothing changed, with the local archive cache and without
   it (a fresh CI checkout): upload requests (pass: 0 for both);
4. the peak RSS of the cold archive deploy (the high-water mark is reset
   just before it): the archive never sits in memory whole.

Exits non-zero when a pass condition fails.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sitegen import make_site  # noqa: E402

from moai_adk.artifacts.snapshot import Snapshot, take_snapshot  # noqa: E402
from moai_adk.providers.base import DeployTarget, ProviderContext  # noqa: E402
from moai_adk.providers.vercel import VercelProvider, _archive, _deploy  # noqa: E402
from tests.fakes import Faults, serve_handler  # noqa: E402
from tests.fakes.vercel import FakeVercel  # noqa: E402

PREVIEW = DeployTarget(environment="preview")


def _child(latency: float, max_files: int | None, conn: Any) -> None:
    fake = FakeVercel(build_steps=0, faults=Faults(latency=latency))
    fake.check_spec = False  # the spec checks are covered by tests; here only the client is timed
    fake.max_files = max_files

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/_bench/state":
            with fake.lock:
                ok = [r for r in fake.requests if r.path == "/v2/files" and r.status == 200]
                return httpx.Response(200, json={"uploads": len(ok), "deployments": len(fake.deployments),
                                                 "bytes": sum(len(r.body) for r in ok)})
        return fake.handle(request)

    with serve_handler(handle) as url:
        conn.send(url)
        conn.recv()


@contextmanager
def served(latency: float, max_files: int | None = 15_000) -> Iterator[tuple[str, Any]]:
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(latency, max_files, child), daemon=True)
    proc.start()
    url = parent.recv()

    def state() -> dict[str, int]:
        with httpx.Client(headers={"Authorization": "Bearer test-token"}) as c:
            return dict(json.loads(c.get(f"{url}/_bench/state").content))

    try:
        yield url, state
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


def provider(root: Path, url: str, concurrency: int, archive: str | None) -> VercelProvider:
    root.mkdir(parents=True, exist_ok=True)
    env = {"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": url}
    return VercelProvider(ProviderContext(root=root, environ=env, project_name="bench", concurrency=concurrency,
                                          settings={"archive": archive} if archive else {}))


def peak_rss_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_build(site: Path, snap: Snapshot, rounds: int, work: Path) -> bool:
    """Rounds alternate between the two, so both see the same load on a shared machine."""
    manifest = _deploy.build_manifest(snap, work, VercelProvider.limits)
    out = work / "tar-czf.tgz"
    tars, ours_all = [], []
    for _ in range(rounds):
        tars.append(timed(lambda: subprocess.run(["tar", "czf", str(out), "-C", str(site), "."], check=True)))
        ours_all.append(timed(lambda: _archive.build(manifest.entries, work / "build")))
    tar, ours = min(tars), min(ours_all)
    archive = _archive.build(manifest.entries, work / "build")
    ratio = ours / tar
    verdict = "PASS" if ratio <= 1.5 else "FAIL"
    print(f"build archive: {ours:.2f} s ({len(archive.parts)} part(s), {archive.size / 1e6:.1f} MB); "
          f"`tar czf` {tar:.2f} s ({out.stat().st_size / 1e6:.1f} MB); ratio {ratio:.2f}x (target <= 1.5x)  [{verdict}]")
    return verdict == "PASS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", default=str(ROOT / "bench" / ".work"))
    args = parser.parse_args()
    site = make_site(Path(args.work) / f"site-{args.files}-{args.mb}", args.files, args.mb)
    snap = take_snapshot(site, VercelProvider.hash_algorithms, limits=VercelProvider.limits, platform="vercel")
    print(f"site: {site} ({len(snap.files):,} files, {snap.total_bytes / 1e6:.0f} MB); fake latency "
          f"{args.latency * 1000:.0f} ms per request, concurrency {args.concurrency}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="moai-bench-archive-") as tmp:
        work = Path(tmp)
        ok &= bench_build(site, snap, args.rounds, work)

        with served(args.latency) as (url, state):
            p = provider(work / "archive", url, args.concurrency, None)  # automatic: over 15,000 files
            p.link()
            peak_rss_reset()
            before = peak_rss_mb()
            t = time.perf_counter()
            d = p.deploy(snap, PREVIEW)
            cold = time.perf_counter() - t
            peak = peak_rss_mb()
            st = state()
            print(f"cold archive deploy: {cold:.2f} s, {st['uploads']} upload request(s), {st['bytes'] / 1e6:.1f} MB "
                  f"sent; peak RSS {peak:.0f} MB ({peak - before:+.0f} MB over the {before:.0f} MB before it)")
            print(f"  {d.extra['upload_note']}")
            for label, wipe in (("with the local archive cache", False), ("without it (fresh checkout)", True)):
                if wipe:
                    shutil.rmtree(work / "archive" / ".moai")
                t = time.perf_counter()
                again = p.deploy(snap, PREVIEW)
                seconds = time.perf_counter() - t
                sent = state()["uploads"] - st["uploads"]
                verdict = "PASS" if sent == 0 and again.stats.files_uploaded == 0 else "FAIL"
                ok &= verdict == "PASS"
                print(f"redeploy, nothing changed, {label}: {sent} upload requests, {seconds:.2f} s  [{verdict}]")
            p.close()

        # the baseline: every file its own upload (the 15,000-file limit lifted for this measurement only)
        limit = _deploy.FILE_LIMIT
        _deploy.FILE_LIMIT = 10 ** 9
        try:
            with served(args.latency, max_files=None) as (url, state):
                p = provider(work / "files", url, args.concurrency, "off")
                p.link()
                t = time.perf_counter()
                p.deploy(snap, PREVIEW)
                files = time.perf_counter() - t
                print(f"cold file-by-file deploy: {files:.2f} s, {state()['uploads']:,} upload requests")
                p.close()
        finally:
            _deploy.FILE_LIMIT = limit
        speedup = files / cold
        verdict = "PASS" if speedup >= 2 else "FAIL"
        ok &= verdict == "PASS"
        print(f"archive vs file by file, cold, same concurrency: {speedup:.1f}x faster (target >= 2x)  [{verdict}]")
    print("\nall checks passed" if ok else "\nSOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
