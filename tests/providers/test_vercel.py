"""Vercel provider against the stateful fake: the handshake, limits, errors, linking, team scope."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import AuthError, DeployFailed, LimitError, NotFoundError, ProviderError, StateError
from moai_adk.providers.base import DeployTarget, Limits
from moai_adk.providers.vercel import VercelProvider
from tests.fakes import Faults
from tests.fakes.vercel import FakeVercel

from .conftest import Harness, SleepRecorder, vercel_context, write_site

PROD = DeployTarget(environment="production", production=True)


def linked(h: Harness, **kw: object) -> VercelProvider:
    p = h.provider(**kw)
    assert isinstance(p, VercelProvider)
    p.link()
    return p


def test_link_creates_project_and_writes_link_file(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = vercel.provider()
    result = p.link()
    assert result.created is True
    data = json.loads((vercel.root / ".vercel" / "project.json").read_text())
    assert data["projectId"] == result.id and data["projectId"] in vercel_fake.projects
    assert data["orgId"] == vercel_fake.projects[data["projectId"]]["accountId"]
    # linking again finds it and creates nothing
    again = vercel.provider().link()
    assert again.created is False and again.id == result.id
    assert len(vercel_fake.projects) == 1


def test_link_dry_run_creates_nothing(vercel: Harness, vercel_fake: FakeVercel) -> None:
    result = vercel.provider().link(dry_run=True)
    assert result.dry_run is True and result.created is True
    assert vercel_fake.projects == {}
    assert not (vercel.root / ".vercel").exists()


def test_link_finds_existing_project_by_name(vercel: Harness, vercel_fake: FakeVercel) -> None:
    existing = vercel_fake.add_project("site")
    result = vercel.provider().link(create=False)
    assert result.id == existing["id"] and result.created is False


def test_deploy_follows_the_client_handshake(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    files = {"index.html": "<h1>hi</h1>", "copy.html": "<h1>hi</h1>", "app.js": "console.log(1)"}
    d = p.deploy(vercel.snapshot(files, p), PROD)
    creates = [r for r in vercel_fake.requests if r.method == "POST" and r.path == "/v13/deployments"]
    assert [r.status for r in creates] == [400, 200]  # missing_files, then the deployment
    assert creates[0].body == creates[1].body  # the identical request is sent again
    body = creates[0].json()
    assert "target" not in body  # a preview: production changes only on promote
    assert body["meta"]["moaiTarget"] == "production"
    assert body["projectSettings"]["framework"] is None  # first deploy of the project
    by_file = {f["file"]: f for f in body["files"]}
    assert by_file["index.html"]["sha"] == hashlib.sha1(b"<h1>hi</h1>").hexdigest()
    assert by_file["index.html"]["size"] == 11 and by_file["index.html"]["mode"] & 0o100000
    uploads = [r for r in vercel_fake.requests if r.path == "/v2/files"]
    assert len(uploads) == 2  # two distinct contents; the copy is not sent twice
    for r in uploads:
        assert r.headers["x-vercel-digest"] == hashlib.sha1(r.body).hexdigest()
        assert int(r.headers["content-length"]) == len(r.body)
        assert r.headers["content-type"] == "application/octet-stream"
    assert d.stats.files_uploaded == 2 and d.state == "ready"
    second = p.deploy(vercel.snapshot(files, p), PROD)
    last_create = [r for r in vercel_fake.requests if r.path == "/v13/deployments"][-1].json()
    assert "projectSettings" not in last_create  # only on the first deploy
    assert second.stats.files_uploaded == 0


def test_poll_waits_through_queued_and_building(vercel: Harness, vercel_fake: FakeVercel) -> None:
    vercel_fake.build_steps = 3
    p = linked(vercel)
    d = p.deploy(vercel.snapshot({"index.html": "x"}, p), PROD)
    polls = [r for r in vercel_fake.requests if r.method == "GET" and r.path == f"/v13/deployments/{d.id}"]
    assert len(polls) >= 4 and d.state == "ready"
    assert len(vercel.sleeps.calls) >= 3  # the injected sleep paced the polls


def test_vercel_json_from_project_root_is_sent(vercel: Harness, vercel_fake: FakeVercel) -> None:
    config = b'{"cleanUrls": true}'
    (vercel.root / "vercel.json").write_bytes(config)
    p = linked(vercel)
    p.deploy(vercel.snapshot({"index.html": "x"}, p), PROD)
    body = [r for r in vercel_fake.requests if r.path == "/v13/deployments"][-1].json()
    sent = {f["file"]: f["sha"] for f in body["files"]}
    assert sent["vercel.json"] == hashlib.sha1(config).hexdigest()
    assert vercel_fake.blobs[sent["vercel.json"]] == config


def test_team_link_scopes_every_call(vercel: Harness, vercel_fake: FakeVercel) -> None:
    project = vercel_fake.add_project("site", account_id="team_abc")
    (vercel.root / ".vercel").mkdir()
    (vercel.root / ".vercel" / "project.json").write_text(json.dumps({"projectId": project["id"], "orgId": "team_abc"}))
    p = vercel.provider()
    p.deploy(vercel.snapshot({"index.html": "t"}, p), PROD)
    assert vercel_fake.requests and all(r.query.get("teamId") == ["team_abc"] for r in vercel_fake.requests)


def test_no_token_names_the_variable(vercel: Harness) -> None:
    p = vercel.provider(environ={"VERCEL_TOKEN": ""})
    with pytest.raises(AuthError) as err:
        p.link()
    assert "VERCEL_TOKEN" in err.value.message and "vercel.com/account/tokens" in (err.value.hint or "")


def test_revoked_token_is_an_auth_error(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    vercel_fake.tokens.clear()  # revoked
    with pytest.raises(AuthError) as err:
        p.deploy(vercel.snapshot({"index.html": "x"}, p), PROD)
    assert err.value.status == 401 and "VERCEL_TOKEN" in (err.value.hint or "")


def test_unknown_project_id_hints_at_link(vercel: Harness, vercel_fake: FakeVercel) -> None:
    (vercel.root / ".vercel").mkdir()
    (vercel.root / ".vercel" / "project.json").write_text('{"projectId": "prj_gone", "orgId": "user_fake0001"}')
    p = vercel.provider()
    with pytest.raises(NotFoundError) as err:
        p.deploy(vercel.snapshot({"index.html": "x"}, p), PROD)
    assert "moai-adk init --baas vercel --link" in (err.value.hint or "")
    assert not [r for r in vercel_fake.requests if r.path == "/v2/files"]


def test_first_deploy_from_an_unlinked_folder_links_or_creates_the_project(vercel: Harness,
                                                                           vercel_fake: FakeVercel) -> None:
    p = vercel.provider()
    assert not (vercel.root / ".vercel" / "project.json").exists()
    d = p.deploy(vercel.snapshot({"index.html": "x"}, p), PROD)
    link = json.loads((vercel.root / ".vercel" / "project.json").read_text())
    assert link["projectId"] in vercel_fake.projects and d.state == "ready"
    again = vercel.provider()  # a second deploy reuses the link: no second project
    again.deploy(vercel.snapshot({"index.html": "y"}, again), PROD)
    assert len(vercel_fake.projects) == 1


def test_corrupt_link_file_is_a_state_error(vercel: Harness) -> None:
    (vercel.root / ".vercel").mkdir()
    (vercel.root / ".vercel" / "project.json").write_text("{not json")
    with pytest.raises(StateError) as err:
        vercel.provider().link()
    assert "project.json" in err.value.message


def test_file_over_size_limit_stops_before_upload(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    out = write_site(vercel.root / "dist", {"index.html": "x"})
    with open(out / "huge.bin", "wb") as fh:  # sparse: no real disk use
        fh.truncate(VercelProvider.limits.max_file_size + 1)
    with pytest.raises(LimitError) as err:
        p.deploy(take_snapshot(out, p.hash_algorithms, limits=Limits()), PROD)
    assert "huge.bin" in err.value.message
    assert not [r for r in vercel_fake.requests if r.path in ("/v2/files", "/v13/deployments")]
    with pytest.raises(LimitError):  # the snapshot refuses it too, before hashing
        take_snapshot(out, p.hash_algorithms, limits=p.limits, platform="vercel")
    os.unlink(out / "huge.bin")


def test_max_file_size_setting_reaches_the_snapshot(vercel: Harness) -> None:
    p = vercel.provider(settings={"max_file_size": 10})
    assert p.limits.max_file_size == 10 and VercelProvider.limits.max_file_size == 100 * 1024 * 1024
    out = write_site(vercel.root / "dist", {"index.html": "x" * 11})
    with pytest.raises(LimitError) as err:
        take_snapshot(out, p.hash_algorithms, limits=p.limits, platform="vercel")
    assert "index.html" in err.value.message


def test_non_json_answer_is_a_clear_error(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = vercel.provider()
    vercel_fake.raw_answer = (200, b"<html>gateway</html>", "text/html")
    with pytest.raises(ProviderError) as err:
        p.link()
    assert "not JSON" in err.value.message and "gateway" in err.value.message


def test_failed_build_shows_message_and_url_and_keeps_production(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    live = p.promote(p.deploy(vercel.snapshot({"index.html": "v1"}, p), PROD).id)
    vercel_fake.fail_next_build = 'Command "npm run build" exited with 1'
    with pytest.raises(DeployFailed) as err:
        p.deploy(vercel.snapshot({"index.html": "v2"}, p), PROD)
    msg = err.value.message
    assert 'Command "npm run build" exited with 1' in msg and "BUILD_FAILED" in msg
    failed = [d for d in vercel_fake.deployments.values() if d["readyState"] == "ERROR"][0]
    assert f"https://{failed['url']}" in msg and "Production was not changed" in msg
    assert vercel_fake.production_id(p.linked().project_id) == live.id


def test_rate_limits_and_503s_are_retried_honouring_retry_after(tmp_path: Path) -> None:
    fake = FakeVercel(build_steps=0, faults=Faults(rate_429=0.3, rate_503=0.1, retry_after=1, paths=(r"^/v2/files$",)))
    sleeps = SleepRecorder()
    p = VercelProvider(vercel_context(tmp_path, fake, sleeps))
    p.link()
    files = {f"p{i}.html": f"page {i}" for i in range(60)}
    out = write_site(tmp_path / "dist", files)
    d = p.deploy(take_snapshot(out, p.hash_algorithms), PROD)
    assert fake.faults.injected > 5
    assert 1.0 in sleeps.calls  # Retry-After honoured
    assert d.stats.files_uploaded == 60
    assert all(hashlib.sha1(c.encode()).hexdigest() in fake.blobs for c in files.values())
    assert len(fake.deployments) == 1  # no duplicate deployment


def test_rollback_without_earlier_production_is_clear(vercel: Harness) -> None:
    p = linked(vercel)
    p.promote(p.deploy(vercel.snapshot({"index.html": "only"}, p), PROD).id)
    with pytest.raises(NotFoundError) as err:
        p.rollback()
    assert "earlier" in err.value.message


def test_promote_of_production_target_uses_promote_api(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    first = p.promote(p.deploy(vercel.snapshot({"index.html": "1"}, p), PROD).id)
    second = p.promote(p.deploy(vercel.snapshot({"index.html": "2"}, p), PROD).id)
    assert vercel_fake.production_id(p.linked().project_id) == second.id
    again = p.promote(first.id)  # already a production-target deployment
    assert again.id == first.id and again.production
    assert vercel_fake.count("POST", r"^/v10/projects/.+/promote/") == 1


def test_aliases(vercel: Harness) -> None:
    p = linked(vercel)
    p.deploy(vercel.snapshot({"index.html": "first"}, p), PROD)  # the project's first: production aliases
    d = p.deploy(vercel.snapshot({"index.html": "a"}, p), PROD)
    p.assign_alias(d.id, "my-preview.vercel.app")
    assert p.aliases(d.id) == ["my-preview.vercel.app"]


def test_sensitive_not_allowed_on_development_falls_back(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    p.env_set("development", "DEV_KEY", "v", secret=True)
    stored = vercel_fake.envs[p.linked().project_id][0]
    assert stored["type"] == "encrypted" and stored["target"] == ["development"]


def test_staging_maps_to_preview_or_a_custom_environment(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    p.env_set("staging", "A", "1")
    assert vercel_fake.envs[p.linked().project_id][0]["target"] == ["preview"]
    q = linked(vercel, settings={"custom_environments": {"staging": "env_custom1"}})
    q.env_set("staging", "B", "2")
    b = [e for e in vercel_fake.envs[q.linked().project_id] if e["key"] == "B"][0]
    assert b["customEnvironmentIds"] == ["env_custom1"] and b["target"] == []
    assert [v.key for v in q.env_list("staging")] == ["B"]


def test_rate_limited_create_is_retried_without_duplicating_the_deployment(tmp_path: Path) -> None:
    fake = FakeVercel(build_steps=1, faults=Faults(burst_429=3, retry_after=2, paths=(r"^/v13/deployments",)))
    sleeps = SleepRecorder()
    p = VercelProvider(vercel_context(tmp_path, fake, sleeps))
    p.link()
    d = p.deploy(take_snapshot(write_site(tmp_path / "dist", {"index.html": "x"}), p.hash_algorithms), PROD)
    assert d.state == "ready"
    assert fake.faults.injected == 3 and sleeps.calls.count(2.0) == 3
    assert len(fake.deployments) == 1
