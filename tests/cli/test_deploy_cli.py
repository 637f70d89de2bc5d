"""`moai-adk deploy | deployments | promote | rollback | status` end to end:
the real CLI in a subprocess against a real local platform."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.conftest import Run


def site_project(root: Path, site: str, files: int = 2) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n[build]\noutput = "out"\n')
    out = root / "out"
    out.mkdir(exist_ok=True)
    (out / "index.html").write_text(f"{site} one")
    for i in range(files):
        (out / f"f{i}.txt").write_text(f"file {i}")
    return root


def deploy_json(moai: Run, root: Path, env: dict[str, str], *args: str) -> dict:  # type: ignore[type-arg]
    r = moai("deploy", "--json", *args, cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_deploy_promote_rollback_listing(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("cli")
    root = site_project(tmp_path / "p", site)
    env = local_platform.environ()
    first = deploy_json(moai, root, env, "--prod")
    assert first["production"] is True and first["files_uploaded"] == 3
    assert first["url"].startswith(f"http://{first['deployment_id']}.{site}.localhost:")
    assert httpx.get(f"{local_platform.url}/_sites/{site}/").text == f"{site} one"

    (root / "out" / "index.html").write_text(f"{site} two")
    second = deploy_json(moai, root, env)
    assert second["production"] is False and second["files_uploaded"] == 1
    assert httpx.get(f"{local_platform.url}/_sites/{site}/").text == f"{site} one"

    r = moai("promote", second["deployment_id"], cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    assert httpx.get(f"{local_platform.url}/_sites/{site}/").text == f"{site} two"

    listing = json.loads(moai("deployments", "--json", cwd=root, env=env).stdout)
    assert [d["id"] for d in listing] == [second["deployment_id"], first["deployment_id"]]
    assert [d["production"] for d in listing] == [True, False]

    r = moai("rollback", "--dry-run", cwd=root, env=env)
    assert r.returncode == 0 and "Dry run" in r.stdout
    assert httpx.get(f"{local_platform.url}/_sites/{site}/").text == f"{site} two"
    r = moai("rollback", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    assert httpx.get(f"{local_platform.url}/_sites/{site}/").text == f"{site} one"

    status = json.loads(moai("status", "--json", cwd=root, env=env).stdout)
    assert status["platforms"][0]["production"]["id"] == first["deployment_id"]


def test_platform_not_running(moai: Run, tmp_path: Path) -> None:
    root = site_project(tmp_path / "p", "offline")
    r = moai("deploy", cwd=root, env={"MOAI_PLATFORM_URL": "http://127.0.0.1:9", "MOAI_PLATFORM_TOKEN": "x"})
    assert r.returncode == 1
    assert "no local platform at http://127.0.0.1:9" in r.stderr
    assert "moai-adk platform serve" in r.stderr


def test_wrong_token(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = site_project(tmp_path / "p", local_platform.new_site("tok"))
    r = moai("deploy", cwd=root, env=local_platform.environ(MOAI_PLATFORM_TOKEN="wrong"))
    assert r.returncode == 1
    assert "MOAI_PLATFORM_TOKEN" in r.stderr


def test_kill_9_mid_deploy_keeps_production_and_resumes(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("kill")
    root = site_project(tmp_path / "p", site, files=0)
    env = local_platform.environ()
    deploy_json(moai, root, env, "--prod")
    # a bigger second release, uploaded one blob at a time so it can be interrupted
    big = os.urandom(64 * 1024)
    for i in range(600):
        (root / "out" / f"blob{i:03d}.bin").write_bytes(big[: 1000 + i * 100] + str(i).encode())
    (root / "out" / "index.html").write_text(f"{site} two")
    blobs = local_platform.data_dir / "blobs"

    def blob_count() -> int:
        return sum(1 for p in blobs.rglob("*") if p.is_file() and "." not in p.name)

    before = blob_count()
    full_env = dict(os.environ, **env, XDG_CONFIG_HOME=str(tmp_path / "cfg"), MOAI_UPLOAD_CONCURRENCY="1")
    proc = subprocess.Popen([sys.executable, "-m", "moai_adk", "deploy", "--prod", "--json"], cwd=root,
                            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while blob_count() < before + 50 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the platform may still be finishing a request that was in flight: wait until the store settles
    settled, last = 0, -1
    while settled < 5:
        now = blob_count()
        settled = settled + 1 if now == last else 0
        last = now
        time.sleep(0.05)
    uploaded_before_kill = last - before
    assert 0 < uploaded_before_kill < 601, "the deploy was not interrupted half-way"
    assert httpx.get(f"{local_platform.url}/_sites/{site}/").text == f"{site} one"

    again = deploy_json(moai, root, env, "--prod")
    assert again["files_total"] == 601
    assert again["files_uploaded"] == 601 - uploaded_before_kill
    assert httpx.get(f"{local_platform.url}/_sites/{site}/").text == f"{site} two"


def test_missing_token_names_the_fix(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = site_project(tmp_path / "p", local_platform.new_site("notoken"))
    # a platform URL but no token and no credentials file for this user
    r = moai("deploy", cwd=root, env={"MOAI_PLATFORM_URL": local_platform.url,
                                      "MOAI_PLATFORM_CREDENTIALS": str(tmp_path / "none.json")})
    assert r.returncode == 1
    assert "MOAI_PLATFORM_TOKEN" in r.stderr and "Hint:" in r.stderr


def test_rollback_with_nothing_to_roll_back_to(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = site_project(tmp_path / "p", local_platform.new_site("norb"))
    env = local_platform.environ()
    deploy_json(moai, root, env, "--prod")
    r = moai("rollback", cwd=root, env=env)
    assert r.returncode == 1
    assert "no earlier production deploy" in r.stderr and "moai-adk deployments" in r.stderr
