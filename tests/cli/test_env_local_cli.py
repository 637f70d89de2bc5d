"""`moai-adk env ...` on the local platform before the first deploy: the real CLI against a real platform."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunningPlatform

from .conftest import Run


def project(root: Path, site: str) -> Path:
    root.mkdir()
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "local"\n')
    return root


def no_routes(text: str) -> None:
    assert "/_api" not in text and "POST /" not in text and "GET /" not in text, text


def test_env_reads_before_the_first_deploy_answer_nothing_set(moai: Run, tmp_path: Path,
                                                              local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("envread")
    root = project(tmp_path / "p", site)
    env = local_platform.environ()
    r = moai("env", "list", "--env", "production", "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["variables"] == []
    r = moai("env", "pull", "--env", "production", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    assert (root / ".env.production.local").is_file()
    r = moai("env", "unset", "NOPE", "--env", "production", cwd=root, env=env)
    assert r.returncode == 2 and "NOPE is not set for the production environment on local" in r.stderr
    no_routes(r.stderr)
    assert local_platform.platform.meta.site(site) is None  # reading created nothing


def test_env_set_before_the_first_deploy_creates_the_site(moai: Run, tmp_path: Path,
                                                          local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("envset")
    root = project(tmp_path / "p", site)
    env = local_platform.environ()
    r = moai("env", "set", "API_URL", "https://api", "--env", "production", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    assert "Added API_URL" in r.stdout
    assert local_platform.platform.meta.site(site) is not None
    r = moai("env", "list", "--env", "production", "--json", cwd=root, env=env)
    assert [(v["key"], v["value"]) for v in json.loads(r.stdout)["variables"]] == [("API_URL", "https://api")]
    other = project(tmp_path / "q", local_platform.new_site("envpush"))
    (other / "push.env").write_text("B=2\n")
    r = moai("env", "push", "--file", "push.env", "--env", "preview", cwd=other, env=env)
    assert r.returncode == 0, r.stderr


def test_commands_on_a_site_not_deployed_yet_name_no_api_routes(moai: Run, tmp_path: Path,
                                                                local_platform: RunningPlatform) -> None:
    root = project(tmp_path / "p", local_platform.new_site("noroute"))
    r = moai("rollback", cwd=root, env=local_platform.environ())
    assert r.returncode == 1
    assert "there is no site named" in r.stderr and "Run `moai-adk deploy` to create the site" in r.stderr
    no_routes(r.stderr)


def test_a_token_that_may_not_write_is_told_what_it_may_not_do(moai: Run, tmp_path: Path,
                                                               local_platform: RunningPlatform) -> None:
    root = project(tmp_path / "p", local_platform.new_site("viewer"))
    with local_platform.client() as c:
        viewer = c.post("/_api/v1/tokens", json={"role": "viewer", "label": "test"}).json()["token"]
    env = local_platform.environ(MOAI_PLATFORM_TOKEN=viewer)
    r = moai("env", "set", "A", "1", "--env", "production", cwd=root, env=env)
    assert r.returncode == 1 and "'test' (viewer) cannot change env vars in production" in r.stderr
    assert "Nothing was sent" in r.stderr  # the CLI asked whoami and refused before sending
    no_routes(r.stderr)
    r = moai("env", "list", "--env", "production", cwd=root, env={**env, "MOAI_PLATFORM_TOKEN": "wrong"})
    assert r.returncode == 1 and "cannot read environment variables." in r.stderr
    no_routes(r.stderr)
