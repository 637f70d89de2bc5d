"""Scoped tokens and the server-side audit log of the platform API, over real HTTP (uvicorn and granian)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from moai_adk.audit import AuditIntegrityError
from moai_adk.platform.audit_log import ServerAudit, audit_path
from moai_adk.platform.service import Platform
from tests.conftest import RunningPlatform

API = "/_api/v1"


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


def mint(p: RunningPlatform, **body: Any) -> str:
    with p.client() as c:
        r = c.post(f"{API}/tokens", json=body)
    assert r.status_code == 201, r.text
    assert "hash" not in r.json()
    return str(r.json()["token"])


def ready_deploy(p: RunningPlatform, site: str, tag: bytes) -> str:
    return p.deploy(site, {"index.html": b"<p>" + tag}, promote=False)


def audit_entries(p: RunningPlatform) -> list[dict[str, Any]]:
    with p.client() as c:
        r = c.get(f"{API}/audit", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def test_staging_deployer_cannot_promote_production_and_it_is_audited(local_platform) -> None:
    site = local_platform.new_site()
    deploy_id = ready_deploy(local_platform, site, b"a")
    token = mint(local_platform, role="deployer", name="ci-staging", environments=["staging"])
    with local_platform.client(token=token) as c:
        me = c.get(f"{API}/whoami").json()
        assert me["role"] == "deployer" and me["environments"] == ["staging"] and me["name"] == "ci-staging"
        r = c.post(f"{API}/sites/{site}/promote", json={"deploy_id": deploy_id})
    assert r.status_code == 403
    msg = r.json()["error"]["message"]
    assert "'ci-staging' (deployer for staging) cannot promote a deployment in production" in msg
    assert "deployer or admin role for production" in msg
    assert local_platform.platform.meta.site(site)["production"] is None  # nothing changed
    refused = [e for e in audit_entries(local_platform) if e.get("who") == "ci-staging"]
    assert refused[-1]["action"] == "promote" and refused[-1]["result"] == "refused"
    assert refused[-1]["status"] == 403 and refused[-1]["site"] == site
    assert refused[-1]["environment"] == "production" and refused[-1]["client"] == "127.0.0.1"


def test_viewer_cannot_promote_and_it_is_audited(local_platform) -> None:
    site = local_platform.new_site()
    deploy_id = ready_deploy(local_platform, site, b"v")
    token = mint(local_platform, role="viewer", name="watcher")
    with local_platform.client(token=token) as c:
        assert c.get(f"{API}/sites/{site}").status_code == 200
        r = c.post(f"{API}/sites/{site}/promote", json={"deploy_id": deploy_id})
    assert r.status_code == 403 and "viewer" in r.json()["error"]["message"]
    last = [e for e in audit_entries(local_platform) if e.get("who") == "watcher"][-1]
    assert (last["action"], last["result"], last["site"]) == ("promote", "refused", site)


def test_production_deployer_promotes_and_the_change_is_audited(local_platform) -> None:
    site = local_platform.new_site()
    deploy_id = ready_deploy(local_platform, site, b"p")
    token = mint(local_platform, role="deployer", name="release", environments=["production"], sites=[site])
    with local_platform.client(token=token) as c:
        assert c.post(f"{API}/sites/{site}/promote", json={"deploy_id": deploy_id}).status_code == 200
        other = local_platform.new_site()
        r = c.post(f"{API}/sites", json={"name": other})
        assert r.status_code == 403 and f"on site {other!r}" in r.json()["error"]["message"]
    done = [e for e in audit_entries(local_platform) if e.get("who") == "release" and e["result"] == "ok"]
    assert done[-1]["action"] == "promote" and done[-1]["target"] == deploy_id


def test_developer_deploys_previews_but_not_production(local_platform) -> None:
    site = local_platform.new_site()
    with local_platform.client() as c:
        c.post(f"{API}/sites", json={"name": site}).raise_for_status()
    token = mint(local_platform, role="developer", name="dev@example.com")
    body = b"<p>dev"
    sha = hashlib.sha256(body).hexdigest()
    with local_platform.client(token=token) as c:
        created = c.post(f"{API}/sites/{site}/deploys", json={"files": {"index.html": sha}})
        assert created.status_code == 201 and created.json()["environment"] == "preview"
        assert c.put(f"{API}/blobs/{sha}", content=body).status_code in (200, 201)
        assert c.post(f"{API}/deploys/{created.json()['id']}/finalize").status_code == 200
        assert c.put(f"{API}/sites/{site}/env/preview/API_URL", json={"value": "x"}).status_code == 200
        for method, path, payload in [
            ("POST", f"{API}/sites/{site}/deploys", {"files": {"index.html": sha}, "environment": "production"}),
            ("PUT", f"{API}/sites/{site}/env/production/API_URL", {"value": "x"}),
            ("PUT", f"{API}/sites/{site}/env/staging/API_URL", {"value": "x"}),
            ("POST", f"{API}/sites/{site}/promote", {"deploy_id": created.json()["id"]}),
            ("PUT", f"{API}/sites/{site}/traffic", {"weights": {}}),
            ("POST", f"{API}/cleanup", {"dry_run": True}),
            ("POST", f"{API}/tokens", {"role": "viewer"}),
        ]:
            r = c.request(method, path, json=payload)
            assert r.status_code == 403, (method, path, r.text)


def test_a_finalize_takes_the_environment_of_its_deployment(local_platform) -> None:
    site = local_platform.new_site()
    body = b"<p>staged"
    sha = hashlib.sha256(body).hexdigest()
    with local_platform.client() as c:
        c.post(f"{API}/sites", json={"name": site}).raise_for_status()
        created = c.post(f"{API}/sites/{site}/deploys", json={"files": {"i.html": sha}, "environment": "staging"})
        c.put(f"{API}/blobs/{sha}", content=body).raise_for_status()
    token = mint(local_platform, role="developer", name="dev2")
    with local_platform.client(token=token) as c:
        r = c.post(f"{API}/deploys/{created.json()['id']}/finalize")
    assert r.status_code == 403 and "in staging" in r.json()["error"]["message"]


def test_expired_token_is_401_with_a_clear_message(local_platform) -> None:
    token = mint(local_platform, role="admin", name="short-lived", expires_in=1)
    time.sleep(1.2)
    with local_platform.client(token=token) as c:
        r = c.get(f"{API}/sites")
    assert r.status_code == 401 and r.json()["error"]["code"] == "expired_token"
    assert "'short-lived'" in r.json()["error"]["message"] and "expired at" in r.json()["error"]["message"]
    last = [e for e in audit_entries(local_platform) if e.get("result") == "refused" and e.get("status") == 401][-1]
    assert last["code"] == "expired_token" and last["token"]


def test_revoked_token_is_401_at_once(local_platform) -> None:
    token = mint(local_platform, role="deployer", name="leaked")
    with local_platform.client(token=token) as c:
        assert c.get(f"{API}/sites").status_code == 200  # now in the lookup cache
    with local_platform.client() as c:
        listed = c.get(f"{API}/tokens").json()["tokens"]
        mine = [t for t in listed if t["name"] == "leaked"][0]
        assert mine["last_used"] and "token" not in mine and set(mine) >= {"id", "role", "sites", "environments",
                                                                           "expires_at", "last_used"}
        assert token not in json.dumps(listed)
        r = c.delete(f"{API}/tokens/leaked")
        assert r.status_code == 200 and r.json()["revoked_at"]
        assert c.delete(f"{API}/tokens/nope").status_code == 404
    with local_platform.client(token=token) as c:
        r = c.get(f"{API}/sites")
    assert r.status_code == 401 and r.json()["error"]["code"] == "revoked_token"
    assert "'leaked'" in r.json()["error"]["message"] and "revoked" in r.json()["error"]["message"]
    actions = [(e["action"], e["result"]) for e in audit_entries(local_platform) if e.get("target") == mine["id"]]
    assert ("token mint", "ok") in actions and ("token revoke", "ok") in actions


def test_a_token_cannot_mint_beyond_its_own_scope(local_platform) -> None:
    site = local_platform.new_site()
    scoped_admin = mint(local_platform, role="admin", name="site-admin", sites=[site])
    with local_platform.client(token=scoped_admin) as c:
        assert c.post(f"{API}/tokens", json={"role": "viewer", "name": "x", "sites": [site]}).status_code == 201
        r = c.post(f"{API}/tokens", json={"role": "viewer", "name": "y"})
        assert r.status_code == 403 and "may not reach further" in r.json()["error"]["message"]
        assert {t["name"] for t in c.get(f"{API}/tokens").json()["tokens"]} == {"site-admin", "x"}
        assert c.post(f"{API}/cleanup", json={"dry_run": True}).status_code == 403
    with local_platform.client() as c:
        for bad in [{"role": "root"}, {"role": "viewer", "sites": "all"}, {"role": "viewer", "sites": []},
                    {"role": "viewer", "environments": ["no/slash"]}, {"role": "viewer", "expires_in": -5},
                    {"role": "viewer", "name": "\x00"}]:
            assert c.post(f"{API}/tokens", json=bad).status_code == 400, bad


def test_the_server_audit_log_is_private_and_verifies(local_platform) -> None:
    path = audit_path(local_platform.data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with local_platform.client() as c:
        r = c.get(f"{API}/audit/verify")
        assert r.status_code == 200 and r.json()["ok"] is True and r.json()["entries"] >= 1
    with local_platform.client(token="moai_wrong") as c:
        assert c.get(f"{API}/audit").status_code == 401


def test_refused_uploads_are_audited(local_platform) -> None:
    token = mint(local_platform, role="viewer", name="uploader-viewer")
    with local_platform.client(token=token) as c:
        assert c.put(f"{API}/blobs/{'b' * 64}", content=b"x").status_code == 403
    deadline = time.monotonic() + 5
    while not any(e.get("token") and e.get("action", "").startswith("PUT /_api/v1/blobs")
                  for e in audit_entries(local_platform)):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_tampered_server_log_names_the_entry(tmp_path: Path) -> None:
    audit = ServerAudit(tmp_path)
    for n in range(5):
        audit.record(action="promote", result="ok", status=200, who=f"user{n}", site="s", environment="production")
    assert audit.verify()["entries"] == 5
    lines = audit.path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"user2", b"user9")
    audit.path.write_bytes(b"".join(lines))
    with pytest.raises(AuditIntegrityError) as info:
        audit.verify()
    assert info.value.report["problem"]["seq"] == 3 and "entry 3" in info.value.message
    lines[2], lines[3] = lines[3], lines[2]
    audit.path.write_bytes(b"".join(lines))
    with pytest.raises(AuditIntegrityError):
        audit.verify()


def test_refusals_are_bounded(tmp_path: Path) -> None:
    audit = ServerAudit(tmp_path)
    audit._allowance = 2  # a burst nearly spent
    written = [audit.record(action="GET /x", result="refused", status=401) for _ in range(6)]
    assert written[:2] == [1, 2] and written[2:5] == [None, None, None]
    time.sleep(0.1)  # 20 a second: two more are allowed again
    assert audit.record(action="GET /x", result="refused", status=401) == 3
    assert audit.entries()[-1]["suppressed"] >= 4
    long = audit.record(action="x", result="ok", status=200, target="t" * 5000)
    assert long and len(audit.entries()[-1]["target"]) < 300


def test_an_older_data_folder_keeps_its_admin_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    db = sqlite3.connect(data / "meta.sqlite3")
    db.executescript("CREATE TABLE tokens (id TEXT PRIMARY KEY, hash TEXT UNIQUE NOT NULL, role TEXT NOT NULL,"
                     " label TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL);")
    old = "moai_old-admin-token"
    db.execute("INSERT INTO tokens VALUES ('abcd', ?, 'admin', 'created on first start', '2024-01-01T00:00:00Z')",
               (hashlib.sha256(old.encode()).hexdigest(),))
    db.commit()
    db.close()
    platform = Platform(data)
    try:
        assert platform.role_for(old) == "admin"
        row = platform.tokens.rows()[0]
        assert row.grant.sites is None and row.grant.environments is None and row.grant.expires_at is None
        assert row.public()["name"] == "created on first start"
    finally:
        platform.close()


def test_missing_token_refusal_names_no_token_value(local_platform) -> None:
    r = httpx.post(local_platform.url + f"{API}/sites/x/promote", json={"deploy_id": "a"},
                   headers={"authorization": "Bearer moai_secret-looking-value"})
    assert r.status_code == 401
    assert "moai_secret-looking-value" not in audit_path(local_platform.data_dir).read_text()
