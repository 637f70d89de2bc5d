"""The provider conformance suite: what every platform must do, checked
through the ``Provider`` API only (``list_deployments`` tells which
deployment serves production, ``Deployment.stats`` what was uploaded).

Each check takes a ``Harness`` (tests/providers/conftest.py);
``test_conformance.py`` runs every check against every platform.
"""

from __future__ import annotations

from collections.abc import Callable

from moai_adk.providers.base import DeployTarget, Provider

from .conftest import Harness

PROD = DeployTarget(environment="production", production=True)


def site(h: Harness, version: int) -> dict[str, str | bytes]:
    """A small site; contents carry the test's own folder name so platforms that
    share content-addressed storage across tests (the local one) see new bytes."""
    tag = h.root.name
    return {"index.html": f"<h1>v{version} {tag}</h1>", "assets/app.css": f"body {{ color: red }} /* {tag} */",
            "about/index.html": f"<p>about {tag}</p>"}


def _production_ids(p: Provider) -> list[str]:
    return [d.id for d in p.list_deployments() if d.production]


def check_deploy_is_ready_and_not_live(h: Harness) -> None:
    p = h.provider()
    p.link()
    d = p.deploy(h.snapshot(site(h, 1), p), PROD)
    assert d.state == "ready"
    assert d.url
    assert d.stats.files_total >= 3
    assert d.stats.files_uploaded == 3
    live: list[str] = []
    if d.production:  # a platform that makes a new project's first deployment production must say so
        assert d.extra.get("became_production") is True, "a deployment went live without saying so"
        live = [d.id]
        d = p.deploy(h.snapshot(site(h, 2), p), PROD)
    assert d.production is False
    assert _production_ids(p) == live, "deploy() must not switch production before promote()"
    assert d.id in [x.id for x in p.list_deployments()]


def check_redeploy_uploads_nothing_new(h: Harness) -> None:
    p = h.provider()
    p.link()
    snap = h.snapshot(site(h, 1), p)
    first = p.deploy(snap, PROD)
    seen = len(h.fake.requests) if h.fake else 0
    again = p.deploy(h.snapshot(site(h, 1), p), PROD)
    assert first.stats.files_uploaded == 3
    assert again.stats.files_uploaded == 0
    assert again.stats.bytes_uploaded == 0
    if h.fake is not None:
        new = h.fake.requests[seen:]
        assert not [r for r in new if r.path == "/v2/files" or "/files/" in r.path], "a redeploy uploaded files"


def check_changed_file_uploads_only_that_file(h: Harness) -> None:
    p = h.provider()
    p.link()
    p.deploy(h.snapshot(site(h, 1), p), PROD)
    d = p.deploy(h.snapshot(site(h, 2), p), PROD)
    assert d.stats.files_uploaded == 1
    assert d.stats.bytes_uploaded == len(site(h, 2)["index.html"])


def check_promote_switches_production(h: Harness) -> None:
    p = h.provider()
    p.link()
    d = p.deploy(h.snapshot(site(h, 1), p), PROD)
    promoted = p.promote(d.id)
    assert promoted.production is True
    assert promoted.state == "ready"
    assert _production_ids(p) == [promoted.id]


def check_rollback_returns_to_previous_production(h: Harness) -> None:
    p = h.provider()
    p.link()
    first = p.promote(p.deploy(h.snapshot(site(h, 1), p), PROD).id)
    second = p.promote(p.deploy(h.snapshot(site(h, 2), p), PROD).id)
    assert _production_ids(p) == [second.id]
    back = p.rollback()
    assert back.id == first.id
    assert back.production is True
    assert _production_ids(p) == [first.id]
    # and forward again, by id
    again = p.rollback(second.id)
    assert again.id == second.id
    assert _production_ids(p) == [second.id]


def check_env_round_trip(h: Harness) -> None:
    p = h.provider()
    p.link()
    p.env_set("production", "API_URL", "https://api.example.com")
    p.env_set("production", "API_TOKEN", "s3cr3t-value", secret=True)
    p.env_set("preview", "API_URL", "https://preview.example.com")
    prod = {v.key: v for v in p.env_list("production")}
    assert set(prod) == {"API_URL", "API_TOKEN"}
    assert prod["API_URL"].value == "https://api.example.com"
    assert prod["API_URL"].secret is False
    assert prod["API_TOKEN"].secret is True
    if h.secret_readable is False:
        assert prod["API_TOKEN"].value is None
    else:
        assert prod["API_TOKEN"].value in (None, "s3cr3t-value")
    preview = {v.key: v for v in p.env_list("preview")}
    assert preview["API_URL"].value == "https://preview.example.com"
    assert "API_TOKEN" not in preview
    # overwrite, then unset in one environment only
    p.env_set("production", "API_URL", "https://api2.example.com")
    assert {v.key: v.value for v in p.env_list("production")}["API_URL"] == "https://api2.example.com"
    p.env_unset("production", "API_URL")
    assert "API_URL" not in {v.key for v in p.env_list("production")}
    assert {v.key: v.value for v in p.env_list("preview")}["API_URL"] == "https://preview.example.com"


CHECKS: dict[str, Callable[[Harness], None]] = {
    "deploy": check_deploy_is_ready_and_not_live,
    "redeploy_uploads_nothing": check_redeploy_uploads_nothing_new,
    "changed_file_only": check_changed_file_uploads_only_that_file,
    "promote": check_promote_switches_production,
    "rollback": check_rollback_returns_to_previous_production,
    "env_round_trip": check_env_round_trip,
}
