"""`moai-adk access ...`, the gate before remote changes, and `platform audit`: the real CLI against a real
local platform and the in-repo Vercel fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_adk import audit
from moai_adk.platform.audit_log import audit_path
from tests.conftest import RunningPlatform
from tests.fakes.vercel import FakeVercel

from .conftest import Run


def project(root: Path, site: str, platform: str = "local") -> Path:
    root.mkdir()
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "{platform}"\n')
    return root


def test_grant_list_revoke_on_the_local_platform(moai: Run, tmp_path: Path, local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("acc")
    root = project(tmp_path / "p", site)
    env = local_platform.environ()
    r = moai("access", "grant", "ci@example.com", "deployer", "--env", "staging", "--dry-run", "--json",
             cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["dry_run"] is True and "token" not in json.loads(r.stdout)
    r = moai("access", "grant", "ci@example.com", "deployer", "--env", "staging", "--expires", "30d", "--json",
             cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    minted = json.loads(r.stdout)
    assert minted["token"].startswith("moai_") and minted["sites"] == [site] and minted["environments"] == ["staging"]
    assert minted["expires_at"]
    r = moai("access", "list", "--json", cwd=root, env=env)
    listed = json.loads(r.stdout)["tokens"]
    assert minted["token"] not in r.stdout and any(t["id"] == minted["id"] for t in listed)
    # the staging token: deploy to staging is allowed, promote to production refused before sending
    staged = {**env, "MOAI_PLATFORM_TOKEN": minted["token"]}
    r = moai("deploy", "--env", "staging", "--skip-build", "--no-health-check", cwd=root, env=staged)
    assert r.returncode == 0, r.stderr
    before = audit_path(local_platform.data_dir).read_text()
    r = moai("promote", "abcdefghij", cwd=root, env=staged)
    assert r.returncode == 1
    assert "'ci@example.com' (deployer for staging on site" in r.stderr and "Nothing was sent" in r.stderr
    assert "cannot promote a deployment in production" in r.stderr
    assert audit_path(local_platform.data_dir).read_text() == before  # no request reached the platform
    r = moai("promote", "--from", "staging", "--to", "production", cwd=root, env=staged)  # the same gate
    assert r.returncode == 1 and "Nothing was sent" in r.stderr, r.stderr
    assert "cannot promote a deployment in production" in r.stderr
    assert audit_path(local_platform.data_dir).read_text() == before
    r = moai("access", "revoke", "ci@example.com", "--dry-run", cwd=root, env=env)
    assert r.returncode == 0 and "would revoke" in r.stdout
    r = moai("access", "revoke", "ci@example.com", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    r = moai("env", "set", "A", "1", "--env", "staging", cwd=root, env=staged)
    assert r.returncode == 1 and "revoked" in r.stderr
    entries = audit.read_entries(root)
    assert [e["action"] for e in entries if e["action"].startswith("token")] == ["token mint", "token revoke"]
    assert minted["token"] not in (root / ".moai" / "audit" / "log.jsonl").read_text()


def test_bad_input(moai: Run, tmp_path: Path, local_platform: RunningPlatform) -> None:
    root = project(tmp_path / "p", local_platform.new_site("accbad"))
    env = local_platform.environ()
    r = moai("access", "grant", "x", "deployer", "--expires", "soon", cwd=root, env=env)
    assert r.returncode == 2 and "--expires soon" in r.stderr
    r = moai("access", "grant", "x", "deployer", "--env", "prod-typo", cwd=root, env=env)
    assert r.returncode == 1 and "Unknown environment 'prod-typo'" in r.stderr and "production" in r.stderr
    r = moai("access", "grant", "x", "root", cwd=root, env=env)
    assert r.returncode == 2
    r = moai("access", "revoke", "nobody", cwd=root, env=env)
    assert r.returncode == 2 and "no valid token" in r.stderr


def test_platform_audit_over_the_api_and_from_the_data_folder(moai: Run, tmp_path: Path,
                                                              local_platform: RunningPlatform) -> None:
    local_platform.deploy(local_platform.new_site("aud"), {"index.html": b"x"})
    env = local_platform.environ()
    r = moai("platform", "audit", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert any(e["action"] == "promote" for e in json.loads(r.stdout)["entries"])
    r = moai("platform", "audit", "--verify", "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] is True
    copy = tmp_path / "copy"
    (copy / "audit").mkdir(parents=True)
    lines = audit_path(local_platform.data_dir).read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"result":"ok"', b'"result":"OK"', 1) if b'"result":"ok"' in lines[0] \
        else lines[0].replace(b'"status":', b'"status":9', 1)
    (copy / "audit" / "log.jsonl").write_bytes(b"".join(lines))
    r = moai("platform", "audit", "--verify", "--data", str(copy))
    assert r.returncode == 1 and "entry 1" in r.stderr
    r = moai("platform", "audit", "--data", str(tmp_path / "none"))
    assert r.returncode == 2 and "--data" in r.stderr
    viewer = local_platform.client().post("/_api/v1/tokens", json={"role": "viewer"}).json()["token"]
    r = moai("platform", "audit", env={**env, "MOAI_PLATFORM_TOKEN": viewer})
    assert r.returncode == 1


@pytest.fixture
def vercel(tmp_path: Path) -> Iterator[tuple[dict[str, str], FakeVercel, Path]]:
    fake = FakeVercel(build_steps=0)
    root = project(tmp_path / "v", "site", "vercel")
    proj = fake.add_project("site")
    (root / ".vercel").mkdir()
    (root / ".vercel" / "project.json").write_text(json.dumps({"projectId": proj["id"], "orgId": proj["accountId"]}))
    with fake.serve() as url:
        yield {"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": url}, fake, root


def test_cloud_policy_gates_before_any_request(moai: Run, vercel: tuple[dict[str, str], FakeVercel, Path]) -> None:
    env, fake, root = vercel
    # no policy: a solo project may do anything
    r = moai("env", "set", "A", "1", "--env", "production", cwd=root, env={**env, "MOAI_ACTOR": "solo@x"})
    assert r.returncode == 0, r.stderr
    r = moai("access", "grant", "lead@x", "admin", cwd=root, env={**env, "MOAI_ACTOR": "lead@x"})
    assert r.returncode == 0, r.stderr
    r = moai("access", "grant", "dev@x", "developer", "--env", "preview", "--env", "production", "--json",
             cwd=root, env={**env, "MOAI_ACTOR": "lead@x"})
    assert r.returncode == 0, r.stderr
    policy = json.loads((root / ".moai" / "access.json").read_text())
    assert {g["who"] for g in policy["grants"]} == {"lead@x", "dev@x"}
    sent = len(fake.requests)
    dev = {**env, "MOAI_ACTOR": "dev@x"}
    r = moai("env", "set", "A", "2", "--env", "production", cwd=root, env=dev)
    assert r.returncode == 1 and "'dev@x' (developer for preview, production) cannot change env vars in production" \
        in r.stderr and "Nothing was sent to vercel" in r.stderr
    r = moai("promote", "dpl_x", cwd=root, env=dev)
    assert r.returncode == 1 and "cannot promote a deployment in production" in r.stderr
    r = moai("env", "set", "A", "2", "--env", "production", cwd=root, env={**env, "MOAI_ACTOR": "stranger@x"})
    assert r.returncode == 1 and "'stranger@x' has no grant on vercel" in r.stderr
    assert len(fake.requests) == sent  # refused before any request
    r = moai("env", "set", "A", "2", "--env", "preview", cwd=root, env=dev)
    assert r.returncode == 0, r.stderr
    r = moai("access", "grant", "dev@x", "admin", cwd=root, env=dev)
    assert r.returncode == 1 and "is not an admin of vercel" in r.stderr
    r = moai("access", "revoke", "dev@x", cwd=root, env={**env, "MOAI_ACTOR": "lead@x"})
    assert r.returncode == 0, r.stderr
    r = moai("access", "list", "--json", cwd=root, env=env)
    assert [g["who"] for g in json.loads(r.stdout)["grants"]] == ["lead@x"]
    changes = [e for e in audit.read_entries(root) if e["action"] == "access change"]
    assert [e["details"]["op"] for e in changes] == ["grant", "grant", "revoke"]
    (root / ".moai" / "access.json").write_text("{broken")
    r = moai("env", "set", "A", "3", "--env", "preview", cwd=root, env=dev)
    assert r.returncode == 1 and ".moai/access.json" in r.stderr
