"""`moai-adk env diff` against a real local platform: keys added/changed/removed, values never printed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunningPlatform

from .conftest import Run

VALUES = ("https://staging.example", "https://prod.example", "s3cr3t-staging", "s3cr3t-prod", "local-only-value",
          "same-everywhere")


def project(root: Path, site: str) -> Path:
    root.mkdir()
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "local"\n')
    return root


def test_env_diff_between_environments_and_against_local_files(moai: Run, tmp_path: Path,
                                                                local_platform: RunningPlatform) -> None:
    root = project(tmp_path / "p", local_platform.new_site("envdiff"))
    env = local_platform.environ()

    def env_set(key: str, value: str, environment: str, *extra: str) -> None:
        r = moai("env", "set", key, value, "--env", environment, *extra, cwd=root, env=env)
        assert r.returncode == 0, r.stderr

    env_set("API_URL", "https://staging.example", "staging")
    env_set("API_URL", "https://prod.example", "production")
    env_set("SAME", "same-everywhere", "staging")
    env_set("SAME", "same-everywhere", "production")
    env_set("OLD_FLAG", "1", "staging")
    env_set("NEW_FLAG", "1", "production")
    env_set("TOKEN", "s3cr3t-staging", "staging", "--secret")
    env_set("TOKEN", "s3cr3t-prod", "production", "--secret")

    r = moai("env", "diff", "--env", "staging", "--env", "production", "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["added"], data["removed"], data["changed"]) == (["NEW_FLAG"], ["OLD_FLAG"], ["API_URL"])
    assert data["unchanged"] == ["SAME"] and data["unknown"] == ["TOKEN"]
    rows = {row["key"]: row for row in data["rows"]}
    assert rows["API_URL"]["left"] == "***" and rows["TOKEN"]["right"] == "(secret)"
    assert rows["NEW_FLAG"]["left"] is None

    text = moai("env", "diff", "--env", "staging", "--env", "production", cwd=root, env=env)
    assert text.returncode == 0, text.stderr
    assert "1 added, 1 removed, 1 changed" in text.stdout and "NEW_FLAG" in text.stdout
    assert "SAME" not in text.stdout  # unchanged keys are counted, not listed

    (root / ".env").write_text("API_URL=https://prod.example\nLOCAL_ONLY=local-only-value\n")
    (root / ".env.production.local").write_text("SAME=changed-locally\n")
    r = moai("env", "diff", "--env", "production", "--local", "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["added"] == ["LOCAL_ONLY"] and data["changed"] == ["SAME"] and data["unchanged"] == ["API_URL"]
    assert data["removed"] == ["NEW_FLAG", "TOKEN"]
    assert data["right"] == ".env, .env.production.local (production)"

    for out in (r.stdout + r.stderr, text.stdout + text.stderr):
        for value in (*VALUES, "changed-locally"):
            assert value not in out


def test_env_diff_needs_two_sides(moai: Run, tmp_path: Path, local_platform: RunningPlatform) -> None:
    root = project(tmp_path / "p", local_platform.new_site("envdiff2"))
    r = moai("env", "diff", "--env", "staging", cwd=root, env=local_platform.environ())
    assert r.returncode == 2 and "give --env twice, or --env once with --local" in r.stderr
