"""`moai-adk status`: every environment side by side (deploy/status.py), end to end with the real CLI, a
real local platform and real PostgreSQL: what each environment serves, its commit and author from the
audit log, its URL and health, and pending migrations (or why they cannot be counted)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg

from tests.cli.conftest import Run, moai  # noqa: F401  (fixture)
from tests.conftest import RunningPlatform
from tests.db.conftest import admin, db_url  # noqa: F401  (fixtures)

TOML = '''[project]
name = "{site}"
[build]
output = "out"
[environments.staging]
db_url_env = "STAGING_DB_URL"
[environments.production]
db_url_env = "PROD_DB_URL"
requires = "staging"
[environments.qa]
'''


def test_status_shows_every_environment(moai: Run, local_platform: RunningPlatform, tmp_path: Path,  # noqa: F811
                                        db_url: str) -> None:  # noqa: F811
    p = local_platform
    site = p.new_site("stat")
    root = tmp_path / "p"
    (root / "out").mkdir(parents=True)
    (root / "moai.toml").write_text(TOML.format(site=site))
    (root / "out" / "index.html").write_text("hello")
    migrations = root / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20240101000000_one.sql").write_text("create table one (id int);")
    (migrations / "20240102000000_two.sql").write_text("create table two (id int);")
    (migrations / "20240103000000_three.sql").write_text("create table three (id int);")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=ann@example.com", "-c", "user.name=Ann", "commit", "-q", "--allow-empty",
                    "-m", "one"], cwd=root, check=True)
    subprocess.run(["git", "config", "user.email", "ann@example.com"], cwd=root, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    with psycopg.connect(db_url, autocommit=True) as conn:  # one of three applied
        conn.execute("create schema supabase_migrations")
        conn.execute("create table supabase_migrations.schema_migrations (version text primary key, "
                     "statements text[], name text)")
        conn.execute("insert into supabase_migrations.schema_migrations (version, name) values ('20240101000000', 'one')")
    env = p.environ(STAGING_DB_URL=db_url, PROD_DB_URL="postgresql://nobody@127.0.0.1:1/none")
    deployed = moai("deploy", "--env", "staging", "--json", cwd=root, env=env)
    assert deployed.returncode == 0, deployed.stderr
    sid = json.loads(deployed.stdout)["deployment_id"]

    r = moai("status", "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    rows = {row["environment"]: row for row in json.loads(r.stdout)["environment_status"]}
    assert list(rows)[:4] == ["development", "preview", "staging", "production"] and "qa" in rows
    staging = rows["staging"]
    assert staging["platform"] == "local" and staging["deployment"] == sid
    assert staging["commit"] == commit and staging["dirty"] is False and staging["deployed_by"] == "ann@example.com"
    assert staging["url"] == f"http://staging.env.{site}.localhost:{p.port}/"
    assert staging["health"] == "ok" and staging["pending_migrations"] == 2
    prod = rows["production"]
    assert prod["deployment"] is None and prod["health"] is None and prod["requires"] == "staging"
    assert isinstance(prod["pending_migrations"], str) and "Cannot connect" in prod["pending_migrations"]
    assert rows["qa"]["pending_migrations"] is None and rows["qa"]["deployment"] is None

    text = moai("status", cwd=root, env={**env, "COLUMNS": "250"})
    assert text.returncode == 0, text.stderr
    line = next(x for x in text.stdout.splitlines() if x.strip("│ ").startswith("staging"))
    assert sid in line and commit[:8] in line and "2 pending" in line and "ok" in line
