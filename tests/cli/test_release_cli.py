"""`moai-adk canary` and `moai-adk traffic` against a real local platform."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from moai_adk.deploy.release import canary_weights
from moai_adk.errors import UsageError
from tests.cli.conftest import Run
from tests.cli.test_deploy_cli import deploy_json, site_project


def test_canary_split_then_promote(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("canary")
    root = site_project(tmp_path / "p", site)
    env = local_platform.environ()
    stable = deploy_json(moai, root, env, "--prod")["deployment_id"]
    (root / "out" / "index.html").write_text("candidate")
    candidate = deploy_json(moai, root, env)["deployment_id"]

    r = moai("canary", candidate, "--percent", "30", "--dry-run", "--json", cwd=root, env=env)
    assert json.loads(r.stdout)["weights"] == {stable: 70, candidate: 30}
    assert json.loads(moai("traffic", "--json", cwd=root, env=env).stdout)["weights"] is None

    r = moai("canary", candidate, "--percent", "30", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    shown = json.loads(moai("traffic", "--json", cwd=root, env=env).stdout)
    assert shown == {"platform": "local", "production": stable, "weights": {stable: 70, candidate: 30}}

    # visitors without a cookie are split about 70/30; each answer names its deployment
    seen: Counter[str] = Counter()
    for _ in range(200):
        seen[httpx.get(f"{local_platform.url}/_sites/{site}/").headers["x-moai-deploy"]] += 1
    assert set(seen) == {stable, candidate} and 20 <= seen[candidate] <= 100

    assert moai("promote", candidate, cwd=root, env=env).returncode == 0  # completes the release
    shown = json.loads(moai("traffic", "--json", cwd=root, env=env).stdout)
    assert shown["weights"] is None and shown["production"] == candidate


def test_canary_off_and_bad_input(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = site_project(tmp_path / "p", local_platform.new_site("canoff"))
    env = local_platform.environ()
    stable = deploy_json(moai, root, env, "--prod")["deployment_id"]
    (root / "out" / "index.html").write_text("next")
    nxt = deploy_json(moai, root, env)["deployment_id"]
    assert moai("canary", nxt, "--percent", "10", cwd=root, env=env).returncode == 0
    r = moai("canary", "--off", cwd=root, env=env)
    assert r.returncode == 0 and "Canary ended" in r.stdout
    assert json.loads(moai("traffic", "--json", cwd=root, env=env).stdout)["weights"] is None
    assert moai("canary", nxt, cwd=root, env=env).returncode == 2  # no --percent
    r = moai("canary", "--help", cwd=root, env=env)
    assert "1-99" in r.stdout and "0<=x<=100" not in r.stdout  # help and errors give the same range
    r = moai("canary", nxt, "--percent", "100", cwd=root, env=env)
    assert r.returncode == 2 and "promote" in r.stderr
    assert moai("canary", cwd=root, env=env).returncode == 2  # neither id nor --off
    r = moai("canary", stable, "--percent", "10", cwd=root, env=env)
    assert r.returncode == 2 and "already production" in r.stderr
    r = moai("canary", "nosuchdeploy", "--percent", "10", cwd=root, env=env)
    assert r.returncode == 1 and "nosuchdeploy" in r.stderr


def test_canary_weights() -> None:
    assert canary_weights("a", "b", 25) == {"a": 75, "b": 25}
    with pytest.raises(UsageError, match="ends it") as info:
        canary_weights("a", "b", 0)
    assert "--off" in (info.value.hint or "")
    with pytest.raises(UsageError, match="promotion"):
        canary_weights("a", "b", 100)
    for bad in (-5, 101):
        with pytest.raises(UsageError, match="outside 1-99"):
            canary_weights("a", "b", bad)
    with pytest.raises(UsageError, match="no production deployment"):
        canary_weights(None, "b", 10)
