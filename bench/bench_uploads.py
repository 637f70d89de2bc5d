"""Upload throughput and resilience of the Vercel and Netlify adapters.

    .venv/bin/python bench/bench_uploads.py [--platform vercel|netlify|both] [--files 5000]
        [--latency 0.02] [--concurrency 16] [--flaky-files 200]

The stateful API fakes (tests/fakes/) run on a real loopback HTTP server in a
child process (so the fake's own CPU time does not compete with the client
for the interpreter lock), adding ``--latency`` seconds to every request, so
the waiting is real. Three
scenarios per platform, each printed with a ratio measured in the same run:

1. cold deploy of ``--files`` files the API lacks: measured time against the
   ideal ``files x latency / concurrency`` (pass: rate >= 70% of ideal);
2. redeploy with nothing changed: upload requests made (pass: 0);
3. ``--flaky-files`` new files while 30% of upload requests are answered 429
   (Retry-After: 1) or 503, with real sleeps: every file must arrive, exactly
   one deployment must exist, and the time is shown against the same upload
   without faults.

Exits non-zero when a pass condition fails.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
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

from moai_adk.artifacts.snapshot import Snapshot, take_snapshot  # noqa: E402
from moai_adk.providers.base import DeployTarget, Provider, ProviderContext  # noqa: E402
from moai_adk.providers.netlify import NetlifyProvider  # noqa: E402
from moai_adk.providers.vercel import VercelProvider  # noqa: E402
from tests.fakes import FakeApi, Faults, serve_handler  # noqa: E402
from tests.fakes.netlify import FakeNetlify  # noqa: E402
from tests.fakes.vercel import FakeVercel  # noqa: E402

# file by file on Vercel too: above 1,000 missing files its adapter would send one archive instead
# (bench_vercel_archive.py measures that mode)
PREVIEW = DeployTarget(environment="preview", archive="off")
UPLOAD_PATHS = {"vercel": (r"^/v2/files$",), "netlify": (r"^/deploys/.+/files/",)}


def make_files(root: Path, n: int, tag: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        folder = root / f"d{i % 40:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{i:05d}.html").write_text(f"<p>{tag} file {i}</p>\n" + "x" * (i % 300))
    return root


def make_fake(platform: str, faults: Faults) -> FakeApi:
    if platform == "vercel":
        fake: FakeApi = FakeVercel(build_steps=0, faults=faults)
    else:
        fake = FakeNetlify(diff_polls=0, process_polls=0, faults=faults)
    fake.check_spec = False  # the fakes' spec checks are covered by tests; here only the client is timed
    return fake


def make_provider(platform: str, root: Path, url: str, concurrency: int) -> Provider:
    if platform == "vercel":
        env = {"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": url}
        cls: type[Provider] = VercelProvider
    else:
        env = {"NETLIFY_AUTH_TOKEN": "test-token", "MOAI_NETLIFY_API_URL": url}
        cls = NetlifyProvider
    return cls(ProviderContext(root=root, environ=env, project_name="bench", concurrency=concurrency))


def _state(fake: FakeApi, platform: str) -> dict[str, Any]:
    pattern = re.compile(UPLOAD_PATHS[platform][0])
    blobs: dict[str, bytes] = fake.blobs  # type: ignore[attr-defined]
    deployments = fake.deployments if platform == "vercel" else fake.deploys  # type: ignore[attr-defined]
    return {"requests": len(fake.requests),
            "uploads_ok": sum(1 for r in fake.requests if pattern.search(r.path) and r.status == 200),
            "blobs": sorted(blobs), "deployments": len(deployments), "injected": fake.faults.injected}


def _child(platform: str, faults: Faults, conn: Any) -> None:
    fake = make_fake(platform, faults)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/_bench/state":
            with fake.lock:
                return httpx.Response(200, json=_state(fake, platform))
        return fake.handle(request)

    with serve_handler(handle) as url:
        conn.send(url)
        conn.recv()  # block until the parent is done


@contextmanager
def served(platform: str, faults: Faults) -> Iterator[tuple[str, Any]]:
    """Run a fake in a child process; yields (API base URL, state())."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(platform, faults, child), daemon=True)
    proc.start()
    root = parent.recv()
    base = root + (FakeNetlify.base_path if platform == "netlify" else "")

    def state() -> dict[str, Any]:
        with httpx.Client(headers={"Authorization": "Bearer test-token"}) as c:
            return json.loads(c.get(f"{root}/_bench/state").content)

    try:
        yield base, state
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


