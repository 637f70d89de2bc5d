"""`moai-adk backend plan` for a Firebase backend: API round trips and time against a fake answering in 20 ms.

    .venv/bin/python bench/bench_backend_plan_firebase.py [--indexes 30] [--domains 50] [--latency 0.02] [--repeat 5]

A project declaring Firestore rules, Storage rules, INDEXES composite indexes (+ 2 field overrides) and
DOMAINS authorized domains, already applied (so the plan reads everything and finds nothing to do), and
once more with every index still to create. The fake of the Rules, Firestore Admin and Identity Toolkit
APIs runs on a real loopback port with LATENCY added to each request (its spec checking off, so only the
client is timed). Prints, best of REPEAT: the API requests the plan made and its wall time, in-process
(`make_plan`) and as the whole `moai-adk backend plan --json` process. Targets: <= 6 requests, < 1 s.
The token exchange (one request to Google's OAuth endpoint per process) is counted apart.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moai_adk.backend import apply_plan, make_plan, open_backend  # noqa: E402
from moai_adk.config import load_config  # noqa: E402
from tests.backend.firebase_project import write_project  # noqa: E402
from tests.fakes import Faults  # noqa: E402
from tests.fakes.firebase_backend import FakeFirebaseBackend  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--indexes", type=int, default=30)
    ap.add_argument("--domains", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    fake = FakeFirebaseBackend()
    fake.check_spec = False
    with tempfile.TemporaryDirectory() as tmp, fake.serve():
        root = write_project(Path(tmp) / "p", n_indexes=args.indexes,
                             domains=[f"d{i}.example.com" for i in range(args.domains)])
        env = fake.env()
        cfg = load_config(root / "moai.toml")
        fresh = make_plan(open_backend(cfg, "firebase", "staging", env))
        apply_plan(open_backend(cfg, "firebase", "staging", env))
        fake.faults = Faults(latency=args.latency)
        rows = []
        for label in ("up to date", "indexes to create"):
            if label == "indexes to create":
                fake.projects["demo-project"].indexes.clear()
            runs = []
            for _ in range(args.repeat):
                backend = open_backend(cfg, "firebase", "staging", env)
                backend.apis  # noqa: B018 - the credential (token exchange) is made before timing
                t = time.perf_counter()
                plan = make_plan(backend)
                runs.append((time.perf_counter() - t, plan.round_trips, len(plan.changes)))
                backend.close()
            rows.append((label, min(runs)))
            procs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                out = subprocess.run([sys.executable, "-m", "moai_adk", "backend", "plan", "--env", "staging", "--json"],
                                     cwd=root, env={**os.environ, **env}, capture_output=True, text=True, check=True)
                procs.append((time.perf_counter() - t, json.loads(out.stdout)["round_trips"]))
            rows.append((label + " (whole process)", (*min(procs), len(plan.changes))))
        print(f"fake latency {args.latency * 1000:.0f} ms; {args.indexes} indexes, {args.domains} domains, "
              f"2 rules files, 2 field overrides; first plan on an empty project: {len(fresh.changes)} changes, "
              f"{fresh.round_trips} requests")
        for label, (wall, trips, changes) in rows:
            print(f"  {label:<36} {trips} API requests  {wall:6.3f} s  ({changes} changes)")
        ok = all(trips <= 6 and wall < 1.0 for _, (wall, trips, _) in rows)
        print("targets (<= 6 requests, < 1 s):", "met" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
