"""[env.required] and `moai-adk deploy`: the real CLI, a real local platform, a real build command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunningPlatform

from .conftest import Run

BUILD = 'mkdir -p dist && echo "<p>$API_URL|$FROM_FILE|$FROM_LOCAL</p>" > dist/index.html && touch built.marker'


def project(root: Path, site: str, required: str) -> Path:
    root.mkdir()
    (root / "moai.toml").write_text(
        f'[project]\nname = "{site}"\n\n[build]\ncommand = \'{BUILD}\'\noutput = "dist"\n\n'
        f'[deploy]\nplatform = "local"\nhealth_check = "/"\n\n[env.required]\n{required}\n')
    return root


REQUIRED = ('API_URL = { environments = ["preview", "production"], pattern = "^https://" }\n'
            'DB_URL = { environments = ["production"] }\nSENTRY_DSN = {}\nDEV_ONLY = { environments = ["development"] }')


def test_missing_required_variables_stop_the_deploy_before_the_build(moai: Run, tmp_path: Path,
                                                                     local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("req")
    root = project(tmp_path / "p", site, REQUIRED)
    r = moai("deploy", "--prod", cwd=root, env=local_platform.environ())
    assert r.returncode == 1, r.stdout + r.stderr
    assert not (root / "built.marker").exists()
    assert "3 required variable(s) of the production environment" in r.stderr
    for name in ("API_URL is missing", "DB_URL is missing", "SENTRY_DSN is missing"):
        assert name in r.stderr
    assert "DEV_ONLY" not in r.stderr
    assert "local (production)" in r.stderr  # says where it looked
    assert local_platform.platform.meta.site(site) is None  # nothing was deployed


def test_pattern_mismatch_stops_and_names_the_source(moai: Run, tmp_path: Path,
                                                     local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("reqpat")
    root = project(tmp_path / "p", site, REQUIRED)
    env = local_platform.environ()
    (root / ".env.preview.local").write_text("API_URL=http://insecure.example\nSENTRY_DSN=x\n")
    r = moai("deploy", "--env", "preview", cwd=root, env=env)
    assert r.returncode == 1
    assert not (root / "built.marker").exists()
    assert "API_URL does not match '^https://' in .env.preview.local" in r.stderr
    assert "1 required variable(s)" in r.stderr and "SENTRY_DSN" not in r.stderr.split("Looked in")[0]
    # the platform's value is checked too
    assert moai("env", "set", "API_URL", "ftp://x", "--env", "preview", cwd=root, env=env).returncode == 0
    (root / ".env.preview.local").write_text("SENTRY_DSN=x\n")
    r = moai("deploy", "--env", "preview", cwd=root, env=env)
    assert r.returncode == 1 and "in local (preview)" in r.stderr, r.stderr


def test_dry_run_reports_and_a_complete_set_builds_with_the_env_files(moai: Run, tmp_path: Path,
                                                                     local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("reqok")
    root = project(tmp_path / "p", site, REQUIRED)
    env = local_platform.environ()
    (root / "dist").mkdir()  # a dry run builds nothing
    (root / "dist" / "index.html").write_text("old")
    r = moai("deploy", "--env", "preview", "--dry-run", "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)["required_env"]
    assert report["ok"] is False
    assert {c["name"]: c["status"] for c in report["checks"]} == {"API_URL": "missing", "SENTRY_DSN": "missing"}
    assert "A deploy would stop before the build" in r.stderr
    assert moai("env", "set", "API_URL", "https://api.example", "--env", "preview", cwd=root, env=env).returncode == 0
    (root / ".env").write_text("FROM_FILE=base\nFROM_LOCAL=base\nSENTRY_DSN=dsn\n")
    (root / ".env.preview.local").write_text("FROM_LOCAL=mine\n")
    r = moai("deploy", "--env", "preview", "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    checks = {c["name"]: c for c in json.loads(r.stdout)["required_env"]["checks"]}
    assert checks["API_URL"]["sources"] == ["local (preview)"] and checks["SENTRY_DSN"]["sources"] == [".env"]
    assert (root / "built.marker").exists()
    assert (root / "dist" / "index.html").read_text().strip() == "<p>|base|mine</p>"  # platform values stay there