def deploy_timed(p: Provider, snap: Snapshot) -> tuple[float, Any]:
    t = time.perf_counter()
    d = p.deploy(snap, PREVIEW)
    return time.perf_counter() - t, d


def run_platform(platform: str, args: argparse.Namespace, work: Path) -> bool:
    ok = True
    print(f"\n== {platform} (latency {args.latency * 1000:.0f} ms per request, concurrency {args.concurrency}) ==")
    # 1 + 2: throughput and no-op redeploy
    with served(platform, Faults(latency=args.latency)) as (url, state):
        root = work / f"{platform}-main"
        out = make_files(root / "dist", args.files, platform)
        p = make_provider(platform, root, url, args.concurrency)
        p.link()
        snap = take_snapshot(out, p.hash_algorithms, limits=p.limits, platform=platform)
        seconds, d = deploy_timed(p, snap)
        sent = state()["uploads_ok"]
        ideal = args.files * args.latency / args.concurrency
        ratio = ideal / seconds
        verdict = "PASS" if ratio >= 0.70 and sent == args.files else "FAIL"
        ok &= verdict == "PASS"
        print(f"cold deploy: {sent} files uploaded in {seconds:.2f} s; ideal {ideal:.2f} s "
              f"({args.files} x {args.latency * 1000:.0f} ms / {args.concurrency}); rate = {ratio:.0%} of ideal  [{verdict}]")
        before = state()
        seconds2, d2 = deploy_timed(p, take_snapshot(out, p.hash_algorithms, limits=p.limits, platform=platform))
        after = state()
        sent2 = after["uploads_ok"] - before["uploads_ok"]
        verdict = "PASS" if sent2 == 0 and d2.stats.files_uploaded == 0 else "FAIL"
        ok &= verdict == "PASS"
        print(f"redeploy, nothing changed: {sent2} upload requests, {after['requests'] - before['requests']} "
              f"requests in all, {seconds2:.2f} s ({seconds2 / seconds:.1%} of the cold deploy)  [{verdict}]")
        p.close()  # type: ignore[attr-defined]
    # 3: flaky uploads, real sleeps; baseline = the same upload without faults
    timings = {}
    for label, faults in (("clean", Faults(latency=args.latency)),
                          ("flaky", Faults(latency=args.latency, rate_429=0.2, rate_503=0.1, retry_after=1,
                                           paths=UPLOAD_PATHS[platform]))):
        with served(platform, faults) as (url, state):
            root = work / f"{platform}-{label}"
            out = make_files(root / "dist", args.flaky_files, f"{platform}-{label}")
            p = make_provider(platform, root, url, args.concurrency)
            p.link()
            snap = take_snapshot(out, p.hash_algorithms, limits=p.limits, platform=platform)
            seconds, d = deploy_timed(p, snap)
            timings[label] = seconds
            p.close()  # type: ignore[attr-defined]
            if label == "flaky":
                st = state()
                blobs = set(st["blobs"])
                present = sum(1 for f in snap.files if f.hashes["sha1"] in blobs)
                count = st["deployments"]
                verdict = "PASS" if present == len(snap.files) and count == 1 and d.state == "ready" else "FAIL"
                ok &= verdict == "PASS"
                print(f"flaky uploads: {st['injected']} of {st['uploads_ok'] + st['injected']} upload "
                      f"answers were 429/503; {present}/{len(snap.files)} files present, {count} deployment(s); "
                      f"{seconds:.2f} s vs {timings['clean']:.2f} s without faults "
                      f"({seconds / timings['clean']:.1f}x)  [{verdict}]")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=["vercel", "netlify", "both"], default="both")
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--flaky-files", type=int, default=200)
    args = parser.parse_args()
    platforms = ["vercel", "netlify"] if args.platform == "both" else [args.platform]
    with tempfile.TemporaryDirectory(prefix="moai-bench-uploads-") as tmp:
        ok = all([run_platform(p, args, Path(tmp)) for p in platforms])
    print("\nall checks passed" if ok else "\nSOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
