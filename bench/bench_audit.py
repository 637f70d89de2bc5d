"""`moai-adk audit verify` of a large log against `sha256sum` of the same file, same run.

    .venv/bin/python bench/bench_audit.py [--entries 1000000] [--digest-every 1000] [--repeat 3]

Writes a log of ENTRIES realistic entries (deploy/promote/env/migration events, ~300 bytes each)
in the exact form `audit.record` writes, with a signed digest every DIGEST_EVERY entries, then prints:
- `audit.verify()` in-process (hash chain + every digest signature), best of REPEAT;
- `moai-adk audit verify` as a user runs it (process start included), best of REPEAT;
- `sha256sum` of the log file, best of REPEAT, and the ratio (target: <= 3x; verify < 2 s).
The OS page cache is warm for every side.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from moai_adk import audit
from moai_adk.audit.log import CLIENT, ZERO_HASH, encode_entry

ACTIONS = ("deploy", "promote", "env set", "rollback", "migration push")
ENVS = ("production", "staging", "preview")


def best(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(best wall time, CPU time of that run: this process and its children, user + system)."""
    runs = []
    for _ in range(repeat):
        r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        fn()
        wall = time.perf_counter() - t
        r1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(b - a for a, b in ((r0.ru_utime, r1.ru_utime), (r0.ru_stime, r1.ru_stime),
                                     (c0.ru_utime, c1.ru_utime), (c0.ru_stime, c1.ru_stime)))
        runs.append((wall, cpu))
    return min(runs)


def write_log(root: Path, entries: int, digest_every: int) -> None:
    import hashlib

    path = audit.log_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    prev = ZERO_HASH
    with path.open("ab") as f:
        for seq in range(1, entries + 1):
            fields = {"at": f"2026-11-{1 + seq % 28:02d}T{seq % 24:02d}:{seq % 60:02d}:{seq % 60:02d}.{seq % 1000:03d}Z",
                      "who": "dev@example.com", "action": ACTIONS[seq % 5], "environment": ENVS[seq % 3],
                      "target": f"dpl_{seq:024x}", "result": "ok", "client": CLIENT,
                      "details": {"platform": "local", "url": f"https://site-{seq % 97}.example.test/"}}
            line = encode_entry(prev, seq, fields)
            f.write(line)
            prev = hashlib.sha256(line[:-1]).hexdigest()
            if digest_every and seq % digest_every == 0:
                f.flush()
                audit.sign_digest(root)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--digest-every", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["XDG_CONFIG_HOME"] = str(root / "config")  # the bench's signing key stays in the temp folder
        t = time.perf_counter()
        write_log(root, args.entries, args.digest_every)
        log = audit.log_path(root)
        size = log.stat().st_size
        print(f"log: {args.entries:,} entries, {size / 1e6:.0f} MB, written in {time.perf_counter() - t:.1f} s")
        report = audit.verify(root)
        assert report["entries"] == args.entries and report["ok"], report
        in_process = best(lambda: audit.verify(root), args.repeat)
        cli = [sys.executable, "-m", "moai_adk", "-C", str(root), "audit", "verify"]
        whole = best(lambda: subprocess.run(cli, check=True, capture_output=True), args.repeat)
        shasum = best(lambda: subprocess.run(["sha256sum", str(log)], check=True, capture_output=True), args.repeat)
        print(f"digests checked: {report['digests']} (signed through entry {report['signed_through']:,})")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print("                                    wall      CPU")
        print(f"audit.verify() in-process:          {in_process[0]:.3f} s   {in_process[1]:.3f} s")
        print(f"moai-adk audit verify (whole run):  {whole[0]:.3f} s   {whole[1]:.3f} s   (target < 2 s)")
        print(f"sha256sum of the log:               {shasum[0]:.3f} s   {shasum[1]:.3f} s")
        print(f"ratio verify / sha256sum, wall:     {in_process[0] / shasum[0]:.2f}x in-process, "
              f"{whole[0] / shasum[0]:.2f}x whole command   (target <= 3x)")
        print(f"ratio verify / sha256sum, CPU:      {in_process[1] / shasum[1]:.2f}x in-process, "
              f"{whole[1] / shasum[1]:.2f}x whole command")

if __name__ == "__main__":
    main()
