"""`moai-adk db lint` of many migration files, whole command, against parsing alone, same run.

    .venv/bin/python bench/bench_db_lint.py [--files 500] [--repeat 3]

Writes FILES migrations of about 25 statements each (tables, indexes, constraints, backfills,
functions with dollar-quoted bodies, a few destructive statements), then prints, best of REPEAT:
- `moai-adk db lint` as a user runs it (process start included; target < 2 s for 500 files);
- the same files through `pglast.parse_sql` alone in one process (the parser's own cost), and
  `moai-adk --version` (process start and imports), as baselines.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MOAI = [sys.executable, "-m", "moai_adk"]


def migration(i: int) -> str:
    t = f"t{i}"
    body = [
        "SET lock_timeout = '5s';",
        f"CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, owner uuid NOT NULL, "
        "title text NOT NULL DEFAULT '', body jsonb, created_at timestamptz NOT NULL DEFAULT now());",
        f"CREATE INDEX {t}_owner ON {t} (owner);",
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;",
        f"CREATE POLICY {t}_own ON {t} FOR ALL USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());",
        f"ALTER TABLE {t} ADD CONSTRAINT {t}_title CHECK (length(title) < 500) NOT VALID;",
        f"ALTER TABLE {t} VALIDATE CONSTRAINT {t}_title;",
        f"CREATE OR REPLACE FUNCTION {t}_touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  NEW.created_at := coalesce(NEW.created_at, now());\n  RETURN NEW;\nEND;\n$$;",
        f"CREATE TRIGGER {t}_touch BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_touch();",
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS users_{i}_email ON users (lower(email));",
        f"UPDATE users SET plan = 'free' WHERE plan IS NULL AND id < {i * 1000};",
        f"INSERT INTO settings (key, value) VALUES ('feature_{i}', 'on') ON CONFLICT (key) DO NOTHING;",
        f"COMMENT ON TABLE {t} IS 'migration {i}';",
        f"GRANT SELECT ON {t} TO authenticated;",
        f"CREATE VIEW {t}_recent AS SELECT id, title FROM {t} WHERE created_at > now() - interval '7 days';",
    ]
    if i % 10 == 0:
        body += [f"ALTER TABLE users DROP COLUMN legacy_{i};", f"DELETE FROM audit_{i};"]
    if i % 7 == 0:
        body += [f"ALTER TABLE users ADD COLUMN c{i} int NOT NULL;", f"CREATE INDEX u{i} ON users (c{i});"]
    body += [f"-- filler comment {k}\nSELECT {k};" for k in range(8)]
    return "\n\n".join(body) + "\n"


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "moai.toml").write_text('[project]\nname = "lintbench"\n')
        folder = root / "supabase" / "migrations"
        folder.mkdir(parents=True)
        for i in range(args.files):
            (folder / f"{20240101000000 + i}_m{i}.sql").write_text(migration(i))
        paths = sorted(folder.glob("*.sql"))
        statements = 0

        def lint() -> None:
            r = subprocess.run([*MOAI, "-C", str(root), "db", "lint", "--json"], capture_output=True, text=True)
            if r.returncode not in (0, 1) or '"findings"' not in r.stdout:
                raise SystemExit(r.stderr)

        def parse_only() -> None:
            nonlocal statements
            from pglast import parse_sql

            statements = sum(len(parse_sql(p.read_text())) for p in paths)

        def version() -> None:
            subprocess.run([*MOAI, "--version"], capture_output=True, check=True)

        t_lint = best(lint, args.repeat)
        t_parse = best(parse_only, args.repeat)
        t_version = best(version, args.repeat)
        print(f"{args.files} files, {statements:,} statements")
        print(f"moai-adk db lint (whole command): {t_lint:.3f} s   (target < 2 s)")
        print(f"pglast.parse_sql alone:           {t_parse:.3f} s   ratio {t_lint / t_parse:.2f}x")
        print(f"moai-adk --version:               {t_version:.3f} s   lint minus start-up {t_lint - t_version:.3f} s")


if __name__ == "__main__":
    main()
