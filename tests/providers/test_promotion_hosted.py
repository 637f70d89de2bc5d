"""Build once, promote many on Vercel and Netlify (their fakes, checked against the official specs):
production takes the staged deployment itself (Netlify's restore; Vercel's promote, which for a preview
deployment makes a new production deployment from its files, as `vercel promote` does); an environment the
platform cannot point at an existing deployment gets the same snapshot re-uploaded by hash, and only while
the output folder still holds exactly that artifact."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.config import load_config
from moai_adk.deploy import pipeline
from moai_adk.deploy.promotion import promote_between
from moai_adk.errors import PromotionRefused

from .conftest import Harness, write_site


def _config(root: Path, platform: str) -> Path:
    (root / "moai.toml").write_text(
        f'[project]\nname = "site"\n[build]\noutput = "dist"\n'
        f'[deploy]\nplatform = "{platform}"\nhealth_timeout = 0.5\n'
        '[environments.qa]\n[environments.production]\nrequires = "staging"\n')
    return root / "moai.toml"


@pytest.mark.parametrize("platform", ["vercel", "netlify"])
def test_promote_staging_to_qa_and_production(platform: str, request: pytest.FixtureRequest) -> None:
    h: Harness = request.getfixturevalue(platform)
    assert h.fake is not None
    cfg = load_config(_config(h.root, platform))
    p = h.provider()
    p.link()
    edge = h.fake.edge_transport()  # type: ignore[attr-defined]
    write_site(h.root / "dist", {"index.html": "<h1>first</h1>"})  # (a new Vercel project's first one goes live)
    pipeline.run_deploy(pipeline.DeployRequest(config=cfg, platform=platform, environment="production",
                                               production=True, build=False), p, environ={}, health_transport=edge)
    write_site(h.root / "dist", {"index.html": "<h1>staged</h1>", "app.js": "1"})
    staged = pipeline.run_deploy(pipeline.DeployRequest(config=cfg, platform=platform, environment="staging",
                                                        build=False), p, environ={}, health_transport=edge)
    assert staged.deployment is not None
    sid = staged.deployment.id

    dry = promote_between(cfg, "staging", "qa", lambda _name: h.provider(), dry_run=True, health_transport=edge)
    assert dry.mode == "re-uploaded" and dry.source_deployment == sid and dry.deployment is None

    qa = promote_between(cfg, "staging", "qa", lambda _name: h.provider(), health_transport=edge)
    assert qa.mode == "re-uploaded" and qa.deployment is not None and qa.deployment.id != sid
    assert qa.deployment.stats.files_uploaded == 0, "the platform had every file: nothing is sent again"
    assert qa.digest == staged_digest(h.root, sid)

    prod = promote_between(cfg, "staging", "production", lambda _name: h.provider(), health_transport=edge)
    assert prod.mode == "same-deployment" and prod.deployment is not None
    if platform == "netlify":
        assert prod.deployment.id == sid and not prod.notes
    else:  # a preview deployment is promoted through a new production deployment of the same files
        assert prod.deployment.extra["from_deployment"] == sid and "new deployment" in prod.notes[0]
    assert [d.id for d in p.list_deployments() if d.production] == [prod.deployment.id]

    write_site(h.root / "dist", {"index.html": "<h1>a newer build</h1>", "app.js": "1"})
    with pytest.raises(PromotionRefused) as changed:
        promote_between(cfg, "staging", "qa", lambda _name: h.provider(), health_transport=edge)
    assert "no longer holds the artifact" in changed.value.message and changed.value.hint


def staged_digest(root: Path, deployment: str) -> str:
    from moai_adk.deploy.provenance import audit_entries

    return next(e["details"]["digest"] for e in audit_entries(root) if e["action"] == "deploy" and e["target"] == deployment)
