"""Preview URLs that just work: a preview deploy to a real local platform adds its URL to the backend's
redirect URLs (Supabase) or authorized domains (Firebase), `backend plan` shows no drift for it, production's
URL becomes Supabase's site URL, and `cleanup` removes the URLs of deleted previews."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from moai_adk.backend import make_plan, open_backend
from moai_adk.backend.preview_record import RECORD, load
from moai_adk.backend.previews import after_deploy, cleanup_previews
from moai_adk.config import load_config
from moai_adk.deploy.pipeline import DeployRequest, run_deploy
from moai_adk.providers.base import Deployment
from moai_adk.providers.local import LocalProvider
from tests.conftest import RunningPlatform
from tests.fakes import serve_handler
from tests.fakes.firebase_backend import FakeFirebaseBackend

from .supabase_setup import PRODUCTION, STAGING, Fakes


@pytest.fixture
def supabase(tmp_path: Path) -> Iterator[tuple[Fakes, dict[str, str]]]:
    fakes = Fakes()
    with serve_handler(fakes.api.handle) as api_url, serve_handler(fakes.storage.handle) as storage_url:
        yield fakes, {**fakes.environ(tmp_path), "MOAI_SUPABASE_API_URL": api_url,
                      "MOAI_SUPABASE_PROJECT_URL": storage_url + "/{ref}"}


def project(root: Path, site: str, backend: str) -> Path:
    (root / "public").mkdir(parents=True)
    (root / "public" / "index.html").write_text("<h1>shop</h1>")
    (root / "moai.toml").write_text(
        f'[project]\nname = "{site}"\n[build]\noutput = "public"\n[platforms.local]\nsite = "{site}"\n\n'
        f'[environments.preview]\nsupabase_project_ref = "{STAGING}"\n\n'
        f'[environments.production]\nsupabase_project_ref = "{PRODUCTION}"\n\n{backend}')
    return root


SUPABASE = '[backend.supabase.auth]\nadditional_redirect_urls = ["http://localhost:3000/**"]\n'


def deploy(platform: RunningPlatform, root: Path, environ: dict[str, str], **kwargs: object) -> object:
    cfg = load_config(root / "moai.toml")
    provider = LocalProvider(platform.context(cfg.root, settings=cfg.settings_for("local"), project_name=cfg.name))
    try:
        return run_deploy(DeployRequest(config=cfg, platform="local", **kwargs), provider,  # type: ignore[arg-type]
                          environ={**environ, **platform.environ()})
    finally:
        provider.close()


def delete_deployment(platform: RunningPlatform, deployment_id: str) -> None:
    """The host deleted the deployment (the local platform keeps no other way to)."""
    with platform.platform.meta.tx() as c:
        c.execute("DELETE FROM deploys WHERE id = ?", (deployment_id,))


def test_a_preview_deploy_adds_its_url_and_cleanup_removes_it_once_deleted(
        supabase: tuple[Fakes, dict[str, str]], tmp_path: Path, local_platform: RunningPlatform) -> None:
    fakes, environ = supabase
    root = project(tmp_path / "shop", local_platform.new_site("prev"), SUPABASE)
    live = fakes.api.backend_state(STAGING)
    first = deploy(local_platform, root, environ)
    second = deploy(local_platform, root, environ)
    urls = [f"{d.deployment.url.rstrip('/')}/**" for d in (first, second)]  # type: ignore[attr-defined]
    assert live.auth["uri_allow_list"].split(",") == urls
    assert any("added to the auth redirect URLs" in n for n in first.notices)  # type: ignore[attr-defined]
    record = root / RECORD
    assert stat.S_IMODE(record.stat().st_mode) == 0o600 and [e["value"] for e in load(root)] == urls

    # the plan wants the declared URL added, and does not call the previews' URLs drift
    cfg = load_config(root / "moai.toml")
    env = {**environ, **local_platform.environ()}
    plan = make_plan(open_backend(cfg, "supabase", "preview", env))
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [("add", "redirect_url", "http://localhost:3000/**")]

    # cleanup: nothing gone yet, then the first preview is deleted on the host
    assert cleanup_previews(cfg, env).removed == []
    delete_deployment(local_platform, first.deployment.id)  # type: ignore[attr-defined]
    dry = cleanup_previews(cfg, env, dry_run=True)
    assert [e["value"] for e in dry.removed] == urls[:1]
    assert live.auth["uri_allow_list"].split(",") == urls and len(load(root)) == 2  # a dry run changes nothing
    done = cleanup_previews(cfg, env)
    assert [e["value"] for e in done.removed] == urls[:1] and done.kept == 1
    assert live.auth["uri_allow_list"].split(",") == urls[1:] and [e["value"] for e in load(root)] == urls[1:]
    plan = make_plan(open_backend(cfg, "supabase", "preview", env))
    assert [c.name for c in plan.changes] == ["http://localhost:3000/**"]
    log = (root / ".moai" / "audit" / "log.jsonl").read_text()
    assert "backend previews cleanup" in log
    assert fakes.api.violations == []


def test_production_url_becomes_the_site_url_unless_moai_toml_sets_it(
        supabase: tuple[Fakes, dict[str, str]], tmp_path: Path, local_platform: RunningPlatform) -> None:
    fakes, environ = supabase
    root = project(tmp_path / "shop", local_platform.new_site("prod"), SUPABASE)
    prod = deploy(local_platform, root, environ, environment="production", production=True)
    url = prod.deployment.production_url.rstrip("/")  # type: ignore[attr-defined]
    assert fakes.api.backend_state(PRODUCTION).auth["site_url"] == url
    assert fakes.api.backend_state(PRODUCTION).auth["uri_allow_list"] == ""  # production adds no preview URL
    assert not (root / RECORD).exists()

    pinned = project(tmp_path / "pinned", local_platform.new_site("pin"),
                     '[backend.supabase.auth]\nsite_url = "https://shop.example"\n')
    fakes.api.backend_state(PRODUCTION).auth["site_url"] = "https://by-hand.example"
    deploy(local_platform, pinned, environ, environment="production", production=True)
    assert fakes.api.backend_state(PRODUCTION).auth["site_url"] == "https://by-hand.example"  # apply owns it


def test_a_backend_that_fails_is_a_notice_and_the_deploy_succeeds(
        supabase: tuple[Fakes, dict[str, str]], tmp_path: Path, local_platform: RunningPlatform) -> None:
    fakes, environ = supabase
    root = project(tmp_path / "shop", local_platform.new_site("down"), SUPABASE)
    fakes.api.backend_state(STAGING).members = {"sbp_someone_else"}  # the token cannot reach the project
    result = deploy(local_platform, root, environ)
    assert result.deployment.state == "ready"  # type: ignore[attr-defined]
    notice = next(n for n in result.notices if "supabase backend" in n)  # type: ignore[attr-defined]
    assert "The deploy succeeded" in notice and "moai-adk backend plan --env preview" in notice
    assert STAGING in notice and "403" in notice
    # recorded before the backend was asked: the next deploy or an apply finishes the job
    assert len(load(root)) == 1


def test_firebase_preview_domain_added_kept_by_plan_and_cleaned(tmp_path: Path,
                                                                 local_platform: RunningPlatform) -> None:
    fake = FakeFirebaseBackend()
    root = project(tmp_path / "shop", local_platform.new_site("fb"),
                   '[platforms.firebase]\nproject = "demo-project"\n\n[backend.firebase]\nfirestore_rules = ""\n'
                   'firestore_indexes = ""\nstorage_rules = ""\nauthorized_domains = ["shop.example.com"]\n')
    proj = fake.projects["demo-project"]
    with serve_handler(fake.handle) as url:
        env = {k: url if v == fake.base_url else v for k, v in fake.env().items()}
        preview = deploy(local_platform, root, env)
        domain = urlsplit(preview.deployment.url).hostname  # type: ignore[attr-defined]
        assert domain and domain in proj.authorized_domains
        assert any("authorized domains" in n for n in preview.notices)  # type: ignore[attr-defined]
        cfg = load_config(root / "moai.toml")
        plan = make_plan(open_backend(cfg, "firebase", "preview", env))
        assert [(c.action, c.name) for c in plan.changes] == [("add", "shop.example.com")]  # the preview is no drift
        # a channel URL of Firebase Hosting itself goes the same way (through sync_preview_domains)
        after_deploy(cfg, env, platform="firebase", environment="preview", production=False, promoted=False,
                     deployment=Deployment("pr-7", "ready", url="https://demo-site--pr-7-x1y2z3.web.app"))
        assert "demo-site--pr-7-x1y2z3.web.app" in proj.authorized_domains
        assert make_plan(open_backend(cfg, "firebase", "preview", env)).changes == plan.changes
        # the local preview is deleted; Firebase Hosting knows no version pr-7 either: both go
        delete_deployment(local_platform, preview.deployment.id)  # type: ignore[attr-defined]
        env = {**env, **local_platform.environ()}
        done = cleanup_previews(cfg, env)
        assert done.errors == [] and done.kept == 0
        assert sorted(e["value"] for e in done.removed) == sorted([domain, "demo-site--pr-7-x1y2z3.web.app"])
        assert proj.authorized_domains == ["localhost", "demo-project.firebaseapp.com", "demo-project.web.app"]
        assert load(root) == []


def test_cleanup_through_the_cli_with_dry_run(supabase: tuple[Fakes, dict[str, str]], tmp_path: Path,
                                              local_platform: RunningPlatform) -> None:
    fakes, environ = supabase
    root = project(tmp_path / "shop", local_platform.new_site("clean"), SUPABASE)
    preview = deploy(local_platform, root, environ)
    delete_deployment(local_platform, preview.deployment.id)  # type: ignore[attr-defined]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOAI_", "SUPABASE_"))} | environ \
        | local_platform.environ()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "moai_adk", "cleanup", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)

    live = fakes.api.backend_state(STAGING)
    url = live.auth["uri_allow_list"]
    r = cli("--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    assert [e["value"] for e in json.loads(r.stdout)["backend_previews"]["removed"]] == [url]
    assert live.auth["uri_allow_list"] == url
    r = cli()
    assert r.returncode == 0, r.stderr
    assert "deleted preview(s)' URL(s)" in r.stdout and live.auth["uri_allow_list"] == "" and load(root) == []
