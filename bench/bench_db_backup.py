"""`moai-adk db backup` / `db restore` against plain `pg_dump -Fc` / `pg_restore`, same run, same server.

    .venv/bin/python bench/bench_db_backup.py [--scale 50] [--repeat 2] [--server postgresql://postgres@127.0.0.1:5432/postgres]

Creates `moai_bench_backup` with `pgbench -i -s SCALE` (scale 50 is ~750 MB; use --scale 10 for a
quick run), then prints, best of REPEAT, alternating the order:
- `moai-adk db backup --db-url URL --out FILE` as a user runs it (process start, snapshot, row
  counts of every table, pg_dump, `pg_restore --list`, SHA-256, manifest) vs `pg_dump -Fc -f FILE`
  of the same binary (target <= 1.15x);
- `moai-adk db restore FILE --db-url URL` into an empty database (checksum against the manifest,
  `pg_restore --list`, `pg_restore --single-transaction --exit-on-error --no-owner`) vs
  `pg_restore --single-transaction --exit-on-error --no-owner` of the plain dump (target <= 1.15x);
- for information, `db backups verify` (checksum, restore into a scratch database, count rows, drop).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from moai_adk.db.backup import find_tool

MOAI = str(Path(sys.executable).with_name("moai-adk"))
DB = "moai_bench_backup"


def url_for(server: str, dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    admin = psycopg.connect(args.server, autocommit=True)
    major = admin.info.server_version // 10000
    pg_dump = find_tool("pg_dump", major, {"PATH": "/usr/bin:/bin"})
    pg_restore = find_tool("pg_restore", major, {"PATH": "/usr/bin:/bin"})
    pgbench = str(Path(pg_dump).with_name("pgbench"))
    admin.execute(f'drop database if exists "{DB}" with (force)')
    admin.execute(f'create database "{DB}"')
    url = url_for(args.server, DB)
    t = time.perf_counter()
    subprocess.run([pgbench, "-i", "-q", "-s", str(args.scale), url], check=True, capture_output=True)
    size = admin.execute("select pg_database_size(%s)", (DB,)).fetchone()
    print(f"pgbench -i -s {args.scale}: {time.perf_counter() - t:.1f} s, database {size[0] / 1e6 if size else 0:.0f} MB")

    ours: list[float] = []
    plain: list[float] = []
    rest_ours: list[float] = []
    rest_plain: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        work = Path(tmp)
        moai_dump, plain_dump = work / "moai.dump", work / "plain.dump"
        for i in range(args.repeat):
            runs = [("ours", [MOAI, "-C", tmp, "-q", "db", "backup", "--db-url", url, "--out", str(moai_dump)]),
                    ("plain", [pg_dump, "-Fc", "-f", str(plain_dump), "--dbname", url])]
            for name, cmd in runs if i % 2 == 0 else runs[::-1]:
                (ours if name == "ours" else plain).append(timed(cmd))
            for name in (["ours", "plain"] if i % 2 == 0 else ["plain", "ours"]):
                fresh = f"{DB}_r"
                admin.execute(f'drop database if exists "{fresh}" with (force)')
                admin.execute(f'create database "{fresh}"')
                into = url_for(args.server, fresh)
                if name == "ours":
                    rest_ours.append(timed([MOAI, "-C", tmp, "-q", "db", "restore", str(moai_dump), "--db-url", into]))
                else:
                    rest_plain.append(timed([pg_restore, "--single-transaction", "--exit-on-error", "--no-owner",
                                             "--dbname", into, str(plain_dump)]))
                admin.execute(f'drop database "{fresh}" with (force)')
        verify = timed([MOAI, "-C", tmp, "-q", "db", "backups", "verify", str(moai_dump), "--db-url", url])
        dump_mb = moai_dump.stat().st_size / 1e6
    admin.execute(f'drop database if exists "{DB}" with (force)')
    b, p, ro, rp = min(ours), min(plain), min(rest_ours), min(rest_plain)
    print(f"dump size {dump_mb:.0f} MB; best of {args.repeat}")
    print(f"db backup   {b:7.2f} s   pg_dump -Fc   {p:7.2f} s   ratio {b / p:.2f}x  (target <= 1.15x)")
    print(f"db restore  {ro:7.2f} s   pg_restore    {rp:7.2f} s   ratio {ro / rp:.2f}x  (target <= 1.15x)")
    print(f"db backups verify (checksum, scratch restore, row counts, drop): {verify:.2f} s")


if __name__ == "__main__":
    main()
