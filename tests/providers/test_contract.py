"""Contract tests: every request the Vercel and Netlify adapters send is an
operation of the platform's official spec (method, path template, query
parameters, JSON body against the request schema), except the listed known
exceptions; the in-repo spec subsets cover every route of every fake; every
fake checks its own answers; a violation fails the test during which it
happened. The spec layer of ``FakeApi`` applies the same checks in every
other test; this file drives each adapter through all of its calls.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from moai_adk.providers.base import DeployTarget
from tests.fakes import Recorded, spec_check, take_violations
from tests.fakes.firebase import FakeFirebase
from tests.fakes.netlify import FakeNetlify
from tests.fakes.supabase_api import FakeSupabaseApi
from tests.fakes.vercel import FakeVercel

from .conftest import Harness

PROD = DeployTarget(environment="production", production=True)


def _exercise(h: Harness) -> None:
    p = h.provider()
    p.link()
    first = p.promote(p.deploy(h.snapshot({"index.html": "1", "a.css": "a"}, p), PROD).id)
    p.promote(p.deploy(h.snapshot({"index.html": "2", "a.css": "a"}, p), PROD).id)
    p.rollback()
    p.rollback(first.id)
    p.deploy(h.snapshot({"index.html": "3"}, p), DeployTarget(environment="preview", branch="feature-x"))
    p.list_deployments(limit=5)
    p.get_deployment(first.id)
    p.env_set("production", "A", "1")
    p.env_set("production", "A", "2")
    p.env_set("production", "S", "s", secret=True)
    p.env_set("preview", "A", "3")
    p.env_list("production")
    p.env_unset("production", "A")
    p.env_unset("preview", "A")


def test_vercel_requests_follow_the_spec(vercel: Harness, vercel_fake: FakeVercel) -> None:
    _exercise(vercel)
    p = vercel.providers[0]
    earlier = [d for d in p.list_deployments() if d.target == "production" and not d.production][0]
    p.promote(earlier.id)  # a production-target deployment: requestPromote
    dep = p.list_deployments()[0]
    p.assign_alias(dep.id, "x.vercel.app")  # type: ignore[attr-defined]
    p.aliases(dep.id)  # type: ignore[attr-defined]
    problems = spec_check.check_all("vercel", vercel_fake.requests)
    assert problems == []
    used = spec_check.operations_used("vercel", vercel_fake.requests)
    assert {"getProject", "createProject", "createDeployment", "uploadFile", "getDeployment", "getDeployments",
            "requestPromote", "filterProjectEnvs", "createProjectEnv", "getProjectEnv", "editProjectEnv",
            "removeProjectEnv", "assignAlias", "listDeploymentAliases"} <= used
    outside = {u for u in used if " " in u}
    assert all("/rollback/" in u for u in outside) and outside  # the one known exception


def test_netlify_requests_follow_the_spec(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    _exercise(netlify)
    problems = spec_check.check_all("netlify", netlify_fake.requests)
    assert problems == []
    used = spec_check.operations_used("netlify", netlify_fake.requests)
    assert {"listSites", "createSite", "getSite", "createSiteDeploy", "updateSiteDeploy", "getSiteDeploy",
            "uploadDeployFile", "restoreSiteDeploy", "rollbackSiteDeploy", "listSiteDeploys", "getEnvVars",
            "createEnvVars", "getEnvVar", "setEnvVarValue"} <= used
    assert not {u for u in used if " " in u}


def _rec(method: str, path: str, body: object = None, query: dict[str, list[str]] | None = None) -> Recorded:
    raw = json.dumps(body).encode() if body is not None else b""
    return Recorded(method, path, path, query or {}, {"content-type": "application/json"}, raw)


def test_the_checker_catches_what_the_spec_forbids() -> None:
    vercel = spec_check.load("vercel")
    assert isinstance(vercel, spec_check.Spec)
    assert vercel.check(_rec("POST", "/v13/deployments", {"files": []}))  # name is required
    assert vercel.check(_rec("POST", "/v13/deployments", {"name": "x"}, {"bogus": ["1"]}))
    assert vercel.check(_rec("POST", "/v13/deployments", {"name": "x", "files": [{"file": "a", "sha": "b", "zzz": 1}]}))
    assert vercel.check(_rec("POST", "/v10/projects/p/env", {"key": "A", "value": "v", "type": "weird", "target": ["production"]}))
    assert vercel.check(_rec("GET", "/v99/unknown"))
    # the documented exceptions pass
    assert vercel.check(_rec("POST", "/v13/deployments", {"name": "x", "files": [{"file": "a", "sha": "b", "size": 1, "mode": 33188}]})) == []
    assert vercel.check(_rec("POST", "/v9/projects/prj_1/rollback/dpl_1", {})) == []
    assert vercel.check(_rec("POST", "/v10/projects/prj_1/promote/dpl_1", {})) == []  # the CLI's `{}`
    promote_text = Recorded("POST", "/v10/projects/p/promote/d", "", {}, {"content-type": "text/plain"}, b"{}")
    assert vercel.check(promote_text)
    netlify = spec_check.load("netlify")
    assert isinstance(netlify, spec_check.Spec)
    assert netlify.check(_rec("PUT", "/sites/s/deploys/d", {"files": {}, "async": "yes"}))
    assert netlify.check(_rec("PATCH", "/accounts/a/env/K", {"context": "everywhere", "value": "x"}))
    assert netlify.check(_rec("GET", "/sites/s/deploys", query={"perPage": ["5"]}))


def test_the_spec_is_loaded_once() -> None:
    assert spec_check.load("vercel") is spec_check.load("vercel")
    assert spec_check.load.cache_info().currsize >= 1


# -- the in-repo spec subsets and the spec layer of every fake ----------------------------------------------------

FAKES = {"vercel": FakeVercel, "netlify": FakeNetlify, "firebase": FakeFirebase, "supabase": FakeSupabaseApi}


@pytest.mark.parametrize("platform", sorted(FAKES))
def test_the_spec_subset_covers_every_route_of_the_fake(platform: str) -> None:
    fake = FAKES[platform]()
    assert fake.label == platform and fake.templates
    missing = spec_check.uncovered_routes(fake)
    assert missing == [], (f"the {platform} fake routes {missing}, which tests/fakes/specs/{platform}.json does not "
                           "have: run `.venv/bin/python scripts/update-specs` (or list a known exception)")
    fake.route("GET", "/v99/not-in-any-spec/{id}", lambda rec, id: httpx.Response(200))
    assert spec_check.uncovered_routes(fake) == ["GET /v99/not-in-any-spec/{id}"]


def test_the_spec_subsets_record_their_source_and_stay_small() -> None:
    total = 0
    for platform in FAKES:
        path = spec_check.SPECS_DIR / f"{platform}.json"
        total += path.stat().st_size
        header = json.loads(path.read_text())["x-moai-subset"]
        assert header["source_file"] and header["upstream"] and header["url"].startswith("https://")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", header["extracted"]) and len(header["source_sha256"]) == 64
    assert total < 600_000
    for platform in FAKES:  # documentation stripped; "description" stays only as a property name
        text = (spec_check.SPECS_DIR / f"{platform}.json").read_text()
        assert not re.search(r'"(description|summary|example)":"', text), platform


@pytest.mark.parametrize(("platform", "spoil", "method", "path"), [
    ("vercel", lambda f: f.add_project("q").update(nodeVersion="7.x"), "GET", "/v10/projects"),
    ("netlify", lambda f: f.add_site("s").update(name=None, id=5), "GET", "/api/v1/sites"),
    ("firebase", lambda f: f.sites["demo-site"].channels["live"].update(retainedReleaseCount="ten"),
     "GET", "/v1beta1/projects/-/sites/demo-site/channels"),
    ("supabase", lambda f: f.projects["abcdefghijklmnopqrst"].functions.update(x={"slug": 7}),
     "GET", "/v1/projects/abcdefghijklmnopqrst/functions"),
])
def test_every_fake_checks_its_own_answers(platform: str, spoil: Any, method: str, path: str) -> None:
    fake = FAKES[platform]()
    spoil(fake)
    token = fake.issue_token() if platform == "firebase" else {"supabase": "sbp_test"}.get(platform, "test-token")
    answer = fake.handle(httpx.Request(method, f"https://api.test{path}", headers={"Authorization": f"Bearer {token}"}))
    assert answer.status_code == 200
    assert len(fake.violations) >= 1 and all(v.startswith(f"answer of the {platform} fake") for v in fake.violations)
    assert take_violations() and fake.violations == []  # what the autouse fixture collects after each test


def test_a_violation_fails_the_test_that_caused_it_with_a_clear_message() -> None:
    demo = Path(__file__).parents[1] / "fakes" / "violation_demo.py"
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", str(demo)],
                         capture_output=True, text=True, cwd=Path(__file__).parents[2], timeout=120)
    assert run.returncode == 1, run.stdout
    assert "2 errors" in run.stdout or "2 error" in run.stdout, run.stdout
    assert "outside the official API spec" in run.stdout
    assert "query parameter 'colour' is not in the spec" in run.stdout
    assert "answer of the netlify fake: GET /sites (listSites) answered 200: answer 0/name: 42 is not of type 'string'" \
        in run.stdout


def _update_specs() -> Any:
    path = Path(__file__).parents[2] / "scripts" / "update-specs"
    loader = importlib.machinery.SourceFileLoader("update_specs", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("update_specs", loader))  # type: ignore[arg-type]
    loader.exec_module(module)
    return module


def test_update_specs_keeps_the_routed_operations_and_what_they_reference(tmp_path: Path) -> None:
    script = _update_specs()
    doc = {
        "openapi": "3.0.3", "info": {"title": "T", "description": "long text", "version": "1"},
        "paths": {
            "/v1/things/{id}": {"get": {
                "operationId": "getThing", "summary": "s", "description": "d",
                "parameters": [{"name": "id", "in": "path", "required": True, "description": "d",
                                "schema": {"type": "string", "example": "x"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}}}}},
            "/v1/other": {"get": {"operationId": "other", "responses": {
                "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Other"}}}}}}},
        },
        "components": {"schemas": {
            "Thing": {"type": "object", "description": "a thing", "x-speakeasy-name": "t", "properties": {
                "description": {"type": "string", "description": "the field named description stays"},
                "part": {"$ref": "#/components/schemas/Part"}}},
            "Part": {"type": "string", "enum": ["a", "b"]},
            "Other": {"type": "object"},
        }},
    }
    out = script.subset_openapi("vercel", doc, {("GET", "/v1/things/abc")})
    assert list(out["paths"]) == ["/v1/things/{id}"]
    assert sorted(out["components"]["schemas"]) == ["Part", "Thing"]  # Other is not referenced
    assert out["components"]["schemas"]["Thing"] == {"type": "object", "properties": {
        "description": {"type": "string"}, "part": {"$ref": "#/components/schemas/Part"}}}
    assert out["paths"]["/v1/things/{id}"]["get"]["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert out["info"] == {"version": "1"}
    assert script.main(["--from", str(tmp_path), "--check"]) == 2  # no official specs there: a clear refusal
