"""``db sync`` of ``pgbench_accounts`` with one anonymised column vs ``pg_dump --data-only | psql``, same run.

    .venv/bin/python bench/bench_db_sync.py [--scale 50] [--rounds 1] [--server URL] [--keep]

Builds a pgbench database (``pgbench -i -s SCALE``: 100,000 accounts per unit of scale), then two
empty copies of the ``pgbench_accounts`` table (schema only, primary key included). Into one,
``pg_dump --data-only -t pgbench_accounts | psql`` (the baseline); into the other, our sync with
``filler = "hash"`` (every row rewritten in-stream; ``--distinct`` makes every filler different, as
pgbench leaves them all blank), run in a child process so its peak RSS is its
own (``wait4``). Prints both rates, their ratio (target >= 0.7) and the peak RSS (target < 200 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from moai_adk.db.anonymize import derive_key  # noqa: E402
from moai_adk.db.connect import Target  # noqa: E402
from moai_adk.db.sync import SyncRequest, sync  # noqa: E402

DEFAULT_SERVER = os.environ.get("MOAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def url_for(server: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def child(src: str, dst: str, rules: str) -> None:
    """The measured process: one sync, its result as JSON on stdout."""
    from moai_adk.db.anonymize import load_rules

    started = time.perf_counter()
    result = sync(SyncRequest(source=Target(url=src), target=Target(url=dst), tables=["pgbench_accounts"],
                              rules=load_rules(Path(rules)), rules_path=rules, key=derive_key(b"bench")))
    print(json.dumps({"rows": result.rows, "seconds": time.perf_counter() - started}))


def run_ours(src: str, dst: str, rules: Path) -> tuple[int, float, float]:
    proc = subprocess.Popen([sys.executable, __file__, "--child", src, dst, str(rules)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"sync failed (exit {proc.returncode})")
    data = json.loads(out)
    return int(data["rows"]), float(data["seconds"]), usage.ru_maxrss / 1024


def run_baseline(src: str, dst: str) -> float:
    started = time.perf_counter()
    subprocess.run(f"pg_dump --data-only -t pgbench_accounts '{src}' | psql -q -v ON_ERROR_STOP=1 '{dst}'",
                   shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--server", default=DEFAULT_SERVER)
    ap.add_argument("--keep", action="store_true", help="Keep the source database (and reuse a kept one).")
    ap.add_argument("--distinct", action="store_true",
                    help="Give every account its own filler (md5 of aid) so that no hashed value repeats; "
                         "pgbench leaves filler blank, which the per-column cache of the sync turns into one "
                         "HMAC per table.")
    ap.add_argument("--child", nargs=3, metavar=("SRC", "DST", "RULES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return

    tag = uuid.uuid4().hex[:8]
    kept = f"moai_bench_sync_s{args.scale}" + ("_d" if args.distinct else "")
    src_name = kept if args.keep else f"moai_bench_sync_src_{tag}"
    names = [f"moai_bench_sync_ours_{tag}", f"moai_bench_sync_dump_{tag}"]
    admin = psycopg.connect(args.server, autocommit=True)
    made: list[str] = [] if args.keep else [src_name]
    src = url_for(args.server, src_name)
    try:
        if not admin.execute("select 1 from pg_database where datname = %s", (src_name,)).fetchone():
            admin.execute(f'create database "{src_name}"')
            t = time.perf_counter()
            subprocess.run(["pgbench", "-i", "-q", "-s", str(args.scale), src], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if args.distinct:
                with psycopg.connect(src, autocommit=True) as conn:
                    conn.execute("update pgbench_accounts set filler = md5(aid::text)")
                    conn.execute("vacuum full analyze pgbench_accounts")
            print(f"pgbench -i -s {args.scale}: {time.perf_counter() - t:.1f} s")
        schema = subprocess.run(["pg_dump", "--schema-only", "-t", "pgbench_accounts", src], check=True,
                                capture_output=True, text=True).stdout
        with psycopg.connect(src) as conn:
            row = conn.execute("select count(*), pg_total_relation_size('pgbench_accounts') "
                               "from pgbench_accounts").fetchone()
            assert row is not None
            rows, size = int(row[0]), int(row[1])
        print(f"pgbench_accounts: {rows:,} rows, {size / 1e6:.0f} MB")
        with tempfile.TemporaryDirectory() as tmp:
            rules = Path(tmp) / "rules.toml"
            rules.write_text('[pgbench_accounts]\nfiller = "hash"\n')
            ours_t, dump_t, rss = [], [], []
            for _ in range(args.rounds):
                dst = []
                for n in names:
                    admin.execute(f'drop database if exists "{n}" with (force)')
                    admin.execute(f'create database "{n}"')
                    made.append(n)
                    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url_for(args.server, n)], input=schema,
                                   text=True, check=True, stdout=subprocess.DEVNULL)
                    dst.append(url_for(args.server, n))
                admin.execute("checkpoint")
                dump_t.append(run_baseline(src, dst[1]))
                admin.execute("checkpoint")
                copied, seconds, peak = run_ours(src, dst[0], rules)
                assert copied == rows, (copied, rows)
                ours_t.append(seconds)
                rss.append(peak)
                with psycopg.connect(dst[0]) as conn:
                    sample = conn.execute("select filler from pgbench_accounts limit 1").fetchone()
                    assert sample is not None and len(str(sample[0]).strip()) == 64
                print(f"  round: pg_dump|psql {dump_t[-1]:.2f} s, db sync {seconds:.2f} s, peak RSS {peak:.0f} MB")
        best_ours, best_dump = min(ours_t), min(dump_t)
        print(f"pg_dump --data-only | psql: {best_dump:.2f} s ({rows / best_dump:,.0f} rows/s)")
        print(f"db sync, filler hashed:     {best_ours:.2f} s ({rows / best_ours:,.0f} rows/s)")
        print(f"rate ratio: {best_dump / best_ours:.2f}x (target >= 0.7x)")
        print(f"peak RSS of the sync process: {max(rss):.0f} MB (target < 200 MB)")
    finally:
        for n in made:
            admin.execute(f'drop database if exists "{n}" with (force)')
        admin.close()


if __name__ == "__main__":
    main()
