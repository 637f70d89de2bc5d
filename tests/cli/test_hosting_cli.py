"""`moai-adk channels ...` (Firebase) and `moai-adk functions ...` (Supabase)
through the real CLI against the fakes served on loopback ports."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run
from tests.fakes import serve_handler
from tests.fakes.firebase import FakeFirebase
from tests.fakes.supabase_api import FakeSupabaseApi


def firebase_project(root: Path) -> Path:
    (root / "moai.toml").write_text('[project]\nname = "demo"\n[build]\noutput = "dist"\n[deploy]\nplatform = "firebase"\n'
                                    '[platforms.firebase]\nsite = "demo-site"\n')
    (root / "dist").mkdir()
    (root / "dist" / "index.html").write_text("hi")
    return root


def test_channels_list_and_delete(moai: Run, tmp_path: Path) -> None:
    root = firebase_project(tmp_path)
    fake = FakeFirebase()
    with fake.serve():
        env = fake.env()
        r = moai("deploy", "--branch", "feat-a", "--no-health-check", "--json", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        listing = json.loads(moai("channels", "list", "--json", cwd=root, env=env).stdout)
        assert "feat-a" in [c["id"] for c in listing]
        r = moai("channels", "delete", "feat-a", "--dry-run", cwd=root, env=env)
        assert r.returncode == 0 and "feat-a" in fake.sites["demo-site"].channels
        r = moai("channels", "delete", "feat-a", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        assert "feat-a" not in fake.sites["demo-site"].channels
        r = moai("channels", "delete", "live", cwd=root, env=env)
        assert r.returncode != 0 and "live" in r.stderr


def test_channels_on_a_platform_without_them(moai: Run, tmp_path: Path) -> None:
    (tmp_path / "moai.toml").write_text('[project]\nname = "demo"\n')
    r = moai("channels", "list", "--platform", "local", cwd=tmp_path,
             env={"MOAI_PLATFORM_URL": "http://127.0.0.1:9", "MOAI_PLATFORM_TOKEN": "x"})
    assert r.returncode == 1 and "has no preview channels" in r.stderr


def test_functions_deploy_list_delete(moai: Run, tmp_path: Path) -> None:
    ref = "abcdefghijklmnopqrst"
    (tmp_path / "moai.toml").write_text(f'[project]\nname = "demo"\n[environments.production]\nsupabase_project_ref = "{ref}"\n')
    fn = tmp_path / "supabase" / "functions" / "hello"
    fn.mkdir(parents=True)
    (fn / "index.ts").write_text('Deno.serve(() => new Response("hi"))\n')
    fake = FakeSupabaseApi()
    with serve_handler(fake.handle) as url:
        env = {"SUPABASE_ACCESS_TOKEN": "sbp_test", "MOAI_SUPABASE_API_URL": url}
        dry = json.loads(moai("functions", "deploy", "--dry-run", "--json", cwd=tmp_path, env=env).stdout)
        assert dry[0]["slug"] == "hello" and dry[0]["planned"] and not fake.projects[ref].functions
        r = moai("functions", "deploy", "--json", cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        assert "hello" in fake.projects[ref].functions
        listing = json.loads(moai("functions", "list", "--json", cwd=tmp_path, env=env).stdout)
        assert [f["slug"] for f in listing] == ["hello"]
        r = moai("functions", "delete", "hello", cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        assert "hello" not in fake.projects[ref].functions
        r = moai("functions", "list", cwd=tmp_path, env={**env, "SUPABASE_ACCESS_TOKEN": "revoked"})
        assert r.returncode == 1 and "SUPABASE_ACCESS_TOKEN" in r.stderr
