"""End-to-end slice: deploy a folder with LocalProvider, promote, fetch production."""

from __future__ import annotations

from pathlib import Path

import httpx

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.local import LocalProvider


def test_deploy_promote_and_serve(local_platform, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>v1</h1>")
    (site / "index.html").write_text(f"<h1>v1</h1>{tmp_path.name}")
    (site / "about.html").write_text(f"about {tmp_path}")  # unique: blobs are shared
    provider = LocalProvider(local_platform.context(tmp_path))
    dep = provider.deploy(take_snapshot(site), DeployTarget())
    assert dep.state == "ready" and dep.stats.files_uploaded == 2
    # not production yet
    prod_url = f"{local_platform.url}/_sites/{provider.site}/"
    assert httpx.get(prod_url).status_code == 404
    assert httpx.get(dep.health_url).text == f"<h1>v1</h1>{tmp_path.name}"
    provider.promote(dep.id)
    r = httpx.get(prod_url)
    assert r.status_code == 200 and r.text == f"<h1>v1</h1>{tmp_path.name}"
    assert httpx.get(prod_url + "about").text == f"about {tmp_path}"
