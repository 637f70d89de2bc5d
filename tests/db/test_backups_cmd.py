"""`moai-adk db backup / restore / backups ...` as a user runs them: a real process, files, PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.db.backup_helpers import databases_like, extra_databases, new_database, seed  # noqa: F401
from tests.db.conftest import url_for
from tests.db.test_db_cmd import run

TOML = """[project]
name = "shop"

[environments.production]
db_url_env = "PROD_DB_URL"

[db.backups]
location = "backups"
keep_daily = 1
keep_weekly = 0
keep_monthly = 0
"""


def test_backup_list_verify_prune_and_restore_from_the_cli(project: Path, admin: psycopg.Connection,
                                                           extra_databases: list[str]) -> None:  # noqa: F811
    (project / "moai.toml").write_text(TOML)
    live = new_database(admin, extra_databases)
    with psycopg.connect(url_for(live), autocommit=True) as conn:
        seed(conn)
    env = {"PROD_DB_URL": url_for(live)}
    plan = run(project, "db", "backup", "--env", "production", "--dry-run", **env)
    assert plan.returncode == 0 and "Would run" in plan.stdout and not (project / "backups").exists()
    first = run(project, "db", "backup", "--env", "production", "--json", **env)
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout)["manifest"]
    assert made["tables"]["public.items"] == 50 and (project / "backups" / f"{made['id']}.json").is_file()
    listed = run(project, "db", "backups", "list", "--env", "production", "--json")
    assert [b["id"] for b in json.loads(listed.stdout)["backups"]] == [made["id"]]
    verified = run(project, "db", "backups", "verify", "--env", "production", "--json", **env)
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True

    manifest = project / "backups" / f"{made['id']}.json"
    manifest.write_text(manifest.read_text().replace('"app.orders": 7', '"app.orders": 70'))
    tampered = run(project, "db", "backups", "verify", made["id"], "--env", "production", **env)
    assert tampered.returncode == 1 and "table app.orders has 7 rows, the manifest says 70" in tampered.stdout
    manifest.write_text(manifest.read_text().replace('"app.orders": 70', '"app.orders": 7'))

    refused = run(project, "db", "restore", made["id"], "--to", "production", **env)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert databases_like(admin, live) == [live]
    dry = run(project, "db", "restore", f"backups/{made['id']}.dump", "--to", "production", "--dry-run", **env)
    assert dry.returncode == 0 and "Would take a backup of production" in dry.stdout

    with psycopg.connect(url_for(live), autocommit=True) as conn:
        conn.execute("truncate items")
    done = run(project, "db", "restore", made["id"], "--to", "production", "--yes", "--json", **env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    extra_databases.append(result["previous_database"])
    assert result["pre_restore_backup"] and result["tables"]["public.items"] == 50
    with psycopg.connect(url_for(live)) as conn:
        assert conn.execute("select count(*) from items").fetchone() == (50,)
    with psycopg.connect(url_for(result["previous_database"])) as conn:
        assert conn.execute("select count(*) from items").fetchone() == (0,)

    # two backups of production now (the one restore took first is newer): keep_daily = 1 keeps one
    pruned = run(project, "db", "backups", "prune", "--dry-run", "--json")
    plan_data = json.loads(pruned.stdout)
    assert [d["id"] for d in plan_data["deleted"]] == [made["id"]] and manifest.is_file()
    pruned = run(project, "db", "backups", "prune")
    assert pruned.returncode == 0 and f"Deleted {made['id']}" in pruned.stdout and not manifest.exists()
    actions = [json.loads(line)["action"] for line in
               (project / ".moai" / "audit" / "log.jsonl").read_text().splitlines()]
    assert actions == ["db backup", "db backup", "db restore", "db backups prune"]


def test_bad_input_from_the_cli(project: Path, db_url: str) -> None:
    (project / "moai.toml").write_text(TOML)
    missing = run(project, "db", "restore", "no/such.dump", "--env", "production", PROD_DB_URL=db_url)
    assert missing.returncode == 1 and "No backup file" in missing.stderr
    unknown = run(project, "db", "backups", "verify", "production-20990101000000", "--env", "production",
                  PROD_DB_URL=db_url)
    assert unknown.returncode == 1 and "production-20990101000000.json" in unknown.stderr
    both = run(project, "db", "restore", "x", "--to", "production", "--clean", PROD_DB_URL=db_url)
    assert both.returncode == 2 and "--to" in both.stderr
    (project / "moai.toml").write_text(TOML.replace('location = "backups"', 'location = "ftp://x"'))
    bad = run(project, "db", "backups", "list")
    assert bad.returncode == 1 and "ftp://x" in bad.stderr
