"""`moai-adk deploy` sends the environment's secrets store by itself: the real CLI against a real local platform."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from moai_adk import audit
from moai_adk.config import load_config
from moai_adk.workspace import open_provider
from tests.conftest import RunningPlatform

from .conftest import Run, user_env

TOKEN = "tok-4f9a2c7e1b8d3f6a"
PASSWORD = "correct horse battery staple"
BUILD = 'command = "mkdir -p out && cp index.html out/ && touch built.txt && echo built it"\noutput = "out"\n'


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, (r.stdout, r.stderr)
    return r


def project(root: Path, site: str, build: str = BUILD) -> Path:
    root.mkdir(parents=True)
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "local"\n\n[build]\n{build}')
    return root


def platform_vars(root: Path, env: dict[str, str]) -> list[tuple[str, str | None, bool]]:
    with open_provider(load_config(root / "moai.toml"), env, "local") as provider:
        listed = provider.env_list("production")  # type: ignore[attr-defined]
    return sorted((v.key, v.value, v.secret) for v in listed)


def no_value_on_disk(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and PASSWORD.encode() not in data, path


def test_deploy_sends_only_changed_secrets_as_platform_secrets(moai: Run, tmp_path: Path,
                                                               local_platform: RunningPlatform) -> None:
    root = project(tmp_path / "p", local_platform.new_site("dsec"))
    env = local_platform.environ()
    ok(moai("secrets", "keygen", "--env", "production", cwd=root, env=env))
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "production", cwd=root, env=env))
    ok(moai("secrets", "set", "DB_PASSWORD", PASSWORD, "--env", "production", cwd=root, env=env))

    (root / "out").mkdir()
    (root / "out" / "index.html").write_text("<h1>hi</h1>")  # a dry run builds nothing
    r = ok(moai("deploy", "--prod", "--dry-run", "--json", cwd=root, env=env))
    assert json.loads(r.stdout)["secrets"]["sent"] == ["API_TOKEN", "DB_PASSWORD"]
    assert "Would send 2 secret(s) of .moai/secrets/production.age" in r.stderr
    assert platform_vars(root, env) == []  # the dry run sent nothing

    r = ok(moai("deploy", "--prod", "--json", cwd=root, env=env))
    out = json.loads(r.stdout)
    assert out["secrets"]["sent"] == ["API_TOKEN", "DB_PASSWORD"] and out["production"]
    assert platform_vars(root, env) == [("API_TOKEN", None, True), ("DB_PASSWORD", None, True)]
    actions = [e["action"] for e in audit.read_entries(root)]
    assert actions.index("secrets push") < actions.index("deploy")  # sent before the deployment was created

    r = ok(moai("deploy", "--prod", "--json", cwd=root, env=env))
    assert json.loads(r.stdout)["secrets"]["sent"] == []
    assert "all 2 unchanged" in r.stderr

    ok(moai("secrets", "set", "API_TOKEN", TOKEN + "-new", "--env", "production", cwd=root, env=env))
    r = ok(moai("deploy", "--prod", "--json", cwd=root, env=env))
    assert json.loads(r.stdout)["secrets"]["sent"] == ["API_TOKEN"]

    pushes = [e for e in audit.read_entries(root) if e["action"] == "secrets push"]
    assert [e["details"]["sent"] for e in pushes] == [["API_TOKEN", "DB_PASSWORD"], ["API_TOKEN"]]
    no_value_on_disk(root)  # nothing decrypted to disk: not the fingerprints, not the log, not the output
    ok(moai("audit", "verify", cwd=root, env=env))


def test_without_the_environment_key_deploy_stops_before_building(moai: Run, tmp_path: Path,
                                                                  local_platform: RunningPlatform) -> None:
    root = project(tmp_path / "p", local_platform.new_site("dkey"))
    env = local_platform.environ()
    ok(moai("secrets", "keygen", "--env", "production", cwd=root, env=env))
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "production", cwd=root, env=env))
    r = moai("deploy", "--prod", cwd=root, env={**env, **user_env(tmp_path, "bob")})  # bob has no key
    assert r.returncode == 1, r.stderr
    assert "Deploying to production sends the secrets of .moai/secrets/production.age" in r.stderr
    assert "No private key for the production environment" in r.stderr
    assert "moai-adk secrets keygen --env production" in r.stderr and "ask an admin" in r.stderr
    assert not (root / "built.txt").exists() and not (root / "out").exists()  # nothing was built
    ok(moai("deploy", "--env", "preview", cwd=root, env={**env, **user_env(tmp_path, "bob")}))  # no preview store


def test_a_secret_value_in_the_build_output_stops_the_deploy(moai: Run, tmp_path: Path,
                                                             local_platform: RunningPlatform) -> None:
    build = f'command = "mkdir -p out/js && cp index.html out/ && echo \\"var k=\'{TOKEN}\'\\" > out/js/app.js"\n' \
            'output = "out"\n'
    root = project(tmp_path / "p", local_platform.new_site("dleak"), build)
    env = local_platform.environ()
    ok(moai("secrets", "keygen", "--env", "production", cwd=root, env=env))
    ok(moai("secrets", "set", "API_TOKEN", TOKEN, "--env", "production", cwd=root, env=env))
    r = moai("deploy", "--prod", "--allow-secret-file", "js/app.js", cwd=root, env=env)
    assert r.returncode == 1, r.stderr
    assert "js/app.js would be published, but it contains the value of the secret API_TOKEN" in r.stderr
    assert TOKEN not in r.stderr + r.stdout  # the build command echoed it too: redacted
    assert TOKEN in (root / "out" / "js" / "app.js").read_text()
    assert platform_vars(root, env) == []  # stopped before anything was sent
    assert [e["action"] for e in audit.read_entries(root) if e["action"] in ("deploy", "secrets push")] == []
    ok(moai("deploy", "--env", "preview", "--skip-build", cwd=root, env=env))  # preview has no such secret
