"""`moai-adk backend plan|apply` on Supabase through the real CLI process, against the Management API and
Storage fakes served on loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import serve_handler

from .supabase_setup import PRODUCTION, STAGING, TOML, Fakes, make_project


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Fakes, dict[str, str]]]:
    fakes = Fakes()
    with serve_handler(fakes.api.handle) as api_url, serve_handler(fakes.storage.handle) as storage_url:
        environ = {**fakes.environ(tmp_path), "MOAI_SUPABASE_API_URL": api_url,
                   "MOAI_SUPABASE_PROJECT_URL": storage_url + "/{ref}"}
        yield fakes, environ


def run(root: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOAI_", "SUPABASE_"))} | environ
    return subprocess.run([sys.executable, "-m", "moai_adk", "backend", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_plan_apply_and_a_second_apply_through_the_cli(served: tuple[Fakes, dict[str, str]], tmp_path: Path) -> None:
    fakes, environ = served
    root = tmp_path / "shop"
    make_project(root, environ)
    live = fakes.api.backend_state(STAGING)
    live.add_bucket("scratch", objects=2)

    r = run(root, environ, "plan", "--env", "staging", "--json")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["target"] == STAGING and plan["round_trips"] <= 6 and not plan["up_to_date"]
    assert {"action": "remove", "kind": "bucket", "name": "scratch"}.items() <= next(
        c for c in plan["changes"] if c["name"] == "scratch").items()
    assert "sk_test_staging_1" not in r.stdout

    r = run(root, environ, "plan", "--env", "staging")
    assert r.returncode == 0 and "- bucket scratch   (destructive)" in r.stdout and "+ secret STRIPE_KEY" in r.stdout

    r = run(root, environ, "apply", "--env", "staging")
    assert r.returncode == 1 and "scratch" in r.stderr and "--allow-destructive" in r.stderr
    assert "avatars" not in live.buckets

    r = run(root, environ, "apply", "--env", "staging", "--allow-destructive", "--dry-run", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["applied"] == [] and "avatars" not in live.buckets

    r = run(root, environ, "apply", "--env", "staging", "--allow-destructive")
    assert r.returncode == 0, r.stderr
    assert "it now matches moai.toml" in r.stdout and sorted(live.buckets) == ["avatars", "invoices"]
    assert live.auth["site_url"] == "https://staging.shop.example"

    r = run(root, environ, "apply", "--env", "staging", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["applied"] == [] and "Nothing to apply" not in r.stdout
    assert fakes.api.violations == [] and fakes.storage.violations == []


def test_a_project_the_token_cannot_reach(served: tuple[Fakes, dict[str, str]], tmp_path: Path) -> None:
    fakes, environ = served
    root = tmp_path / "shop"
    make_project(root, environ)
    fakes.api.backend_state(PRODUCTION).members = {"sbp_someone_else"}
    r = run(root, environ, "plan", "--env", "production")
    assert r.returncode == 1
    assert PRODUCTION in r.stderr and "environment production" in r.stderr and "403" in r.stderr
    assert "permission" in r.stderr and "Hint:" in r.stderr


def test_two_environments_on_one_project_need_yes(served: tuple[Fakes, dict[str, str]], tmp_path: Path) -> None:
    fakes, environ = served
    root = tmp_path / "shop"
    make_project(root, environ, TOML.replace(PRODUCTION, STAGING))
    r = run(root, environ, "plan", "--env", "staging")
    assert r.returncode == 0 and "Note: Project abcdefghijklmnopqrst is also the Supabase project of production" \
        in r.stdout
    r = run(root, environ, "apply", "--env", "staging")
    assert r.returncode == 1 and "same Supabase project" in r.stderr and "--yes" in r.stderr
    assert fakes.api.projects[STAGING].secrets == {}
    r = run(root, environ, "apply", "--env", "staging", "--yes")
    assert r.returncode == 0, r.stderr
    assert "STRIPE_KEY" in fakes.api.projects[STAGING].secrets


def test_a_bad_bucket_name_in_moai_toml(served: tuple[Fakes, dict[str, str]], tmp_path: Path) -> None:
    fakes, environ = served
    root = tmp_path / "shop"
    make_project(root, environ)
    (root / "moai.toml").write_text(TOML + '\n[backend.supabase.buckets."a/b"]\npublic = true\n')
    r = run(root, environ, "plan", "--env", "staging")
    assert r.returncode == 1 and "backend.supabase.buckets" in r.stderr and "moai.toml:" in r.stderr
    assert "is not a bucket name Supabase Storage accepts" in r.stderr
    assert fakes.api.requests == [] and fakes.storage.requests == []


def test_apply_creates_the_project_through_the_cli_and_never_prints_its_password(
        served: tuple[Fakes, dict[str, str]], tmp_path: Path) -> None:
    from .test_supabase_create import TOML as CREATE_TOML

    fakes, environ = served
    fakes.api.health_polls = 1  # one wait (the CLI really sleeps between health reads)
    root = tmp_path / "shop"
    make_project(root, environ, CREATE_TOML, secrets={"staging": {}})
    r = run(root, environ, "plan", "--env", "staging")
    assert r.returncode == 0, r.stderr
    assert r.stdout.index("+ project shop-staging") < r.stdout.index("+ bucket avatars")
    r = run(root, environ, "apply", "--env", "staging", "--json")
    assert r.returncode == 0, r.stderr
    ref = next(iter(fakes.api.project_rows))
    password = fakes.api.created[0]["db_pass"]
    assert password not in r.stdout + r.stderr
    assert json.loads(r.stdout)["changes"][0]["kind"] == "project"
    assert f'supabase_project_ref = "{ref}"' in (root / "moai.toml").read_text()
    r = run(root, environ, "plan", "--env", "staging", "--json")
    assert json.loads(r.stdout)["up_to_date"] and json.loads(r.stdout)["target"] == ref
