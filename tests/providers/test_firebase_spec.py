"""The discovery-doc check behind the Firebase fake: it is on, it accepts what the
provider sends, and it rejects requests the real API would refuse."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes import spec_check
from tests.fakes.firebase import FakeFirebase
from tests.fakes.spec_check_discovery import DiscoveryDoc, SpecViolation


def _spec() -> DiscoveryDoc:
    spec = spec_check.load("firebase")
    assert isinstance(spec, DiscoveryDoc)
    return spec


SPEC = _spec()


def test_validator_accepts_the_calls_moai_adk_makes() -> None:
    ok = [
        ("POST", "/v1beta1/projects/-/sites/s/versions", {}, {"status": "CREATED", "labels": {"a": "b"}}),
        ("POST", "/v1beta1/projects/-/sites/s/versions/v1:populateFiles", {}, {"files": {"/a": "0" * 64}}),
        ("PATCH", "/v1beta1/projects/-/sites/s/versions/v1", {"updateMask": ["status,config"]},
         {"status": "FINALIZED", "config": {"rewrites": [{"glob": "**", "path": "/index.html"}], "trailingSlashBehavior": "ADD"}}),
        ("POST", "/v1beta1/projects/-/sites/s/versions:clone", {}, {"sourceVersion": "sites/o/versions/v", "finalize": True}),
        ("GET", "/v1beta1/projects/p/operations/op", {}, None),
        ("POST", "/v1beta1/projects/-/sites/s/channels", {"channelId": ["pr-1"]}, {"ttl": "604800s"}),
        ("PATCH", "/v1beta1/projects/-/sites/s/channels/pr-1", {"updateMask": ["ttl"]}, {"ttl": "60s"}),
        ("POST", "/v1beta1/projects/-/sites/s/channels/live/releases", {"versionName": ["sites/s/versions/v"]}, {"message": "m"}),
        ("GET", "/v1beta1/projects/-/sites/s/channels/live/releases", {"pageSize": ["100"]}, None),
        ("DELETE", "/v1beta1/projects/-/sites/s/channels/pr-1", {}, None),
    ]
    for method, path, query, body in ok:
        SPEC.check(method, path, query, body)


@pytest.mark.parametrize(("method", "path", "query", "body", "match"), [
    ("PUT", "/v1beta1/projects/-/sites/s/versions/v", {}, {}, "not for PUT"),
    ("POST", "/v1beta1/projects/-/sites/s/versions", {"bogus": ["1"]}, {}, "unknown query parameter"),
    ("POST", "/v1beta1/projects/-/sites/s/versions", {}, {"status": "DONE"}, "not in"),
    ("POST", "/v1beta1/projects/-/sites/s/versions", {}, {"statuz": "CREATED"}, "unknown field"),
    ("PATCH", "/v1beta1/projects/-/sites/s/versions/v", {"updateMask": ["status,confg"]}, {}, "not a field of Version"),
    ("POST", "/v1beta1/projects/-/sites/s/channels", {"channelId": ["x"]}, {"ttl": "7d"}, "duration"),
    ("POST", "/v1beta1/projects/-/sites/s/channels", {"channelId": ["x"]}, {"url": "u"}, "read-only"),
    ("GET", "/v1beta1/projects/-/sites/s/channels", {"pageSize": ["ten"]}, None, "not an integer"),
    ("POST", "/v1beta1/projects/-/sites/s/versions/v:populateFiles", {}, {"files": ["/a"]}, "expected an object"),
    ("GET", "/v2/projects/-/sites/s", {}, None, "no method"),
])
def test_validator_rejects(method: str, path: str, query: dict[str, list[str]], body: object, match: str) -> None:
    with pytest.raises(SpecViolation, match=match):
        SPEC.check(method, path, query, body)


def test_fake_answers_a_spec_violation_with_400_and_records_it() -> None:
    fake = FakeFirebase()
    with httpx.Client(transport=fake.transport(), base_url=fake.base_url,
                      headers={"Authorization": f"Bearer {fake.issue_token()}"}) as client:
        bad = client.post("/v1beta1/projects/-/sites/demo-site/versions", json={"status": "CREATED", "colour": "red"})
        good = client.post("/v1beta1/projects/-/sites/demo-site/versions", json={"status": "CREATED"})
    assert bad.status_code == 400 and "spec violation" in bad.json()["error"]["message"]
    assert good.status_code == 200
    assert len(fake.violations) == 1 and "colour" in fake.violations[0]
    fake.violations.clear()
