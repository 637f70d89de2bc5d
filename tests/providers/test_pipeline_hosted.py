"""The deploy pipeline with the Vercel and Netlify adapters: the new deployment is
health-checked at its own URL before promote, and one that fails is never promoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.config import load_config
from moai_adk.deploy import pipeline
from moai_adk.errors import HealthCheckFailed

from .conftest import Harness, write_site


def _config(root: Path, platform: str) -> Path:
    (root / "moai.toml").write_text(
        f'[project]\nname = "site"\n[build]\noutput = "dist"\n'
        f'[deploy]\nplatform = "{platform}"\nhealth_check = "/"\nhealth_timeout = 0.5\n')
    return root / "moai.toml"


@pytest.mark.parametrize("platform", ["vercel", "netlify"])
def test_healthy_deploy_is_promoted_and_a_broken_one_is_not(platform: str, request: pytest.FixtureRequest) -> None:
    h: Harness = request.getfixturevalue(platform)
    assert h.fake is not None
    cfg = load_config(_config(h.root, platform))
    p = h.provider()
    p.link()
    edge = h.fake.edge_transport()  # type: ignore[attr-defined]

    write_site(h.root / "dist", {"index.html": "<h1>good</h1>"})
    req = pipeline.DeployRequest(config=cfg, platform=platform, environment="production", production=True,
                                 build=False)
    ok = pipeline.run_deploy(req, p, environ={}, health_transport=edge)
    assert ok.promoted and ok.deployment is not None and ok.deployment.production
    live = [d.id for d in p.list_deployments() if d.production]
    assert live == [ok.deployment.id]

    write_site(h.root / "dist", {"other.html": "no index: / answers 404"})
    promotes_before = sum(1 for r in h.fake.requests if "/promote/" in r.path or r.path.endswith("/restore")
                          or (r.path == "/v13/deployments" and (r.json() or {}).get("target") == "production"))
    with pytest.raises(HealthCheckFailed) as err:
        pipeline.run_deploy(req, p, environ={}, health_transport=edge)
    assert "not promoted" in err.value.message
    assert [d.id for d in p.list_deployments() if d.production] == live
    promotes_after = sum(1 for r in h.fake.requests if "/promote/" in r.path or r.path.endswith("/restore")
                         or (r.path == "/v13/deployments" and (r.json() or {}).get("target") == "production"))
    assert promotes_after == promotes_before


def test_vercel_protected_preview_is_checked_with_the_bypass_secret(request: pytest.FixtureRequest) -> None:
    h: Harness = request.getfixturevalue("vercel")
    assert h.fake is not None
    h.fake.protection_bypass = "bypass-123"  # type: ignore[attr-defined]
    cfg = load_config(_config(h.root, "vercel"))
    write_site(h.root / "dist", {"index.html": "<h1>good</h1>"})
    req = pipeline.DeployRequest(config=cfg, platform="vercel", environment="production", production=True, build=False)
    edge = h.fake.edge_transport()  # type: ignore[attr-defined]
    unprotected = h.provider()
    unprotected.link()
    with pytest.raises(HealthCheckFailed, match="401"):
        pipeline.run_deploy(req, unprotected, environ={}, health_transport=edge)
    p = h.provider(environ={"VERCEL_AUTOMATION_BYPASS_SECRET": "bypass-123"})
    assert pipeline.run_deploy(req, p, environ={}, health_transport=edge).promoted


def test_production_that_fails_after_the_switch_is_rolled_back(request: pytest.FixtureRequest) -> None:
    h: Harness = request.getfixturevalue("vercel")
    fake = h.fake
    assert fake is not None
    cfg = load_config(_config(h.root, "vercel"))
    p = h.provider()
    p.link()
    edge = fake.edge_transport()  # type: ignore[attr-defined]
    req = pipeline.DeployRequest(config=cfg, platform="vercel", environment="production", production=True, build=False)

    write_site(h.root / "dist", {"index.html": "<h1>one</h1>"})
    first = pipeline.run_deploy(req, p, environ={}, health_transport=edge)
    assert first.promoted and "verify" in first.phases
    live_before = [d.id for d in p.list_deployments() if d.production]
    domain = first.deployment.production_url if first.deployment else None
    assert domain and domain.startswith("https://") and live_before

    # the new deployment is healthy on its own URL, but the production domain breaks
    fake.broken_hosts.add(domain.removeprefix("https://"))  # type: ignore[attr-defined]
    write_site(h.root / "dist", {"index.html": "<h1>two</h1>"})
    with pytest.raises(HealthCheckFailed) as err:
        pipeline.run_deploy(req, p, environ={}, health_transport=edge)
    assert "rolled back to" in err.value.message and "HTTP 502" in err.value.message
    assert [d.id for d in p.list_deployments() if d.production] == live_before
    history = (h.root / ".moai" / "audit" / "log.jsonl").read_text()
    assert '"action":"auto-rollback"' in history


def test_first_production_that_fails_has_nothing_to_roll_back_to(request: pytest.FixtureRequest) -> None:
    h: Harness = request.getfixturevalue("vercel")
    fake = h.fake
    assert fake is not None
    cfg = load_config(_config(h.root, "vercel"))
    p = h.provider()
    p.link()
    fake.broken_hosts.add("site.vercel.app")  # type: ignore[attr-defined]
    write_site(h.root / "dist", {"index.html": "<h1>one</h1>"})
    req = pipeline.DeployRequest(config=cfg, platform="vercel", environment="production", production=True, build=False)
    with pytest.raises(HealthCheckFailed, match="no earlier production deployment"):
        pipeline.run_deploy(req, p, environ={}, health_transport=fake.edge_transport())  # type: ignore[attr-defined]
