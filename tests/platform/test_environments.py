"""Environment aliases of the local platform (platform/environments.py), on both servers: the API
(list, point, bad input, roles), the host form ``<env>.env.<site>.localhost`` that no deployment id
can shadow, the path form ``/_envs/<site>/<env>/`` with its scope cookie, and persistence."""

from __future__ import annotations

import httpx
import pytest

from moai_adk.platform.service import Platform
from tests.conftest import RunningPlatform

PAGE_VISIT = {"accept": "text/html,*/*;q=0.8"}


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


def _site(p: RunningPlatform) -> tuple[str, str, str]:
    site = p.new_site("env")
    live = p.deploy(site, {"index.html": b"live", "css/a.css": b"body{}"})
    staged = p.deploy(site, {"index.html": b"<p>staged</p>", "css/a.css": b"staged{}"}, promote=False)
    return site, live, staged


def test_point_list_and_serve_an_alias(local_platform: RunningPlatform) -> None:
    p = local_platform
    site, live, staged = _site(p)
    with p.client() as c:
        before = c.get(f"/_api/v1/sites/{site}/environments").json()["environments"]
        assert before[0]["environment"] == "production" and before[0]["deploy_id"] == live
        assert [e["environment"] for e in before] == ["production"]
        put = c.put(f"/_api/v1/sites/{site}/environments/staging", json={"deploy_id": staged})
        assert put.status_code == 200, put.text
        assert put.json()["id"] == staged
        assert put.json()["alias_url"] == f"http://staging.env.{site}.localhost:{p.port}/"
        rows = {e["environment"]: e for e in c.get(f"/_api/v1/sites/{site}/environments").json()["environments"]}
    assert rows["staging"]["deploy_id"] == staged and rows["production"]["deploy_id"] == live
    assert rows["staging"]["path_url"].endswith(f"/_envs/{site}/staging/")
    host = httpx.get(p.url + "/", headers={"host": f"staging.env.{site}.localhost:{p.port}"})
    assert host.status_code == 200 and host.text == "<p>staged</p>"
    assert host.headers["x-moai-deploy"] == staged
    prod = httpx.get(p.url + "/", headers={"host": f"{site}.localhost:{p.port}"})
    assert prod.text == "live", "pointing an alias must not touch production"
    # the path form, and its scope cookie for root-absolute paths
    with httpx.Client(base_url=p.url) as browser:
        page = browser.get(f"/_envs/{site}/staging", headers=PAGE_VISIT, follow_redirects=True)
        assert page.status_code == 200 and page.text == "<p>staged</p>"
        assert str(page.url).endswith(f"/_envs/{site}/staging/")
        assert f"e.{site}.staging" in page.headers["set-cookie"]
        css = browser.get("/css/a.css")
        assert css.status_code == 200 and css.text == "staged{}"
    with p.client() as c:  # production through the alias API is a promote
        c.put(f"/_api/v1/sites/{site}/environments/production", json={"deploy_id": staged}).raise_for_status()
    assert httpx.get(p.url + "/", headers={"host": f"{site}.localhost:{p.port}"}).text == "<p>staged</p>"


def test_alias_host_never_collides_with_a_deploy_id(local_platform: RunningPlatform) -> None:
    """A 10-letter environment name (``production``, ``acceptance``) is a valid deployment id shape; the
    alias host has three labels, a deployment host two, so neither can shadow the other."""
    p = local_platform
    site, live, staged = _site(p)
    with p.client() as c:
        c.put(f"/_api/v1/sites/{site}/environments/acceptance", json={"deploy_id": staged}).raise_for_status()
    alias = httpx.get(p.url + "/", headers={"host": f"acceptance.env.{site}.localhost:{p.port}"})
    assert alias.text == "<p>staged</p>"
    as_deploy = httpx.get(p.url + "/", headers={"host": f"acceptance.{site}.localhost:{p.port}"})
    assert as_deploy.status_code == 404, "a deployment host must name a deployment, never an alias"
    assert httpx.get(p.url + "/", headers={"host": f"{live}.{site}.localhost:{p.port}"}).text == "live"
    unset = httpx.get(p.url + "/", headers={"host": f"qa.env.{site}.localhost:{p.port}"})
    assert unset.status_code == 404
    assert httpx.get(f"{p.url}/_envs/{site}/qa/").status_code == 404


def test_bad_input(local_platform: RunningPlatform) -> None:
    p = local_platform
    site, live, staged = _site(p)
    other, other_live, _ = _site(p)
    with p.client() as c:
        bad = c.put(f"/_api/v1/sites/{site}/environments/Bad_Name", json={"deploy_id": staged})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_environment"
        foreign = c.put(f"/_api/v1/sites/{site}/environments/staging", json={"deploy_id": other_live})
        assert foreign.status_code == 404, "a site's alias may only point at its own deployments"
        missing = c.put(f"/_api/v1/sites/{site}/environments/staging", json={})
        assert missing.status_code == 400
        nosite = c.get("/_api/v1/sites/no-such-site-here/environments")
        assert nosite.status_code == 404
        unready = c.post(f"/_api/v1/sites/{site}/deploys", json={"files": {"a.txt": "0" * 64}}).json()["id"]
        notready = c.put(f"/_api/v1/sites/{site}/environments/staging", json={"deploy_id": unready})
        assert notready.status_code == 409
        viewer = c.post("/_api/v1/tokens", json={"role": "viewer"}).json()["token"]
    with p.client(token=viewer) as c:
        assert c.get(f"/_api/v1/sites/{site}/environments").status_code == 200
        refused = c.put(f"/_api/v1/sites/{site}/environments/staging", json={"deploy_id": staged})
        assert refused.status_code == 403
    with p.client(token=None) as c:
        assert c.get(f"/_api/v1/sites/{site}/environments").status_code == 401


def test_aliases_survive_a_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.conftest import start_platform

    tmp = tmp_path_factory.mktemp("aliases")
    with start_platform(tmp) as p:
        site, _, staged = _site(p)
        with p.client() as c:
            c.put(f"/_api/v1/sites/{site}/environments/staging", json={"deploy_id": staged}).raise_for_status()
    again = Platform(tmp / "platform-data")
    try:
        assert again.envs.deploy_for(site, "staging") == staged
    finally:
        again.close()
