"""Delta manifests: a deploy described against a ready parent deploy of the same site (both servers)."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import RunningPlatform

API = "/_api/v1"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


def test_a_delta_keeps_the_parents_entries_and_checks_only_the_changes(local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("delta")
    parent = local_platform.deploy(site, {"index.html": b"<h1>v1</h1>", "a.css": b"a{}" * 100, "old.txt": b"old"},
                                   promote=False)
    with local_platform.client() as c:
        r = c.post(f"{API}/sites/{site}/deploys", json={
            "parent": parent, "changes": {"index.html": sha(b"<h1>v2</h1>"), "new.txt": sha(b"new")},
            "removed": ["old.txt"], "file_count": 3})
        assert r.status_code == 201, r.text
        created = r.json()
        assert sorted(created["required"]) == sorted([sha(b"<h1>v2</h1>"), sha(b"new")])
        assert created["file_count"] == 3
        for data in (b"<h1>v2</h1>", b"new"):
            c.put(f"{API}/blobs/{sha(data)}", content=data)
        final = c.post(f"{API}/deploys/{created['id']}/finalize").json()
    assert final["state"] == "ready" and final["total_bytes"] == len(b"<h1>v2</h1>") + 300 + 3
    files, _ = local_platform.platform.meta.deploy_files(created["id"])
    parent_files, _ = local_platform.platform.meta.deploy_files(parent)
    assert files["a.css"] == parent_files["a.css"] and "old.txt" not in files
    assert files["new.txt"] == [sha(b"new"), 3, 0, 0]


@pytest.mark.parametrize("change", [
    {"file_count": 99},  # does not add up
    {"removed": ["never-there.txt"]},
    {"parent": "other"},  # a deploy of another site
    {"parent": "uploading"},  # not finalized
])
def test_a_delta_that_does_not_fit_its_parent_is_409(local_platform: RunningPlatform, change: dict[str, object]) -> None:
    site = local_platform.new_site("baddelta")
    parent = local_platform.deploy(site, {"index.html": b"x"}, promote=False)
    other = local_platform.deploy(local_platform.new_site("elsewhere"), {"index.html": b"y"}, promote=False)
    with local_platform.client() as c:
        uploading = c.post(f"{API}/sites/{site}/deploys", json={"files": {"a": sha(b"z")}}).json()["id"]
        body: dict[str, object] = {"parent": parent, "changes": {"b.txt": sha(b"b")}, "removed": [], "file_count": 2}
        body.update(change)
        body["parent"] = {"other": other, "uploading": uploading}.get(str(body["parent"]), body["parent"])
        r = c.post(f"{API}/sites/{site}/deploys", json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "bad_parent", r.text
    assert "full manifest" in r.json()["error"]["message"]


def test_a_malformed_delta_is_400(local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("maldelta")
    parent = local_platform.deploy(site, {"index.html": b"x"}, promote=False)
    with local_platform.client() as c:
        for body in ({"parent": parent, "changes": [], "file_count": 1}, {"parent": parent, "changes": {}},
                     {"parent": parent, "changes": {"../x": sha(b"x")}, "file_count": 2}):
            r = c.post(f"{API}/sites/{site}/deploys", json=body)
            assert r.status_code == 400 and r.json()["error"]["code"] in ("bad_manifest", "unsafe_path"), body
