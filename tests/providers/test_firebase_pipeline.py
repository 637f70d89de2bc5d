"""The provider-neutral deploy pipeline driving Firebase against the fake: preview
health-checked on its channel URL, production promoted by a release on live."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.config import parse_config
from moai_adk.deploy.pipeline import DeployRequest, run_deploy
from moai_adk.errors import HealthCheckFailed
from tests.fakes.firebase import FakeFirebase, firebase_provider


def project(tmp_path: Path, health: str = "/") -> Path:
    toml = tmp_path / "moai.toml"
    toml.write_text(f'[project]\nname = "demo"\n[build]\noutput = "dist"\n[deploy]\nplatform = "firebase"\n'
                    f'health_check = "{health}"\nhealth_timeout = 0.3\n')
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<h1>ok</h1>")
    return toml


def test_preview_is_health_checked_on_its_channel(tmp_path: Path) -> None:
    cfg = parse_config(project(tmp_path).read_text(), tmp_path / "moai.toml")
    fake = FakeFirebase()
    provider = firebase_provider(fake, tmp_path)
    result = run_deploy(DeployRequest(cfg, "firebase", environment="preview", branch="feat-x"), provider,
                        environ={}, health_transport=fake.transport())
    d = result.deployment
    assert d is not None and d.url and d.url.endswith("/feat-x") and not result.promoted
    assert fake.count("GET", r"^/__hosting/demo-site/feat-x/$") == 1  # the health check hit the channel
    assert fake.live_version() is None


def test_production_is_promoted_to_live(tmp_path: Path) -> None:
    cfg = parse_config(project(tmp_path).read_text(), tmp_path / "moai.toml")
    fake = FakeFirebase()
    provider = firebase_provider(fake, tmp_path)
    result = run_deploy(DeployRequest(cfg, "firebase", environment="production", production=True), provider,
                        environ={}, health_transport=fake.transport())
    assert result.promoted and result.deployment is not None
    assert fake.live_version() == result.deployment.id and result.deployment.production
    assert result.deployment.stats.files_uploaded == 1


def test_failed_health_check_leaves_production_alone(tmp_path: Path) -> None:
    cfg = parse_config(project(tmp_path, health="/missing").read_text(), tmp_path / "moai.toml")
    fake = FakeFirebase()
    with pytest.raises(HealthCheckFailed):
        run_deploy(DeployRequest(cfg, "firebase", environment="preview"), firebase_provider(fake, tmp_path),
                   environ={}, health_transport=fake.transport())
    assert fake.live_version() is None


def test_public_dir_from_firebase_json(tmp_path: Path) -> None:
    (tmp_path / "firebase.json").write_text('{"hosting": {"public": "build"}}')
    assert firebase_provider(FakeFirebase(), tmp_path).public_dir() == (tmp_path / "build").resolve()
    (tmp_path / "firebase.json").write_text('{"hosting": {"site": "x"}}')
    assert firebase_provider(FakeFirebase(), tmp_path).public_dir() is None


def test_predeploy_and_postdeploy_hooks_run_around_the_deploy(tmp_path: Path) -> None:
    toml = project(tmp_path)
    (tmp_path / "firebase.json").write_text(
        '{"hosting": {"public": "dist", "predeploy": ["echo pre > dist/pre.txt"], '
        '"postdeploy": "echo post > post.txt"}}')
    cfg = parse_config(toml.read_text(), toml)
    fake = FakeFirebase()
    result = run_deploy(DeployRequest(cfg, "firebase", environment="preview"), firebase_provider(fake, tmp_path),
                        environ={}, health_transport=fake.transport())
    assert {"predeploy", "postdeploy"} <= set(result.phases)
    assert result.files_total == 2  # the predeploy hook's file was published
    assert (tmp_path / "post.txt").read_text() == "post\n"


def test_failing_predeploy_hook_stops_before_any_request(tmp_path: Path) -> None:
    from moai_adk.errors import BuildError

    toml = project(tmp_path)
    (tmp_path / "firebase.json").write_text('{"hosting": {"public": "dist", "predeploy": "exit 4"}}')
    cfg = parse_config(toml.read_text(), toml)
    fake = FakeFirebase()
    with pytest.raises(BuildError, match="predeploy"):
        run_deploy(DeployRequest(cfg, "firebase"), firebase_provider(fake, tmp_path), environ={})
    assert fake.count("POST", r"versions") == 0
