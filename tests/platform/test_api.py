"""The deploy API over real HTTP, including every bad input."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.conftest import RunningPlatform

API = "/_api/v1"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    """Every test of this module runs on uvicorn (ASGI) and on granian (RSGI)."""
    return each_server


@pytest.fixture()
def client(local_platform):
    with local_platform.client() as c:
        yield c


@pytest.fixture()
def site(local_platform, client) -> str:
    name = local_platform.new_site()
    assert client.post(f"{API}/sites", json={"name": name}).status_code == 201
    return name


def test_health_needs_no_token(local_platform) -> None:
    r = httpx.get(local_platform.url + f"{API}/health")
    assert r.status_code == 200 and r.json()["ok"] is True


@pytest.mark.parametrize("token", [None, "moai_wrong"])
def test_missing_or_wrong_token_is_401(local_platform, token) -> None:
    with local_platform.client(token=token) as c:
        for method, path in [("GET", f"{API}/sites"), ("POST", f"{API}/sites"), ("PUT", f"{API}/blobs/{'a' * 64}")]:
            r = c.request(method, path, json={"name": "x"})
            assert r.status_code == 401, (method, path)
            assert "MOAI_PLATFORM_TOKEN" in r.json()["error"]["message"]


def test_roles(local_platform, client, site) -> None:
    viewer = client.post(f"{API}/tokens", json={"role": "viewer"}).json()["token"]
    deployer = client.post(f"{API}/tokens", json={"role": "deployer"}).json()["token"]
    with local_platform.client(token=viewer) as v:
        assert v.get(f"{API}/sites/{site}").status_code == 200
        assert v.get(f"{API}/whoami").json()["role"] == "viewer"
        r = v.post(f"{API}/sites", json={"name": "nope"})
        assert r.status_code == 403 and "deployer" in r.json()["error"]["message"]
    with local_platform.client(token=deployer) as d:
        assert d.post(f"{API}/sites/{site}/deploys", json={"files": {"a": sha(b"a")}}).status_code == 201
        assert d.post(f"{API}/tokens", json={"role": "admin"}).status_code == 403
    assert client.post(f"{API}/tokens", json={"role": "root"}).status_code == 400


def test_tokens_are_stored_hashed(local_platform, client) -> None:
    token = client.post(f"{API}/tokens", json={"role": "viewer"}).json()["token"]
    stored = [r[0] for r in local_platform.platform.meta.query("SELECT hash FROM tokens")]
    assert token not in stored and sha(token.encode()) in stored


def test_create_site_is_idempotent_and_validates(client, local_platform) -> None:
    name = local_platform.new_site()
    assert client.post(f"{API}/sites", json={"name": name}).json()["created"] is True
    again = client.post(f"{API}/sites", json={"name": name})
    assert again.status_code == 200 and again.json()["created"] is False
    for bad in ["Upper", "a_b", "-x", "", "a.b", "x" * 64, 5]:
        r = client.post(f"{API}/sites", json={"name": bad})
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_site_name", bad
    assert client.post(f"{API}/sites", content=b"{not json").json()["error"]["code"] == "bad_json"


@pytest.mark.parametrize("path,why", [
    ("../etc/passwd", "'..'"), ("a/../../b", "'..'"), ("/abs/file", "absolute"), ("a\x00b", "NUL"),
    ("a\\b", "backslash"), ("a//b", "empty"), ("a/./b", "'.'"), ("", "empty"),
])
def test_unsafe_manifest_paths_are_refused(client, site, path, why) -> None:
    r = client.post(f"{API}/sites/{site}/deploys", json={"files": {"ok.html": sha(b"x"), path: sha(b"y")}})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "unsafe_path" and why in err["message"] and err["path"] == path


def test_bad_manifests(client, site) -> None:
    assert client.post(f"{API}/sites/{site}/deploys", json={"files": {}}).status_code == 400
    assert client.post(f"{API}/sites/{site}/deploys", json={}).status_code == 400
    r = client.post(f"{API}/sites/{site}/deploys", json={"files": {"a": "ABC"}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_hash"
    assert client.post(f"{API}/sites/nosuchsite/deploys", json={"files": {"a": sha(b"a")}}).status_code == 404


def test_deploy_lifecycle(client, site, local_platform) -> None:
    files = {"index.html": b"<p>one</p>", "a/b.css": b"body{}", "dup.html": b"<p>one</p>"}
    manifest = {p: sha(b) for p, b in files.items()}
    created = client.post(f"{API}/sites/{site}/deploys", json={"files": manifest, "meta": {"branch": "main"}})
    assert created.status_code == 201
    body = created.json()
    deploy_id = body["id"]
    assert body["state"] == "uploading" and body["meta"] == {"branch": "main"}
    assert sorted(body["required"]) == sorted({sha(b) for b in files.values()})
    assert deploy_id.isalnum() and deploy_id.islower() and len(deploy_id) <= 63
    assert body["url"] == f"http://{deploy_id}.{site}.localhost:{local_platform.port}/"
    # finalize before uploads: 409 listing what is missing
    r = client.post(f"{API}/deploys/{deploy_id}/finalize")
    assert r.status_code == 409
    assert sorted(r.json()["error"]["missing"]) == sorted(body["required"])
    client.put(f"{API}/blobs/{sha(files['index.html'])}", content=files["index.html"]).raise_for_status()
    r = client.post(f"{API}/deploys/{deploy_id}/finalize")
    assert r.status_code == 409 and r.json()["error"]["missing"] == [sha(b"body{}")]
    up = client.put(f"{API}/blobs/{sha(b'body{}')}", content=b"body{}")
    assert up.status_code == 201 and up.json()["created"] is True
    assert client.put(f"{API}/blobs/{sha(b'body{}')}", content=b"body{}").json()["created"] is False
    ready = client.post(f"{API}/deploys/{deploy_id}/finalize")
    assert ready.status_code == 200 and ready.json()["state"] == "ready"
    assert client.post(f"{API}/deploys/{deploy_id}/finalize").json()["state"] == "ready"  # idempotent
    got = client.get(f"{API}/deploys/{deploy_id}").json()
    assert got["state"] == "ready" and got["file_count"] == 3 and got["production"] is False
    # a second deploy of the same files needs no uploads
    again = client.post(f"{API}/sites/{site}/deploys", json={"files": manifest}).json()
    assert again["required"] == []
    listed = client.get(f"{API}/sites/{site}/deploys").json()["deploys"]
    assert [d["id"] for d in listed] == [again["id"], deploy_id]  # newest first


def test_blob_hash_mismatch_is_refused_and_not_stored(client, local_platform) -> None:
    claimed = sha(b"the real bytes")
    r = client.put(f"{API}/blobs/{claimed}", content=b"other bytes")
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "hash_mismatch" and err["actual"] == sha(b"other bytes") and claimed in err["message"]
    assert not local_platform.platform.store.exists(claimed)
    assert client.put(f"{API}/blobs/not-a-hash", content=b"x").status_code == 400


def test_promote_rollback(client, site, local_platform) -> None:
    first = local_platform.deploy(site, {"index.html": b"1"}, promote=False)
    second = local_platform.deploy(site, {"index.html": b"2"}, promote=False)
    unready = client.post(f"{API}/sites/{site}/deploys", json={"files": {"x": sha(b"never")}}).json()["id"]
    r = client.post(f"{API}/sites/{site}/promote", json={"deploy_id": unready})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_ready"
    assert client.post(f"{API}/sites/{site}/promote", json={"deploy_id": "zzzzzzzzzz"}).status_code == 404
    r = client.post(f"{API}/sites/{site}/rollback", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_previous"
    assert client.post(f"{API}/sites/{site}/promote", json={"deploy_id": first}).json()["production"] is True
    assert client.post(f"{API}/sites/{site}/promote", json={"deploy_id": second}).status_code == 200
    assert client.get(f"{API}/sites/{site}").json()["production"] == second
    assert client.post(f"{API}/sites/{site}/rollback", json={}).json()["id"] == first
    assert client.post(f"{API}/sites/{site}/rollback", json={"deploy_id": second}).json()["id"] == second
    other = local_platform.new_site()
    foreign = local_platform.deploy(other, {"index.html": b"o"}, promote=False)
    r = client.post(f"{API}/sites/{site}/promote", json={"deploy_id": foreign})
    assert r.status_code == 404 and "does not belong" in r.json()["error"]["message"]
    listed = client.get(f"{API}/sites/{site}/deploys").json()["deploys"]
    assert [d["production"] for d in listed] == [False, True, False]


def test_traffic_validation(client, site, local_platform) -> None:
    a = local_platform.deploy(site, {"index.html": b"a"})
    b = local_platform.deploy(site, {"index.html": b"b"}, promote=False)
    assert client.put(f"{API}/sites/{site}/traffic", json={"weights": {a: 50, b: 40}}).status_code == 400
    assert client.put(f"{API}/sites/{site}/traffic", json={"weights": {a: -1, b: 101}}).status_code == 400
    assert client.put(f"{API}/sites/{site}/traffic", json={"weights": {a: 50, "zzzzzzzzzz": 50}}).status_code == 404
    ok = client.put(f"{API}/sites/{site}/traffic", json={"weights": {a: 90, b: 10}})
    assert ok.status_code == 200 and ok.json()["weights"] == {a: 90, b: 10}
    assert client.get(f"{API}/sites/{site}/traffic").json() == {"production": a, "weights": {a: 90, b: 10}}
    client.post(f"{API}/sites/{site}/promote", json={"deploy_id": b}).raise_for_status()
    assert client.get(f"{API}/sites/{site}/traffic").json() == {"production": b, "weights": None}


def test_env_vars_secrets_are_write_only(client, site) -> None:
    base = f"{API}/sites/{site}/env/production"
    assert client.put(f"{base}/API_URL", json={"value": "https://api"}).json()["value"] == "https://api"
    assert client.put(f"{base}/TOKEN", json={"value": "s3cret", "secret": True}).json()["value"] is None
    listed = client.get(base).json()["vars"]
    assert [(v["key"], v["value"], v["secret"]) for v in listed] == [("API_URL", "https://api", False),
                                                                     ("TOKEN", None, True)]
    assert "s3cret" not in client.get(base).text
    assert client.get(f"{API}/sites/{site}/env/preview").json()["vars"] == []
    assert client.put(f"{base}/bad-key", json={"value": "x"}).status_code == 400
    assert client.put(f"{base}/K", json={"value": 5}).status_code == 400
    assert client.delete(f"{base}/TOKEN").status_code == 204
    assert client.delete(f"{base}/TOKEN").status_code == 404
    assert [v["key"] for v in client.get(base).json()["vars"]] == ["API_URL"]


def test_unknown_route_is_json_404(client) -> None:
    r = client.get(f"{API}/nothing/here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_route"


def batch_body(blobs: list[bytes], claimed: list[str] | None = None) -> bytes:
    names = claimed or [sha(b) for b in blobs]
    index = [[n, len(b)] for n, b in zip(names, blobs, strict=True)]
    import json

    return json.dumps(index).encode() + b"\n" + b"".join(blobs)


def test_blob_batches(local_platform, client) -> None:
    tag = local_platform.new_site().encode()
    blobs = [tag + b" batch %d" % i for i in range(5)]
    r = client.post(f"{API}/blobs", content=batch_body(blobs))
    assert r.status_code == 200 and r.json() == {"stored": 5, "created": 5}
    assert all(local_platform.platform.store.exists(sha(b)) for b in blobs)
    assert client.post(f"{API}/blobs", content=batch_body(blobs)).json() == {"stored": 5, "created": 0}
    good, bad = tag + b" good", tag + b" bad"
    r = client.post(f"{API}/blobs", content=batch_body([good, bad], [sha(good), sha(b"other")]))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "hash_mismatch" and err["mismatched"] == [{"sha256": sha(b"other"), "actual": sha(bad)}]
    assert local_platform.platform.store.exists(sha(good)) and not local_platform.platform.store.exists(sha(b"other"))
    for body in (b"no newline", b"{}\n", b'[["x", -1]]\n', batch_body([good]) + b"extra"):
        r = client.post(f"{API}/blobs", content=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_batch", body
    r = client.post(f"{API}/blobs", content=batch_body([tag + b" weird"], ["../x"]))
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_hash"
    with local_platform.client(token=None) as anon:
        assert anon.post(f"{API}/blobs", content=batch_body([good])).status_code == 401


def test_a_missing_site_is_explained_without_api_routes(client) -> None:
    r = client.get(f"{API}/sites/nosuchsite/env/production")
    err = r.json()["error"]
    assert r.status_code == 404 and err["code"] == "no_site"
    assert "first deploy" in err["message"] and "/_api" not in err["message"]
