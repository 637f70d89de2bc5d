"""`moai-adk init --link`, `deploy`, `deployments`, `rollback` on Vercel and Netlify through
the real CLI, against the stateful fakes served on loopback ports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.netlify import FakeNetlify
from tests.fakes.vercel import FakeVercel

from .conftest import Run


@pytest.mark.parametrize("platform", ["vercel", "netlify"])
def test_link_deploy_promote_rollback(moai: Run, tmp_path: Path, platform: str) -> None:
    fake = FakeVercel(build_steps=0) if platform == "vercel" else FakeNetlify()
    root = tmp_path / "proj"
    (root / "dist").mkdir(parents=True)
    (root / "dist" / "index.html").write_text("v1")
    (root / "dist" / "app.js").write_text("console.log(1)")
    with fake.serve() as url:
        token_env = "VERCEL_TOKEN" if platform == "vercel" else "NETLIFY_AUTH_TOKEN"
        url_env = "MOAI_VERCEL_API_URL" if platform == "vercel" else "MOAI_NETLIFY_API_URL"
        env = {token_env: "test-token", url_env: url}
        r = moai("init", "--baas", platform, "--name", "shop", "--yes", "--link", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        link = root / (".vercel/project.json" if platform == "vercel" else ".netlify/state.json")
        assert link.is_file()
        toml = (root / "moai.toml").read_text().replace('output = "."', 'output = "dist"')
        (root / "moai.toml").write_text(toml)

        first = json.loads(moai("deploy", "--prod", "--no-health-check", "--json", cwd=root, env=env).stdout)
        assert first["production"] and first["files_uploaded"] >= 2  # + vercel.json from the project root on Vercel
        (root / "dist" / "index.html").write_text("v2")
        r = moai("deploy", "--prod", "--no-health-check", "--json", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        second = json.loads(r.stdout)
        assert second["files_uploaded"] == 1  # only the changed file

        listing = json.loads(moai("deployments", "--json", cwd=root, env=env).stdout)
        live = [d["id"] for d in listing if d["production"]]
        assert live == [second["deployment_id"]]

        r = moai("rollback", first["deployment_id"], "--json", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        listing = json.loads(moai("deployments", "--json", cwd=root, env=env).stdout)
        assert [d["id"] for d in listing if d["production"]] == [first["deployment_id"]]

        r = moai("deploy", "--prod", "--no-health-check", cwd=root, env={**env, token_env: "revoked"})
        assert r.returncode == 1 and token_env in r.stderr


def test_init_links_on_its_own_when_the_token_is_set(moai: Run, tmp_path: Path) -> None:
    fake = FakeVercel(build_steps=0)
    with fake.serve() as url:
        env = {"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": url}
        skip = tmp_path / "skip"
        skip.mkdir()
        r = moai("init", "--baas", "vercel", "--name", "skip", "--yes", "--no-link", cwd=skip, env=env)
        assert r.returncode == 0, r.stderr
        assert not (skip / ".vercel").exists() and not fake.projects

        auto = tmp_path / "auto"
        auto.mkdir()
        r = moai("init", "--baas", "vercel", "--name", "auto", "--yes", "--json", cwd=auto, env=env)
        assert r.returncode == 0, r.stderr
        assert (auto / ".vercel" / "project.json").is_file()
        assert [p["name"] for p in fake.projects.values()] == ["auto"]

    none = tmp_path / "none"
    none.mkdir()
    r = moai("init", "--baas", "vercel", "--name", "none", "--yes", cwd=none, env={"VERCEL_TOKEN": ""})
    assert r.returncode == 0, r.stderr
    assert "vercel: not linked" in r.stdout and "VERCEL_TOKEN" in r.stdout
    assert not (none / ".vercel").exists()
