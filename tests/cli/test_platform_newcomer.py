"""A newcomer's first hour on the local platform, through the real CLI in a subprocess:
two platforms keep one credentials entry each (no silent switch), interrupted deploys expire and
`moai-adk cleanup` removes them with their blobs and nginx trees, `rollback` walks back through the
production history (`--dry-run` names the target), `promote` of an unknown ID names the ID."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.cli.conftest import Run
from tests.cli.test_deploy_cli import deploy_json, site_project


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(data: Path, env: dict[str, str]) -> Iterator[str]:
    """``moai-adk platform serve`` on a free port with ``env``; yields its URL, stops it after."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "moai_adk", "platform", "serve", "--port", str(port),
                             "--data", str(data), "--server", "uvicorn"], env={**os.environ, **env},
                            text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/_api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=15)


def as_json(r: subprocess.CompletedProcess[str]) -> Any:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_second_platform_adds_its_own_credentials_entry_and_the_cli_stays(moai: Run, tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    root = site_project(tmp_path / "p", "twoplat")
    with serve(tmp_path / "first", env) as first:
        assert deploy_json(moai, root, env, "--prod")["production_url"].endswith(f":{first.rsplit(':', 1)[1]}/")
        with serve(tmp_path / "second", env) as second:
            status = as_json(moai("platform", "status", "--json", cwd=root, env=env))
            assert status["url"] == first and status["token_ok"] is True  # no silent move to the new one
            listed = {p["url"]: p for p in status["platforms"]}
            assert set(listed) == {first, second}
            assert listed[first]["default"] and listed[first]["selected"] and listed[first]["token_ok"]
            assert not listed[second]["default"] and listed[second]["running"] and listed[second]["token_ok"]
            text = moai("platform", "status", cwd=root, env=env).stdout
            assert first in text and second in text and "default" in text
            # an explicit URL picks the second platform's entry, token included
            picked = as_json(moai("platform", "status", "--json", cwd=root, env={**env, "MOAI_PLATFORM_URL": second}))
            assert picked["url"] == second and picked["token_ok"] is True
            assert deploy_json(moai, root, {**env, "MOAI_PLATFORM_URL": second})["state"] == "ready"
        # the second one stopped: the first still takes the CLI's token, nothing to restart
        assert deploy_json(moai, root, env, "--prod")["state"] == "ready"
        gone = moai("platform", "status", cwd=root, env={**env, "MOAI_PLATFORM_URL": second})
        assert gone.returncode == 1 and f"no local platform at {second}" in gone.stderr
        assert first in gone.stderr  # the hint names the saved platform that answers
    saved = json.loads((tmp_path / "config" / "moai-adk" / "platform.json").read_text())
    assert saved["url"] == first and set(saved["platforms"]) == {first, second}


def test_interrupted_deploys_expire_and_cleanup_removes_them_their_blobs_and_trees(moai: Run,
                                                                                 tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "MOAI_PLATFORM_UPLOAD_TTL": "4"}
    data = tmp_path / "data"
    root = site_project(tmp_path / "p", "expiring")
    with serve(data, env) as url:
        ready = deploy_json(moai, root, env, "--prod")
        token = json.loads((tmp_path / "config" / "moai-adk" / "platform.json").read_text())["token"]
        # a client that died half-way: a manifest, one of its two new blobs uploaded, no finalize
        orphan, never = b"uploaded, then the deploy died", b"never uploaded"
        shas = [hashlib.sha256(b).hexdigest() for b in (orphan, never)]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as api:
            made = api.post("/_api/v1/sites/expiring/deploys", json={"files": {"a.txt": shas[0], "b.txt": shas[1]}})
            api.put(f"/_api/v1/blobs/{shas[0]}", content=orphan).raise_for_status()
        dead = made.json()["id"]
        blob = data / "blobs" / shas[0][:2] / shas[0][2:4] / shas[0]
        assert blob.exists()
        stale_tree = data / "edge" / "trees" / "zzzzzzzzzz"  # a tree of no ready deployment
        stale_tree.mkdir(parents=True)
        (stale_tree / "index.html").write_text("stale")
        listing = as_json(moai("deployments", "--json", cwd=root, env=env))
        assert {d["id"]: d["state"] for d in listing}[dead] == "uploading"
        time.sleep(4.5)
        listing = as_json(moai("deployments", "--json", cwd=root, env=env))
        assert {d["id"]: d["state"] for d in listing} == {dead: "expired", ready["deployment_id"]: "ready"}
        assert "expired" in moai("deployments", cwd=root, env=env).stdout

        plan = as_json(moai("cleanup", "--dry-run", "--json", cwd=root, env=env))
        assert [d["id"] for d in plan["expired_deploys"]] == [dead] and plan["dry_run"] is True
        assert plan["blobs"] == 1 and plan["bytes"] == len(orphan) and plan["trees"] == ["zzzzzzzzzz"]
        assert blob.exists() and stale_tree.exists()  # a dry run removes nothing
        shown = moai("cleanup", "--dry-run", cwd=root, env=env)
        assert "Would remove 1 expired deployment(s)" in shown.stdout and dead in shown.stdout

        done = as_json(moai("cleanup", "--json", cwd=root, env=env))
        assert [d["id"] for d in done["expired_deploys"]] == [dead] and done["blobs"] == 1
        assert not blob.exists() and not stale_tree.exists()
        listing = as_json(moai("deployments", "--json", cwd=root, env=env))
        assert [d["id"] for d in listing] == [ready["deployment_id"]]
        assert httpx.get(f"{url}/_sites/expiring/").text == "expiring one"  # production untouched
        again = as_json(moai("cleanup", "--json", cwd=tmp_path, env={**env, "MOAI_PLATFORM_URL": url}))
        assert again["expired_deploys"] == [] and again["blobs"] == 0  # outside a project too


def test_rollback_walks_back_through_production_history(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("hist")
    root = site_project(tmp_path / "p", site)
    env = local_platform.environ()
    ids = []
    for n in ("a", "b", "c"):
        (root / "out" / "index.html").write_text(f"{site} {n}")
        ids.append(deploy_json(moai, root, env, "--prod")["deployment_id"])
    served = lambda: httpx.get(f"{local_platform.url}/_sites/{site}/").text  # noqa: E731
    for expect, text in ((ids[1], "b"), (ids[0], "a")):
        plan = as_json(moai("rollback", "--dry-run", "--json", cwd=root, env=env))
        assert plan["deployment_id"] == expect
        assert expect in moai("rollback", "--dry-run", cwd=root, env=env).stdout
        assert as_json(moai("rollback", "--json", cwd=root, env=env))["id"] == expect
        assert served() == f"{site} {text}"
    r = moai("rollback", cwd=root, env=env)
    assert r.returncode == 1 and "no earlier production deploy" in r.stderr
    assert moai("rollback", "--dry-run", cwd=root, env=env).returncode == 1
    assert served() == f"{site} a"
    # a promotion after rollbacks starts a new branch: rollback returns to where it was promoted from
    assert moai("promote", ids[2], cwd=root, env=env).returncode == 0
    assert as_json(moai("rollback", "--json", cwd=root, env=env))["id"] == ids[0]


def test_promote_of_an_unknown_id_names_the_id(moai: Run, local_platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = local_platform.new_site("prom")
    root = site_project(tmp_path / "p", site)
    env = local_platform.environ()
    deploy_json(moai, root, env)
    for command in ("promote", "rollback"):
        r = moai(command, "nosuchid", cwd=root, env=env)
        assert r.returncode == 1
        assert "has the ID 'nosuchid'" in r.stderr and "moai-adk deployments" in r.stderr, r.stderr
        assert "site name" not in r.stderr
