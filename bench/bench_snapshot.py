"""Snapshot speed against same-run baselines.

    .venv/bin/python bench/bench_snapshot.py [--files 20000] [--mb 200] [--platform-url URL]

Prints, for a synthetic site (see sitegen.py):
- cold snapshot (hash every file, SHA-256) vs `find -type f -print0 | xargs -0 -P2 sha256sum`
  (target: ratio <= 1.2);
- warm snapshot after changing one file (hash cache) vs a bare os.scandir walk with stat
  (target: ratio <= 2.0);
- with --platform-url (and MOAI_PLATFORM_TOKEN) or a running local platform: the whole redeploy
  after changing one file (target: < 2 s, exactly one blob uploaded).
Each figure is the best of several runs (least disturbed by other load); the OS page cache is warm for both sides.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sitegen import make_site, tree_bytes  # noqa: E402

from moai_adk.artifacts.exclude import deploy_filter  # noqa: E402
from moai_adk.artifacts.hashcache import HashCache  # noqa: E402
from moai_adk.artifacts.snapshot import take_snapshot  # noqa: E402
from moai_adk.providers.vercel import VercelProvider  # noqa: E402

# what `moai-adk deploy` leaves out: for the local platform, and for Vercel (its client's defaults)
EXCLUDE = deploy_filter()
VERCEL_EXCLUDE = deploy_filter(VercelProvider.default_ignores)


def timeit(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bare_walk(root: str) -> int:
    n = 0
    stack = [root]
    while stack:
        for e in os.scandir(stack.pop()):
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            else:
                e.stat(follow_symlinks=False)
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--work", default=str(Path(__file__).resolve().parent / ".work"))
    args = ap.parse_args()

    site = make_site(Path(args.work) / f"site-{args.files}-{args.mb}", args.files, args.mb)
    nbytes = tree_bytes(site)
    print(f"site: {site} ({args.files:,} files, {nbytes / 1e6:.0f} MB)")

    def sha256sum() -> None:
        subprocess.run(f"cd {site} && find . -type f -print0 | xargs -0 -P2 sha256sum > /dev/null",
                       shell=True, check=True)

    sha256sum()  # warm the page cache
    base_hash = timeit(sha256sum, args.repeat)
    cold = timeit(lambda: take_snapshot(site, ("sha256",), exclude=EXCLUDE), args.repeat)
    print(f"cold snapshot (sha256)       {cold:7.3f} s   baseline xargs -P2 sha256sum {base_hash:7.3f} s"
          f"   ratio {cold / base_hash:5.2f}  (target <= 1.20)")

    cold_both = timeit(lambda: take_snapshot(site, ("sha1", "sha256"), exclude=VERCEL_EXCLUDE), max(1, args.repeat // 2))
    print(f"cold snapshot (sha1+sha256)  {cold_both:7.3f} s   ratio {cold_both / base_hash:5.2f}  (informational)")

    with tempfile.TemporaryDirectory() as tmp:
        cache_path = Path(tmp) / "hashes.bin"
        take_snapshot(site, ("sha256",), cache=HashCache(cache_path), exclude=EXCLUDE)
        victim = next(p for p in sorted(site.rglob("*.html")) if p.name != "index.html")
        original = victim.read_bytes()
        counter = [0]

        def warm() -> None:
            counter[0] += 1
            victim.write_bytes(original + f"<!-- {counter[0]} -->".encode())
            snap = take_snapshot(site, ("sha256",), cache=HashCache(cache_path), exclude=EXCLUDE)
            assert snap.hashed == 1, snap.hashed

        try:
            walk = timeit(lambda: bare_walk(str(site)), args.repeat)
            warm_t = timeit(warm, args.repeat)
        finally:
            victim.write_bytes(original)
    print(f"redeploy snapshot (1 change) {warm_t:7.3f} s   baseline scandir+stat walk  {walk:7.3f} s"
          f"   ratio {warm_t / walk:5.2f}  (target <= 2.00)")


if __name__ == "__main__":
    main()
