"""The deploy pipeline against a real local platform (tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from moai_adk.config import load_config
from moai_adk.deploy.pipeline import DeployRequest, run_deploy
from moai_adk.errors import BuildError, HealthCheckFailed
from moai_adk.providers.local import LocalProvider


def make_project(root: Path, site: str, *, extra: str = "", files: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    out = root / "public"
    out.mkdir(exist_ok=True)
    (out / "index.html").write_text(f"<h1>{site} v1</h1>")
    for i in range(files):
        (out / f"page{i}.html").write_text(f"page {i}")
    (root / "moai.toml").write_text(
        f'[project]\nname = "{site}"\n[build]\noutput = "public"\n'
        f'[platforms.local]\nsite = "{site}"\n{extra}'
    )
    return root


def provider(local_platform, root: Path) -> LocalProvider:  # type: ignore[no-untyped-def]
    cfg = load_config(root / "moai.toml")
    return LocalProvider(local_platform.context(cfg.root, settings=cfg.settings_for("local"), project_name=cfg.name))


def production_body(local_platform, site: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.get(f"{local_platform.url}/_sites/{site}/")


def test_preview_then_production(local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("pipe")
    root = make_project(tmp_path / "p", site)
    cfg = load_config(root / "moai.toml")
    prov = provider(local_platform, root)

    preview = run_deploy(DeployRequest(config=cfg, platform="local"), prov, environ={})
    d = preview.deployment
    assert d is not None and d.state == "ready" and not preview.promoted
    assert d.stats.files_uploaded == 4 and preview.files_total == 4
    assert set(preview.phases) >= {"snapshot", "upload", "health"}
    # preview serves, production does not exist yet
    assert httpx.get(d.health_url).text == f"<h1>{site} v1</h1>"
    assert production_body(local_platform, site).status_code == 404

    (root / "public" / "index.html").write_text(f"<h1>{site} v2</h1>")
    prod = run_deploy(DeployRequest(config=cfg, platform="local", environment="production", production=True),
                      prov, environ={})
    assert prod.promoted and {"promote", "verify"} <= set(prod.phases)  # production checked after the switch
    assert prod.deployment is not None and prod.deployment.stats.files_uploaded == 1  # only the changed file
    assert prod.files_hashed == 1  # the hash cache answered for the other three
    assert production_body(local_platform, site).text == f"<h1>{site} v2</h1>"

    history = [json.loads(line) for line in (root / ".moai" / "audit" / "log.jsonl").read_text().splitlines()]
    assert [h["action"] for h in history] == ["deploy", "health-check", "deploy", "health-check", "promote"]
    assert history[0]["details"]["digest"].startswith("sha256:") and history[1]["result"] == "ok"
    assert history[0]["details"]["digest"] != history[2]["details"]["digest"]
    out = prod.to_json()
    for key in ("deployment_id", "url", "production_url", "files_total", "files_uploaded", "bytes_uploaded", "durations"):
        assert key in out


def test_failed_health_check_is_never_promoted(local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("health")
    root = make_project(tmp_path / "p", site)
    cfg = load_config(root / "moai.toml")
    prov = provider(local_platform, root)
    first = run_deploy(DeployRequest(config=cfg, platform="local", environment="production", production=True), prov, environ={})
    assert first.promoted

    (root / "moai.toml").write_text((root / "moai.toml").read_text() + '[deploy]\nhealth_check = "/healthz"\nhealth_timeout = 1\n')
    (root / "public" / "index.html").write_text("broken release")
    cfg = load_config(root / "moai.toml")
    with pytest.raises(HealthCheckFailed) as err:
        run_deploy(DeployRequest(config=cfg, platform="local", environment="production", production=True), prov, environ={})
    assert "/healthz" in err.value.message and "production is unchanged" in err.value.message
    assert production_body(local_platform, site).text == f"<h1>{site} v1</h1>"


def test_build_runs_first_and_failure_stops_everything(local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("build")
    root = make_project(tmp_path / "p", site, files=0)
    toml = (root / "moai.toml").read_text().replace('output = "public"', 'output = "public"\ncommand = "echo built > public/built.txt"')
    (root / "moai.toml").write_text(toml)
    cfg = load_config(root / "moai.toml")
    prov = provider(local_platform, root)
    res = run_deploy(DeployRequest(config=cfg, platform="local"), prov, environ={"PATH": "/usr/bin:/bin"})
    assert res.deployment is not None
    assert httpx.get(res.deployment.health_url + "built.txt").text == "built\n"

    (root / "moai.toml").write_text(toml.replace("echo built > public/built.txt", "exit 7"))
    cfg = load_config(root / "moai.toml")
    before = len(prov.list_deployments())
    with pytest.raises(BuildError, match="exit code 7"):
        run_deploy(DeployRequest(config=cfg, platform="local"), prov, environ={"PATH": "/usr/bin:/bin"})
    assert len(prov.list_deployments()) == before


def test_dry_run_uploads_nothing(local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("dry")
    root = make_project(tmp_path / "p", site)
    cfg = load_config(root / "moai.toml")
    prov = provider(local_platform, root)
    res = run_deploy(DeployRequest(config=cfg, platform="local", dry_run=True), prov, environ={})
    assert res.deployment is None and res.files_total == 4
    assert prov.list_deployments() == []
