"""`moai-adk promote --from ENV --to ENV` end to end (the real CLI against a real local platform): build
once, promote many, `requires`, and the bad input: unknown environment, nothing deployed, requirement not
met, --from equal to --to."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.cli.conftest import Run
from tests.conftest import RunningPlatform

TOML = '''[project]
name = "{site}"
[build]
output = "out"
[environments.staging]
[environments.qa]
[environments.production]
requires = "staging"
'''


def project(root: Path, site: str) -> Path:
    root.mkdir(parents=True)
    (root / "moai.toml").write_text(TOML.format(site=site))
    (root / "out").mkdir()
    (root / "out" / "index.html").write_text(f"<h1>{site} v1</h1>")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=dev@example.com", "-c", "user.name=Dev", "commit", "-q",
                    "--allow-empty", "-m", "first"], cwd=root, check=True)
    return root


def run_json(moai: Run, root: Path, env: dict[str, str], *args: str) -> dict:  # type: ignore[type-arg]
    r = moai(*args, "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def audit(root: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (root / ".moai" / "audit" / "log.jsonl").read_text().splitlines()]


def test_staging_to_production_moves_the_same_deployment(moai: Run, local_platform: RunningPlatform,
                                                         tmp_path: Path) -> None:
    p = local_platform
    site = p.new_site("prom")
    root = project(tmp_path / "p", site)
    env = p.environ()
    staged = run_json(moai, root, env, "deploy", "--env", "staging")
    sid = staged["deployment_id"]
    alias = httpx.get(p.url + "/", headers={"host": f"staging.env.{site}.localhost:{p.port}"})
    assert alias.text == f"<h1>{site} v1</h1>", "a healthy staging deploy moves the staging alias"
    log = audit(root)
    deploy = next(e for e in log if e["action"] == "deploy")
    assert deploy["details"]["digest"].startswith("sha256:") and len(deploy["details"]["git"]["commit"]) == 40
    assert deploy["details"]["git"]["dirty"] is False

    dry = run_json(moai, root, env, "promote", "--from", "staging", "--to", "production", "--dry-run")
    assert dry["dry_run"] is True and dry["mode"] == "same-deployment" and dry["source_deployment"] == sid
    assert httpx.get(p.url + "/", headers={"host": f"{site}.localhost:{p.port}"}).status_code == 404

    (root / "out" / "index.html").write_text("a new build nobody tested")  # not used: nothing is rebuilt
    moved = run_json(moai, root, env, "promote", "--from", "staging", "--to", "production")
    assert moved["mode"] == "same-deployment" and moved["deployment_id"] == sid
    assert moved["requires"]["environment"] == "staging" and moved["health"] == "ok"
    assert httpx.get(p.url + "/", headers={"host": f"{site}.localhost:{p.port}"}).text == f"<h1>{site} v1</h1>"
    last = [e for e in audit(root) if e["action"] == "promote"][-1]
    assert last["environment"] == "production" and last["details"]["from_environment"] == "staging"
    assert last["details"]["mode"] == "same-deployment" and last["details"]["digest"] == deploy["details"]["digest"]
    text = moai("promote", "--from", "staging", "--to", "production", cwd=root, env=env)
    assert text.returncode == 0 and "same-deployment" in text.stdout

    # the old form still works
    again = run_json(moai, root, env, "promote", sid)
    assert again["id"] == sid


def test_bad_input(moai: Run, local_platform: RunningPlatform, tmp_path: Path) -> None:
    p = local_platform
    site = p.new_site("promb")
    root = project(tmp_path / "p", site)
    env = p.environ()
    unknown = moai("promote", "--from", "stagin", "--to", "production", cwd=root, env=env)
    assert unknown.returncode == 1
    assert "Unknown environment 'stagin'" in unknown.stderr and "staging" in unknown.stderr and "qa" in unknown.stderr
    same = moai("promote", "--from", "staging", "--to", "staging", cwd=root, env=env)
    assert same.returncode == 2 and "cannot be promoted into itself" in same.stderr
    half = moai("promote", "--from", "staging", cwd=root, env=env)
    assert half.returncode == 2 and "--to" in half.stderr
    nothing = moai("promote", "--from", "staging", "--to", "production", cwd=root, env=env)
    assert nothing.returncode == 1
    assert "Nothing is deployed to 'staging'" in nothing.stderr and "moai-adk deploy --env staging" in nothing.stderr
    # qa was never staging: production refuses it, naming the environment, the deployment and the fix
    qa = run_json(moai, root, env, "deploy", "--env", "qa")
    refused = moai("promote", "--from", "qa", "--to", "production", cwd=root, env=env)
    assert refused.returncode == 1
    assert "requires" in refused.stderr and "'staging'" in refused.stderr and qa["deployment_id"] in refused.stderr
    assert "moai-adk promote --from qa --to staging" in refused.stderr
    assert httpx.get(p.url + "/", headers={"host": f"{site}.localhost:{p.port}"}).status_code == 404
    # following the hint: qa -> staging (health-checked there), then production takes it
    to_staging = run_json(moai, root, env, "promote", "--from", "qa", "--to", "staging")
    assert to_staging["deployment_id"] == qa["deployment_id"] and to_staging["health"] == "ok"
    prod = run_json(moai, root, env, "promote", "--from", "qa", "--to", "production")
    assert prod["deployment_id"] == qa["deployment_id"]
    # a staging deploy without its health check proves nothing
    (root / "out" / "index.html").write_text("unchecked")
    run_json(moai, root, env, "deploy", "--env", "staging", "--no-health-check")
    unchecked = moai("promote", "--from", "staging", "--to", "production", cwd=root, env=env)
    assert unchecked.returncode == 1 and "no passing health check in 'staging'" in unchecked.stderr
