"""The spec layer of the Firebase backend fake: its routes are all in the discovery-document subsets
(Firebase Rules, Firestore Admin, Identity Toolkit, Firebase Management, Hosting), the subsets record
where they come from and are what scripts/update-specs makes of the in-repo sources, and requests the
real APIs would refuse are refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.fakes import spec_check
from tests.fakes.firebase_backend import FakeFirebaseBackend
from tests.fakes.spec_check_discovery import SpecViolation

from .test_contract import _update_specs

APIS = ("firebaserules", "firestore", "identitytoolkit", "firebasemanagement")


def test_every_route_of_the_fake_is_in_a_subset() -> None:
    fake = FakeFirebaseBackend()
    assert spec_check.uncovered_routes(fake) == []
    fake.route("GET", "/v1/projects/{p}/nothing-here", lambda rec, p: httpx.Response(200))
    assert spec_check.uncovered_routes(fake) == ["GET /v1/projects/{p}/nothing-here"]


def test_the_subsets_record_their_source_and_are_rebuilt_from_the_in_repo_sources(tmp_path: Path) -> None:
    script = _update_specs()
    for api in APIS:
        path = spec_check.SPECS_DIR / f"{api}.json"
        text = path.read_text()
        header = json.loads(text)["x-moai-subset"]
        assert "discovery-artifact-manager" in header["upstream"] and header["url"].startswith("https://")
        assert not re.search(r'"(description|summary)":"', text)
        rebuilt, missing = script.build(api, tmp_path)  # IN_REPO sources: tests/fakes/specs/sources/
        assert missing == []
        current = json.loads(text)
        assert {**rebuilt, "x-moai-subset": current["x-moai-subset"]} == current, f"run scripts/update-specs ({api})"
    assert (spec_check.SPECS_DIR / "sources" / "README.md").is_file()


@pytest.mark.parametrize(("method", "path", "query", "body", "problem"), [
    ("PATCH", "/v2/projects/p/config", {"updateMask": ["authorisedDomains"]}, {"authorizedDomains": []},
     "not a field"),
    ("PATCH", "/v2/projects/p/config", {}, {"name": "projects/p/config"}, "read-only"),
    ("POST", "/v1/projects/p/databases/(default)/collectionGroups/c/indexes", {},
     {"queryScope": "EVERYWHERE", "fields": []}, "not in"),
    ("POST", "/v1/projects/p/rulesets", {}, {"source": {"files": [{"name": "a", "content": 5}]}}, "string"),
    ("PATCH", "/v1/projects/p/releases/firebase.storage/b.appspot.com", {}, {"release": {"nam": "x"}}, "unknown"),
])
def test_requests_the_apis_would_refuse_are_refused(method: str, path: str, query: dict[str, list[str]],
                                                    body: object, problem: str) -> None:
    spec = spec_check.load("firebase_backend")
    checker = next(c for c in spec.checkers if c.match_id(method, path))  # type: ignore[attr-defined]
    with pytest.raises(SpecViolation, match=problem):
        checker.check(method, path, query, body)


def test_the_fake_checks_its_own_answers() -> None:
    fake = FakeFirebaseBackend()
    fake.projects["demo-project"].authorized_domains = [7]  # type: ignore[list-item]
    token = fake.issue_token()
    answer = fake.handle(httpx.Request("GET", "https://x/v2/projects/demo-project/config",
                                       headers={"Authorization": f"Bearer {token}"}))
    assert answer.status_code == 200 and fake.violations
    fake.violations.clear()
