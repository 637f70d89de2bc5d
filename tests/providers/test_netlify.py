"""Netlify provider against the stateful fake: digest deploy, netlify.toml, errors, linking."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import (
    AuthError,
    ConfigError,
    DeployFailed,
    LimitError,
    NotFoundError,
    ProviderError,
    SnapshotError,
)
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.netlify import NetlifyProvider, _deploy
from tests.fakes import Faults
from tests.fakes.netlify import FakeNetlify

from .conftest import Harness, SleepRecorder, netlify_context, write_site

PROD = DeployTarget(environment="production", production=True)


def linked(h: Harness, **kw: object) -> NetlifyProvider:
    p = h.provider(**kw)
    assert isinstance(p, NetlifyProvider)
    p.link()
    return p


def test_link_creates_site_and_writes_state(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    result = netlify.provider().link()
    state = json.loads((netlify.root / ".netlify" / "state.json").read_text())
    assert state["siteId"] == result.id and result.id in netlify_fake.sites
    assert netlify.provider().link().created is False
    assert len(netlify_fake.sites) == 1


def test_site_id_from_environment(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    site = netlify_fake.add_site("other")
    p = netlify.provider(environ={"NETLIFY_SITE_ID": site["id"]})
    assert p.link().id == site["id"]
    assert not (netlify.root / ".netlify").exists()


def test_small_deploy_is_sync_and_draft(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    d = p.deploy(netlify.snapshot({"index.html": "<h1>x</h1>", "a b/c#d.txt".replace("#", "_"): "y"}, p), PROD)
    create = [r for r in netlify_fake.requests if r.method == "POST" and r.path.endswith("/deploys")][0]
    assert create.json() == {"draft": True}
    update = [r for r in netlify_fake.requests if r.method == "PUT" and "/deploys/" in r.path and "/files/" not in r.path][0]
    body = update.json()
    assert body["async"] is False and body["draft"] is True
    assert body["files"]["index.html"] == hashlib.sha1(b"<h1>x</h1>").hexdigest()
    uploads = [r for r in netlify_fake.requests if "/files/" in r.path]
    assert any(r.raw_path.endswith("/files/a%20b/c_d.txt") for r in uploads)  # URL-encoded path
    assert all(r.headers["content-type"] == "application/octet-stream" for r in uploads)
    assert d.state == "ready" and not d.production
    assert netlify_fake.sites[p.site_id()]["published_deploy"] is None


def test_large_deploy_is_async_and_waits_for_the_diff(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    netlify_fake.diff_polls = 2
    p = linked(netlify)
    files = {f"p/{i}.html": f"page {i}" for i in range(150)}
    d = p.deploy(netlify.snapshot(files, p), PROD)
    update = [r for r in netlify_fake.requests if r.method == "PUT" and r.path.endswith(d.id)][0]
    assert update.json()["async"] is True
    states_polled = [r for r in netlify_fake.requests if r.method == "GET" and r.path.endswith(d.id)]
    assert len(states_polled) >= 3
    assert d.stats.files_uploaded == 150


def test_branch_preview_uses_branch_alias_not_draft(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    d = p.deploy(netlify.snapshot({"index.html": "b"}, p),
                 DeployTarget(environment="staging", branch="staging"))
    create = [r for r in netlify_fake.requests if r.method == "POST" and r.path.endswith("/deploys")][0]
    assert create.json() == {"draft": False, "branch": "staging"}
    assert d.url and d.url.startswith("https://staging--")
    assert netlify_fake.sites[p.site_id()]["published_deploy"] is None


def test_netlify_toml_is_resolved_into_the_manifest(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    (netlify.root / "netlify.toml").write_text(
        '[build]\npublish = "dist"\ncommand = "make"\n[build.environment]\nA = "1"\n'
        '[context.production]\ncommand = "make prod"\n[context.production.environment]\nA = "2"\n'
        '[context.deploy-preview]\ncommand = "make preview"\n'
        '[[redirects]]\nfrom = "/old"\nto = "/new"\nstatus = 301\n'
        '[[headers]]\nfor = "/*"\n[headers.values]\nX-Frame-Options = "DENY"\n')
    p = linked(netlify)
    p.deploy(netlify.snapshot({"index.html": "i"}, p), PROD)
    update = [r for r in netlify_fake.requests if r.method == "PUT" and "/files/" not in r.path][0].json()
    sha = update["files"]["netlify.toml"]
    sent = tomllib.loads(netlify_fake.blobs[sha].decode())
    assert sent["build"]["command"] == "make prod" and sent["build"]["environment"] == {"A": "2"}
    assert sent["redirects"] == [{"from": "/old", "to": "/new", "status": 301}]
    assert sent["headers"][0]["values"] == {"X-Frame-Options": "DENY"}
    assert "context" not in sent


def test_invalid_netlify_toml_stops_before_deploy(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    (netlify.root / "netlify.toml").write_text('[[redirects]]\nfrom = "/a"\n')
    p = linked(netlify)
    with pytest.raises(ConfigError) as err:
        p.deploy(netlify.snapshot({"index.html": "i"}, p), PROD)
    assert "netlify.toml" in err.value.message and "`to`" in err.value.message
    assert not [r for r in netlify_fake.requests if "/deploys" in r.path]


def test_names_with_hash_or_question_mark_are_refused(netlify: Harness) -> None:
    p = linked(netlify)
    with pytest.raises(SnapshotError) as err:
        p.deploy(netlify.snapshot({"what?.html": "q"}, p), PROD)
    assert "what?.html" in err.value.message


def test_per_folder_file_limit(tmp_path: Path) -> None:
    paths = [f"big/{i}.txt" for i in range(60)] + ["index.html"]
    _deploy.check_directories(paths, tmp_path, limit=60)
    with pytest.raises(LimitError) as err:
        _deploy.check_directories(paths + ["big/extra.txt"], tmp_path, limit=60)
    assert "big" in err.value.message and "61" in err.value.message


def test_no_token(netlify: Harness) -> None:
    with pytest.raises(AuthError) as err:
        netlify.provider(environ={"NETLIFY_AUTH_TOKEN": ""}).link()
    assert "NETLIFY_AUTH_TOKEN" in err.value.message and "personal-access-tokens" in (err.value.hint or "")


def test_revoked_token(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    netlify_fake.tokens.clear()
    with pytest.raises(AuthError) as err:
        p.deploy(netlify.snapshot({"index.html": "x"}, p), PROD)
    assert err.value.status == 401 and "NETLIFY_AUTH_TOKEN" in (err.value.hint or "")


def test_unknown_site_hints_at_link(netlify: Harness) -> None:
    (netlify.root / ".netlify").mkdir()
    (netlify.root / ".netlify" / "state.json").write_text('{"siteId": "gone"}')
    p = netlify.provider()
    with pytest.raises(NotFoundError) as err:
        p.list_deployments()
    assert "moai-adk init --baas netlify --link" in (err.value.hint or "")


def test_non_json_answer(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    netlify_fake.raw_answer = (200, b"Bad gateway", "text/plain")
    with pytest.raises(ProviderError) as err:
        p.list_deployments()
    assert "not JSON" in err.value.message


def test_failed_deploy_shows_message_and_url_and_keeps_production(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    live = p.promote(p.deploy(netlify.snapshot({"index.html": "v1"}, p), PROD).id)
    netlify_fake.fail_next_deploy = "Failed to process the _redirects file"
    with pytest.raises(DeployFailed) as err:
        p.deploy(netlify.snapshot({"index.html": "v2"}, p), PROD)
    failed = [d for d in netlify_fake.deploys.values() if d["state"] == "error"][0]
    assert "Failed to process the _redirects file" in err.value.message
    assert failed["deploy_ssl_url"] in err.value.message and "Production was not changed" in err.value.message
    assert netlify_fake.published_id(p.site_id() or "") == live.id


def test_upload_retries_through_429_and_503(tmp_path: Path) -> None:
    fake = FakeNetlify(faults=Faults(rate_429=0.3, rate_503=0.1, paths=(r"^/deploys/.+/files/",)))
    sleeps = SleepRecorder()
    p = NetlifyProvider(netlify_context(tmp_path, fake, sleeps))
    p.link()
    files = {f"p{i}.html": f"page {i}" for i in range(60)}
    d = p.deploy(take_snapshot(write_site(tmp_path / "dist", files), p.hash_algorithms), PROD)
    assert fake.faults.injected > 5 and 1.0 in sleeps.calls
    assert d.stats.files_uploaded == 60 and len(fake.deploys) == 1
    assert all(hashlib.sha1(c.encode()).hexdigest() in fake.blobs for c in files.values())


def test_rollback_with_nothing_earlier_is_clear(netlify: Harness) -> None:
    p = linked(netlify)
    p.promote(p.deploy(netlify.snapshot({"index.html": "only"}, p), PROD).id)
    with pytest.raises(NotFoundError) as err:
        p.rollback()
    assert "no earlier published deploy" in err.value.message


def test_env_secret_and_all_context(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = linked(netlify)
    netlify_fake.env["SHARED"] = {"key": "SHARED", "scopes": [], "is_secret": False, "updated_at": "",
                                  "values": [{"id": "v1", "value": "everywhere", "context": "all"}]}
    assert {v.key: v.value for v in p.env_list("preview")}["SHARED"] == "everywhere"
    p.env_unset("preview", "SHARED")  # others keep it
    assert "SHARED" not in {v.key for v in p.env_list("preview")}
    assert {v.key: v.value for v in p.env_list("production")}["SHARED"] == "everywhere"
    p.env_set("production", "TOKEN", "t0k", secret=True)
    assert netlify_fake.env["TOKEN"]["is_secret"] is True
    assert {v.key: v.value for v in p.env_list("production")}["TOKEN"] is None
    assert {v.key: v.value for v in p.env_list("development")} == {"SHARED": "everywhere"}


def test_first_deploy_from_an_unlinked_folder_creates_the_site(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    p = netlify.provider()
    d = p.deploy(netlify.snapshot({"index.html": "x"}, p), DeployTarget(environment="production", production=True))
    state = json.loads((netlify.root / ".netlify" / "state.json").read_text())
    assert state["siteId"] in netlify_fake.sites and d.id
    again = netlify.provider()
    again.deploy(netlify.snapshot({"index.html": "y"}, again), DeployTarget())
    assert len(netlify_fake.sites) == 1
