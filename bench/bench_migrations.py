"""Pushing N small migrations vs ``psql -1 -f`` of the same SQL concatenated, same server, same run.

    .venv/bin/python bench/bench_migrations.py [--files 500] [--rounds 3] [--server URL]

Each round creates two fresh databases: one receives ``psql -1 -f all.sql``
(one transaction, no history), the other ``moai-adk``'s push (one transaction
and one history row per file, advisory lock, splitting, checks), timed
in-process from the folder scan to the last commit. A CLI run (a new Python
process, as a user would start it) is timed too, and two variants that show
where the time goes: every commit synchronous, and one file per round trip.
Prints the medians and the ratios against psql (target: <= 2.0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from moai_adk.db.connect import Target  # noqa: E402
from moai_adk.db.push import push  # noqa: E402

MIGRATION = """-- migration {i}: a table, an index, a function, a row
create table t_{i} (
    id bigint generated always as identity primary key,
    name text not null default 'row;{i}',
    created_at timestamptz not null default now()
);
create index t_{i}_name_idx on t_{i} (name);
comment on table t_{i} is 'benchmark table {i}';
create function f_{i}() returns bigint language plpgsql as $$
begin
    return (select count(*) from t_{i});
end;
$$;
insert into t_{i} (name) values ('first'), ('second');
"""


def make_project(folder: Path, n: int) -> Path:
    mig = folder / "supabase" / "migrations"
    mig.mkdir(parents=True)
    parts = []
    for i in range(n):
        sql = MIGRATION.format(i=i)
        (mig / f"2024{i // 86400:02d}{i:010d}_m{i}.sql").write_text(sql)
        parts.append(sql)
    concat = folder / "all.sql"
    concat.write_text("\n".join(parts))
    return concat


def with_db(server: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server", default=os.environ.get("MOAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = ap.parse_args()
    psql = shutil.which("psql")
    if not psql:
        sys.exit("psql not found on PATH")
    admin = psycopg.connect(args.server, autocommit=True)
    version = admin.info.server_version
    tmp = Path(tempfile.mkdtemp(prefix="bench-mig-"))
    concat = make_project(tmp, args.files)
    cli = str(Path(sys.executable).with_name("moai-adk"))
    psql_t: list[float] = []
    push_t: list[float] = []
    sync_t: list[float] = []
    one_t: list[float] = []
    cli_t: list[float] = []
    try:
        for _ in range(args.rounds):
            names = [f"moai_bench_{uuid.uuid4().hex[:8]}" for _ in range(5)]
            for name in names:
                admin.execute(f'CREATE DATABASE "{name}"')
            try:
                t0 = time.perf_counter()
                subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(concat),
                                with_db(args.server, names[0])], check=True, stdout=subprocess.DEVNULL)
                psql_t.append(time.perf_counter() - t0)

                t0 = time.perf_counter()
                result = push(tmp, Target(url=with_db(args.server, names[1])))
                push_t.append(time.perf_counter() - t0)
                assert len(result.applied) == args.files, len(result.applied)

                t0 = time.perf_counter()
                push(tmp, Target(url=with_db(args.server, names[3])), async_commit=False)
                sync_t.append(time.perf_counter() - t0)

                t0 = time.perf_counter()
                push(tmp, Target(url=with_db(args.server, names[4])), chunk_files=1, async_commit=False)
                one_t.append(time.perf_counter() - t0)

                t0 = time.perf_counter()
                subprocess.run([cli, "-q", "-C", str(tmp), "db", "push", "--db-url", with_db(args.server, names[2])],
                               check=True, stdout=subprocess.DEVNULL)
                cli_t.append(time.perf_counter() - t0)
            finally:
                for name in names:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        admin.close()
    p, m, c = statistics.median(psql_t), statistics.median(push_t), statistics.median(cli_t)
    print(f"{args.files} migrations, {args.rounds} rounds (medians), server {version}")
    print(f"  psql -1 -f (concatenated, 1 transaction): {p:.3f} s")
    print(f"  moai-adk push, in-process:                {m:.3f} s   ratio {m / p:.2f}x")
    print(f"  moai-adk db push, CLI process:            {c:.3f} s   ratio {c / p:.2f}x")
    s, o = statistics.median(sync_t), statistics.median(one_t)
    print(f"  push, every commit synchronous:           {s:.3f} s   ratio {s / p:.2f}x")
    print(f"  push, one file per round trip, sync:      {o:.3f} s   ratio {o / p:.2f}x")


if __name__ == "__main__":
    main()
