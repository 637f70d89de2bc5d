"""Firebase Hosting redeploy of a 10,000-file site after changing one file.

    .venv/bin/python bench/bench_firebase.py [--files 10000] [--mb 20]

Runs the stateful Hosting fake (tests/fakes/firebase.py) on a real loopback
HTTP server and deploys the synthetic site twice with the hash cache on disk:
cold (every file gzipped, hashed and uploaded), then after changing one file.
Counts what the redeploy sent (uploads, populateFiles calls) and how many
times a file was gzipped (the deterministic gzip is the expensive part of the
``gzip-sha256`` hash), and prints same-run ratios: the warm snapshot against a
bare scandir+stat walk of the same tree, and warm against cold.
Exits non-zero if the redeploy sends more than one file, makes more than
ceil(N/1000) populateFiles calls, or gzips any unchanged file.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sitegen import make_site  # noqa: E402

from moai_adk.artifacts import hashing  # noqa: E402
from moai_adk.artifacts.hashcache import HashCache  # noqa: E402
from moai_adk.artifacts.snapshot import take_snapshot, walk  # noqa: E402
from moai_adk.providers.base import DeployTarget, ProviderContext  # noqa: E402
from moai_adk.providers.firebase import FirebaseProvider  # noqa: E402
from tests.fakes.firebase import FakeFirebase  # noqa: E402

_gzip_calls = 0
_lock = threading.Lock()
_real_gzip = hashing.deterministic_gzip


def _counting_gzip(data: bytes) -> bytes:
    global _gzip_calls
    with _lock:
        _gzip_calls += 1
    return _real_gzip(data)


hashing.deterministic_gzip = _counting_gzip  # counts both hashing and upload-time gzips


def run(provider: FirebaseProvider, out: Path, cache_path: Path, fake: FakeFirebase) -> dict[str, float]:
    global _gzip_calls
    _gzip_calls = 0
    calls0, uploads0 = len(fake.calls), len(fake.uploaded)
    t0 = time.perf_counter()
    snap = take_snapshot(out, ("gzip-sha256",), cache=HashCache(cache_path))
    t1 = time.perf_counter()
    d = provider.deploy(snap, DeployTarget(environment="preview", branch="bench"))
    t2 = time.perf_counter()
    new = fake.calls[calls0:]
    return {"snapshot_s": t1 - t0, "deploy_s": t2 - t1, "total_s": t2 - t0, "hashed": snap.hashed,
            "gzip_calls": _gzip_calls, "uploads": len(fake.uploaded) - uploads0,
            "populate_calls": sum(1 for c in new if c.path.endswith(":populateFiles")), "requests": len(new),
            "files_uploaded": d.stats.files_uploaded}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--mb", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="moai-bench-fb-") as tmp:
        root = Path(tmp)
        out = make_site(root / "dist", files=args.files, total_mb=args.mb)
        n = len(walk(out))
        fake = FakeFirebase()
        fake.check_spec = False  # the fake's spec checks are covered by tests; here only the client is timed
        with fake.serve():
            ctx = ProviderContext(root=root, settings={"site": "demo-site"},
                                  environ=fake.env())
            provider = FirebaseProvider(ctx)
            cache = root / ".moai" / "cache" / "hashes.bin"
            cold = run(provider, out, cache, fake)
            changed = out / "index.html"
            changed.write_text(changed.read_text() + "<p>changed</p>")
            warm = run(provider, out, cache, fake)
            t = time.perf_counter()
            for _ in range(3):
                walk(out)
            walk_s = (time.perf_counter() - t) / 3

    print(f"site: {n:,} files, ~{args.mb} MB; fake Hosting API on a loopback HTTP server")
    print(f"{'':18}{'cold':>12}{'redeploy':>12}")
    for key in ("snapshot_s", "deploy_s", "total_s", "hashed", "gzip_calls", "uploads", "populate_calls", "requests"):
        fmt = "{:>12.3f}" if key.endswith("_s") else "{:>12,.0f}"
        print(f"{key:18}" + fmt.format(cold[key]) + fmt.format(warm[key]))
    print(f"baseline walk (scandir+stat, same tree): {walk_s:.3f} s")
    print(f"ratio redeploy snapshot / walk : {warm['snapshot_s'] / walk_s:.2f}x")
    print(f"ratio redeploy total / cold total: {warm['total_s'] / cold['total_s']:.3f}")
    print(f"ratio redeploy gzip calls / cold gzip calls: {warm['gzip_calls']:.0f}/{cold['gzip_calls']:.0f}")
    limit = math.ceil(n / 1000)
    ok = warm["uploads"] == 1 and warm["populate_calls"] <= limit and warm["gzip_calls"] <= 2 and warm["hashed"] == 1
    print(f"checks: 1 upload -> {warm['uploads']:.0f}; populateFiles <= {limit} -> {warm['populate_calls']:.0f}; "
          f"gzip calls <= 2 (1 hash + 1 upload) -> {warm['gzip_calls']:.0f}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
