"""Contract test: every request the Vercel and Netlify adapters send is an
operation of the platform's official spec (method, path template, query
parameters, JSON body against the request schema), except the listed known
exceptions. The fixtures in conftest.py apply the same check to every other
provider test; this file drives each adapter through all of its calls.
"""

from __future__ import annotations

import json

from moai_adk.providers.base import DeployTarget
from tests.fakes import Recorded, spec_check
from tests.fakes.netlify import FakeNetlify
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
    assert vercel.check(_rec("POST", "/v13/deployments", {"files": []}))  # name is required
    assert vercel.check(_rec("POST", "/v13/deployments", {"name": "x"}, {"bogus": ["1"]}))
    assert vercel.check(_rec("POST", "/v13/deployments", {"name": "x", "files": [{"file": "a", "sha": "b", "zzz": 1}]}))
    assert vercel.check(_rec("POST", "/v10/projects/p/env", {"key": "A", "value": "v", "type": "weird", "target": ["production"]}))
    assert vercel.check(_rec("GET", "/v99/unknown"))
    # the documented exceptions pass
    assert vercel.check(_rec("POST", "/v13/deployments", {"name": "x", "files": [{"file": "a", "sha": "b", "size": 1, "mode": 33188}]})) == []
    assert vercel.check(_rec("POST", "/v9/projects/prj_1/rollback/dpl_1", {})) == []
    netlify = spec_check.load("netlify")
    assert netlify.check(_rec("PUT", "/sites/s/deploys/d", {"files": {}, "async": "yes"}))
    assert netlify.check(_rec("PATCH", "/accounts/a/env/K", {"context": "everywhere", "value": "x"}))
    assert netlify.check(_rec("GET", "/sites/s/deploys", query={"perPage": ["5"]}))


def test_the_spec_is_loaded_once() -> None:
    assert spec_check.load("vercel") is spec_check.load("vercel")
    assert spec_check.load.cache_info().currsize >= 1
