"""Function rewrites resolved as firebase-tools does (2nd gen -> Cloud Run), and the files every
Firebase deploy leaves out of the public folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import ConfigError
from moai_adk.providers.base import DeployTarget
from tests.fakes.firebase import FakeFirebase, firebase_provider


def project(root: Path, hosting: dict[str, Any], files: dict[str, str] | None = None) -> Path:
    (root / "firebase.json").write_text(json.dumps({"hosting": {"public": "dist", **hosting}}))
    out = root / "dist"
    for rel, text in {"index.html": "home", **(files or {})}.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    return out


def deploy(fake: FakeFirebase, root: Path, out: Path, **settings: str) -> dict[str, Any]:
    provider = firebase_provider(fake, root, settings={"site": "demo-site", **settings})
    d = provider.deploy(take_snapshot(out, ("gzip-sha256",)), DeployTarget())
    assert fake.violations == []
    return dict(fake.sites["demo-site"].versions[d.id]["config"])


def test_a_rewrite_to_a_2nd_gen_function_becomes_its_cloud_run_service(tmp_path: Path) -> None:
    fake = FakeFirebase()
    fake.add_function("api", "europe-west1", service="api-svc")
    fake.add_function("legacy", "asia-east1", gen2=False)
    fake.add_function("ssr", "us-central1")
    fake.add_function("ssr", "europe-west1")
    fake.add_function("other", "us-east1")  # five functions: the listing takes three pages
    out = project(tmp_path, {"rewrites": [
        {"source": "/api/**", "function": {"functionId": "api"}},
        {"source": "/legacy/**", "function": "legacy"},
        {"source": "/ssr/**", "function": {"functionId": "ssr"}},
        {"source": "/eu/**", "function": {"functionId": "ssr", "region": "europe-west1"}},
        {"source": "/gone/**", "function": "nowhere", "region": "us-east4"},
        {"source": "**", "destination": "/index.html"},
    ]})
    config = deploy(fake, tmp_path, out)
    assert config["rewrites"] == [
        {"glob": "/api/**", "run": {"serviceId": "api-svc", "region": "europe-west1"}},
        {"glob": "/legacy/**", "function": "legacy", "functionRegion": "asia-east1"},
        {"glob": "/ssr/**", "run": {"serviceId": "ssr", "region": "us-central1"}},
        {"glob": "/eu/**", "run": {"serviceId": "ssr", "region": "europe-west1"}},
        {"glob": "/gone/**", "function": "nowhere", "functionRegion": "us-east4"},
        {"glob": "**", "path": "/index.html"},
    ]
    listing = [c for c in fake.calls if c.path.startswith("/v2/")]
    assert [c.path for c in listing] == ["/v2/projects/demo-project/locations/-/functions"] * 3
    assert all(c.authorization.startswith("Bearer ya29.") for c in listing)


def test_no_function_rewrite_no_lookup(tmp_path: Path) -> None:
    fake = FakeFirebase()
    deploy(fake, tmp_path, project(tmp_path, {"rewrites": [{"source": "**", "destination": "/index.html"}]}))
    assert not any(c.path.startswith("/v2/") for c in fake.calls)


@pytest.mark.parametrize(("functions", "rewrite", "match"), [
    ([("api", "europe-west1")], {"functionId": "api", "region": "us-east1"}, "deployed in europe-west1"),
    ([("api", "europe-west1"), ("api", "asia-east1")], {"functionId": "api"}, "several regions"),
])
def test_a_rewrite_that_matches_no_region_is_refused_before_a_version_exists(
        tmp_path: Path, functions: list[tuple[str, str]], rewrite: dict[str, str], match: str) -> None:
    fake = FakeFirebase()
    for fid, region in functions:
        fake.add_function(fid, region)
    out = project(tmp_path, {"rewrites": [{"source": "/api/**", "function": rewrite}]})
    with pytest.raises(ConfigError, match=match) as info:
        deploy(fake, tmp_path, out)
    assert "hosting.rewrites[0].function" in info.value.message and info.value.hint
    assert fake.sites["demo-site"].versions == {}


def test_without_permission_to_list_functions_the_function_form_is_sent(tmp_path: Path) -> None:
    fake = FakeFirebase()
    fake.add_function("api", "europe-west1")
    out = project(tmp_path, {"rewrites": [{"source": "/api/**", "function": {"functionId": "api"}}]})
    config = deploy(fake, tmp_path, out, project="someone-elses-project")  # the fake answers 403
    assert config["rewrites"] == [{"glob": "/api/**", "function": "api"}]
    assert [c.status for c in fake.calls if c.path.startswith("/v2/")] == [403]


def test_firebase_tools_default_ignores_apply_to_the_public_folder(tmp_path: Path) -> None:
    fake = FakeFirebase()
    out = project(tmp_path, {"ignore": ["*.map"]}, {
        "firebase-debug.log": "log", "docs/firebase-debug.log": "log", "firebase-debug.2.log": "log",
        ".firebase/hosting.ZGlzdA.cache": "cache", "app.js": "js", "app.js.map": "map",
        "keep/firebase-debug.txt": "kept",
    })
    config_sent = deploy(fake, tmp_path, out)
    assert config_sent == {}
    populated = [json.loads(c.body)["files"] for c in fake.calls if c.path.endswith(":populateFiles")]
    assert sorted(p for batch in populated for p in batch) == ["/app.js", "/index.html", "/keep/firebase-debug.txt"]
