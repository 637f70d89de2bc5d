"""`moai-adk env ...` end to end: the real CLI in a subprocess against fakes served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.netlify import FakeNetlify
from tests.fakes.vercel import FakeVercel

from .conftest import Run

MOAI_TOML = """
[project]
name = "site"

[deploy]
platform = "vercel"
platforms = ["vercel", "netlify"]

[environments.staging]
platform = "netlify"
"""


@pytest.fixture
def apis(tmp_path: Path) -> Iterator[tuple[dict[str, str], FakeVercel, FakeNetlify, Path]]:
    vfake, nfake = FakeVercel(build_steps=0), FakeNetlify()
    project = tmp_path / "proj"
    project.mkdir()
    (project / "moai.toml").write_text(MOAI_TOML)
    vproj = vfake.add_project("site")
    site = nfake.add_site("site")
    (project / ".vercel").mkdir()
    (project / ".vercel" / "project.json").write_text(json.dumps({"projectId": vproj["id"], "orgId": vproj["accountId"]}))
    (project / ".netlify").mkdir()
    (project / ".netlify" / "state.json").write_text(json.dumps({"siteId": site["id"]}))
    with vfake.serve() as vurl, nfake.serve() as nurl:
        env = {"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": vurl,
               "NETLIFY_AUTH_TOKEN": "test-token", "MOAI_NETLIFY_API_URL": nurl}
        yield env, vfake, nfake, project


def test_set_list_unset_on_the_configured_platform(moai: Run, apis: tuple) -> None:  # type: ignore[type-arg]
    env, vfake, _, project = apis
    r = moai("env", "set", "API_URL", "https://api", "--env", "production", cwd=project, env=env)
    assert r.returncode == 0, r.stderr
    assert "Added API_URL" in r.stdout
    r = moai("env", "set", "TOKEN", "s3cr3t", "--env", "production", "--secret", "--json", cwd=project, env=env)
    assert json.loads(r.stdout)["action"] == "add"
    r = moai("env", "list", "--env", "production", "--json", cwd=project, env=env)
    data = json.loads(r.stdout)
    assert data["platform"] == "vercel"
    got = {v["key"]: v for v in data["variables"]}
    assert got["API_URL"]["value"] == "https://api"
    assert got["TOKEN"]["value"] is None and got["TOKEN"]["secret"] is True
    r = moai("env", "unset", "API_URL", "--env", "production", "--dry-run", cwd=project, env=env)
    assert r.returncode == 0 and "Would have" in r.stdout
    assert any(e["key"] == "API_URL" for e in next(iter(vfake.envs.values())))
    r = moai("env", "unset", "API_URL", "--env", "production", cwd=project, env=env)
    assert r.returncode == 0
    assert not any(e["key"] == "API_URL" for e in next(iter(vfake.envs.values())))


def test_environment_platform_comes_from_moai_toml(moai: Run, apis: tuple) -> None:  # type: ignore[type-arg]
    env, vfake, nfake, project = apis
    r = moai("env", "set", "A", "1", "--env", "staging", cwd=project, env=env)
    assert r.returncode == 0, r.stderr
    assert "netlify" in r.stdout and "A" in nfake.env
    assert nfake.env["A"]["values"][0]["context"] == "branch-deploy"
    assert all(not items for items in vfake.envs.values())


def test_vercel_staging_note(moai: Run, apis: tuple) -> None:  # type: ignore[type-arg]
    env, _, _, project = apis
    r = moai("env", "list", "--env", "staging", "--platform", "vercel", cwd=project, env=env)
    assert r.returncode == 0 and "preview" in r.stderr


def test_pull_and_push(moai: Run, apis: tuple) -> None:  # type: ignore[type-arg]
    env, vfake, _, project = apis
    moai("env", "set", "PLAIN", "a b", "--env", "preview", cwd=project, env=env)
    moai("env", "set", "HIDDEN", "h", "--env", "preview", "--secret", cwd=project, env=env)
    r = moai("env", "pull", "--env", "preview", cwd=project, env=env)
    assert r.returncode == 0, r.stderr
    pulled = (project / ".env.preview.local").read_text()
    assert 'PLAIN="a b"' in pulled and "HIDDEN=" not in pulled
    assert "HIDDEN" in r.stderr and "could not be read" in r.stderr
    src = project / "push.env"
    src.write_text("PLAIN=a b\nNEW=1\n")
    r = moai("env", "push", "--env", "preview", "--file", str(src), "--dry-run", "--json", cwd=project, env=env)
    assert json.loads(r.stdout) == {"added": ["NEW"], "changed": [], "unchanged": ["PLAIN"], "dry_run": True}
    r = moai("env", "push", "--env", "preview", "--file", str(src), cwd=project, env=env)
    assert r.returncode == 0 and "1 added" in r.stdout
    assert any(e["key"] == "NEW" for e in next(iter(vfake.envs.values())))


def test_bad_input(moai: Run, apis: tuple) -> None:  # type: ignore[type-arg]
    env, _, _, project = apis
    no_token = {**env, "VERCEL_TOKEN": ""}
    r = moai("env", "list", "--env", "production", cwd=project, env=no_token)
    assert r.returncode == 1 and "VERCEL_TOKEN" in r.stderr and "Hint:" in r.stderr
    r = moai("env", "list", "--env", "nowhere", cwd=project, env=env)
    assert r.returncode == 1 and "nowhere" in r.stderr
    r = moai("env", "set", "1BAD", "x", "--env", "production", cwd=project, env=env)
    assert r.returncode == 2 and "1BAD" in r.stderr
    r = moai("env", "list", cwd=project, env=env)  # --env defaults to development, as documented
    assert r.returncode == 0 and "development" in r.stdout
    r = moai("env", "push", "--env", "preview", "--file", "missing.env", cwd=project, env=env)
    assert r.returncode == 2 and "missing.env" in r.stderr


def test_push_secrets_to_supabase(moai: Run, tmp_path: Path) -> None:
    from tests.fakes import serve_handler
    from tests.fakes.supabase_api import FakeSupabaseApi

    ref = "abcdefghijklmnopqrst"
    (tmp_path / "moai.toml").write_text(
        f'[project]\nname = "site"\n[environments.production]\nsupabase_project_ref = "{ref}"\n')
    (tmp_path / "secrets.env").write_text("STRIPE_KEY=sk_test_1\nWEBHOOK_SECRET=whsec\n")
    fake = FakeSupabaseApi()
    with serve_handler(fake.handle) as url:
        env = {"SUPABASE_ACCESS_TOKEN": "sbp_test", "MOAI_SUPABASE_API_URL": url}
        r = moai("env", "push", "--platform", "supabase", "--env", "production", "--file", "secrets.env",
                 cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        assert set(fake.projects[ref].secrets) == {"STRIPE_KEY", "WEBHOOK_SECRET"}
        listing = json.loads(moai("env", "list", "--platform", "supabase", "--env", "production", "--json",
                                  cwd=tmp_path, env=env).stdout)
        assert {v["key"] for v in listing["variables"]} == {"STRIPE_KEY", "WEBHOOK_SECRET"}
        assert all(v["value"] is None and v["secret"] for v in listing["variables"])
        (tmp_path / "bad.env").write_text("SUPABASE_URL=x\n")
        r = moai("env", "push", "--platform", "supabase", "--env", "production", "--file", "bad.env",
                 cwd=tmp_path, env=env)
        assert r.returncode != 0 and "SUPABASE_" in r.stderr
        assert "SUPABASE_URL" not in fake.projects[ref].secrets
