"""Vercel and production: the promote call and its queued answer, a new project's
first deployment going live by itself, and readiness that includes the aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from moai_adk.config import load_config
from moai_adk.deploy import pipeline
from moai_adk.errors import DeployFailed, HealthCheckFailed
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.vercel import VercelProvider, _deploy
from tests.fakes.vercel import FakeVercel

from .conftest import VERCEL_URL, Harness, write_site

PROD = DeployTarget(environment="production", production=True)
PREVIEW = DeployTarget(environment="preview")


def linked(h: Harness) -> VercelProvider:
    p = h.provider()
    assert isinstance(p, VercelProvider)
    p.link()
    return p


def promote_calls(fake: FakeVercel) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and "/promote/" in r.path]


# -- item 2: POST /v10/projects/{id}/promote/{dpl} ------------------------------------------

def test_fake_refuses_a_promote_without_a_json_body() -> None:
    fake = FakeVercel(build_steps=1)  # not the fixture's: these requests break the spec on purpose
    project = fake.add_project("site")
    with httpx.Client(transport=fake.transport(), base_url=VERCEL_URL,
                      headers={"Authorization": "Bearer test-token"}) as client:
        created = client.post("/v13/deployments", json={"name": "site", "project": project["id"], "files": []})
        dpl = created.json()["id"]
        polls = [client.get(f"/v13/deployments/{dpl}").json() for _ in range(5)]
        assert [d["readyState"] for d in polls] == ["BUILDING", "READY", "READY", "READY", "READY"]
        assert [d["aliasAssigned"] for d in polls] == [False, False, False, True, True]  # a bit after READY
        url = f"/v10/projects/{project['id']}/promote/{dpl}"
        assert client.post(url).status_code == 400
        assert client.post(url, content=b"{}").status_code == 400  # not declared as JSON
        assert client.post(url, json={}).status_code == 201
    assert [v for v in fake.violations if "sends a body" in v]  # the untyped body is outside the spec as well
    fake.violations.clear()  # broken on purpose: not a failure of this test


def test_promote_of_a_production_deployment_sends_an_empty_json_body(vercel: Harness,
                                                                     vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    first = p.deploy(vercel.snapshot({"index.html": "1"}, p), PROD)
    second = p.promote(p.deploy(vercel.snapshot({"index.html": "2"}, p), PROD).id)
    assert vercel_fake.production_id(p.linked().project_id) == second.id
    again = p.promote(first.id)  # back to a production-target deployment: the promote API
    assert again.id == first.id and again.production and "promotion" not in again.extra
    [call] = promote_calls(vercel_fake)
    assert call.json() == {} and call.headers["content-type"] == "application/json" and call.status == 201
    assert vercel_fake.production_id(p.linked().project_id) == first.id


def test_promote_queued_behind_a_rolling_release_returns_at_once(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    first = p.deploy(vercel.snapshot({"index.html": "1"}, p), PROD)
    second = p.promote(p.deploy(vercel.snapshot({"index.html": "2"}, p), PROD).id)
    vercel_fake.rolling_release = True
    sleeps_before, requests_before = len(vercel.sleeps.calls), len(vercel_fake.requests)
    queued = p.promote(first.id)
    assert [c.status for c in promote_calls(vercel_fake)] == [202]
    assert queued.id == first.id and queued.production is False
    assert queued.extra["promotion"] == "queued" and "rolling release" in queued.extra["notice"]
    assert vercel_fake.queued_promotions == [(p.linked().project_id, first.id)]
    assert vercel_fake.production_id(p.linked().project_id) == second.id  # not switched (yet)
    assert len(vercel.sleeps.calls) == sleeps_before  # no waiting for an alias job that has not started
    assert len(vercel_fake.requests) - requests_before <= 4


# -- item 3: a new project's first deployment becomes production ------------------------------

def test_first_deploy_of_a_new_project_goes_live_and_is_announced_before(vercel: Harness,
                                                                         vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    assert p.first_deploy_goes_live() is True
    warning = p.deploy_notice(DeployTarget())
    assert warning is not None and "first deployment" in warning and "production" in warning
    d = p.deploy(vercel.snapshot({"index.html": "one"}, p), PREVIEW)  # even a preview deploy
    create = [r for r in vercel_fake.requests if r.path == "/v13/deployments" and r.status == 200][0]
    assert "target" not in create.json()  # we asked for a preview; Vercel chose production
    assert d.production is True and d.target == "production"
    assert d.extra["became_production"] is True and d.extra["notice"] == warning
    assert d.production_url == "https://site.vercel.app"
    assert vercel_fake.production_id(p.linked().project_id) == d.id
    assert p.first_deploy_goes_live() is False and p.deploy_notice(DeployTarget()) is None
    later = p.deploy(vercel.snapshot({"index.html": "two"}, p), PROD)
    assert later.production is False and "became_production" not in later.extra
    assert vercel_fake.production_id(p.linked().project_id) == d.id


def test_first_deploy_check_creates_nothing_for_an_unlinked_folder(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = vercel.provider()
    assert isinstance(p, VercelProvider)
    assert p.first_deploy_goes_live() is True  # the project does not exist yet
    assert vercel_fake.projects == {} and not (vercel.root / ".vercel").exists()
    assert not [r for r in vercel_fake.requests if r.method != "GET"]
    other = vercel.provider()  # someone else's first deploy makes the project serve production
    other.deploy(vercel.snapshot({"index.html": "live"}, other), PROD)
    seen = len(vercel_fake.requests)
    assert p.first_deploy_goes_live() is False
    assert not [r for r in vercel_fake.requests[seen:] if r.method != "GET"]


def test_promote_of_the_live_first_deployment_changes_nothing(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    d = p.deploy(vercel.snapshot({"index.html": "one"}, p), PROD)
    seen = len(vercel_fake.requests)
    promoted = p.promote(d.id)
    assert promoted.id == d.id and promoted.production is True
    assert not [r for r in vercel_fake.requests[seen:] if r.method != "GET"]


def _config(root: Path) -> Path:
    (root / "moai.toml").write_text('[project]\nname = "site"\n[build]\noutput = "dist"\n'
                                    '[deploy]\nplatform = "vercel"\nhealth_check = "/"\nhealth_timeout = 0.3\n')
    return root / "moai.toml"


def test_pipeline_first_deploy_is_health_checked_and_promotes_nothing(vercel: Harness,
                                                                      vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    cfg = load_config(_config(vercel.root))
    req = pipeline.DeployRequest(config=cfg, platform="vercel", environment="production", production=True,
                                 build=False)
    write_site(vercel.root / "dist", {"other.html": "no index: / answers 404"})
    with pytest.raises(HealthCheckFailed):  # never a success for a broken deployment that went live
        pipeline.run_deploy(req, p, environ={}, health_transport=vercel_fake.edge_transport())
    assert not promote_calls(vercel_fake)
    write_site(vercel.root / "dist", {"index.html": "<h1>good</h1>"})
    ok = pipeline.run_deploy(req, p, environ={}, health_transport=vercel_fake.edge_transport())
    assert ok.deployment is not None and ok.deployment.production


# -- item 4: readiness includes the aliases, every failure signal fails -----------------------

def test_promote_returns_once_production_aliases_point_at_it(vercel: Harness, vercel_fake: FakeVercel) -> None:
    vercel_fake.alias_steps = 3
    p = linked(vercel)
    p.deploy(vercel.snapshot({"index.html": "one"}, p), PROD)  # the first deployment: production
    d = p.deploy(vercel.snapshot({"index.html": "two"}, p), PROD)
    promoted = p.promote(d.id)
    assert promoted.production is True and promoted.extra["aliasAssigned"] is True
    assert vercel_fake.production_id(p.linked().project_id) == promoted.id
    assert vercel_fake.aliases["site.vercel.app"] == promoted.id  # the production check probes the new one


def test_alias_error_fails_the_promote_with_vercels_reason(vercel: Harness, vercel_fake: FakeVercel) -> None:
    p = linked(vercel)
    live = p.deploy(vercel.snapshot({"index.html": "one"}, p), PROD)
    d = p.deploy(vercel.snapshot({"index.html": "two"}, p), PROD)
    vercel_fake.alias_error_next = {"code": "cert_missing", "message": "No certificate for site.vercel.app"}
    with pytest.raises(DeployFailed) as err:
        p.promote(d.id)
    assert "cert_missing" in err.value.message and "No certificate for site.vercel.app" in err.value.message
    assert "alias" in err.value.message and err.value.hint
    assert vercel_fake.production_id(p.linked().project_id) == live.id


FAILURES: list[dict[str, Any]] = [
    {"readyState": "ERROR", "errorCode": "BUILD_FAILED"},
    {"readyState": "CANCELED"},
    {"readyState": "DEPLOYMENT_ERROR"},
    {"readyState": "BUILDING", "status": "BUILD_ERROR"},
    {"readyState": "READY", "aliasError": {"code": "alias_failed", "message": "could not assign"}},
    {"readyState": "READY", "checks": {"deployment-alias": {"state": "failed", "startedAt": 1}}},
    {"readyState": "READY", "checksState": "completed", "checksConclusion": "failed"},
    {"error": {"code": "forbidden", "message": "Not allowed"}},
]


@pytest.mark.parametrize("data", FAILURES, ids=lambda d: "-".join(f"{k}" for k in d))
def test_every_failure_signal_ends_the_wait_and_fails(data: dict[str, Any]) -> None:
    answer = {"id": "dpl_1", "url": "site-1.vercel.app", **data}
    with pytest.raises(DeployFailed):
        _deploy.raise_if_failed(answer)
    assert _deploy.settled(answer) is True


@pytest.mark.parametrize(("data", "done"), [
    ({"readyState": "BUILDING"}, False),
    ({"readyState": "READY", "target": "production", "aliasAssigned": False}, False),
    ({"readyState": "READY", "target": "production", "aliasAssigned": True}, True),
    ({"readyState": "READY", "target": None, "aliasAssigned": False}, True),  # a preview: nothing to assign
    ({"readyState": "READY", "alias": ["my-branch.vercel.app"], "aliasAssigned": False}, False),
])
def test_ready_means_ready_and_aliased(data: dict[str, Any], done: bool) -> None:
    assert _deploy.settled(data) is done
    _deploy.raise_if_failed(data)
