from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run


def project(tmp_path: Path, toml: str = '[project]\nname = "site"\n') -> Path:
    (tmp_path / "moai.toml").write_text(toml)
    (tmp_path / "index.html").write_text("<h1>hi</h1>")
    return tmp_path


def test_help_and_version(moai: Run) -> None:
    r = moai("--help")
    assert r.returncode == 0
    for command in ("init", "deploy", "deployments", "promote", "rollback", "status", "platform"):
        assert command in r.stdout
    assert moai("--version").stdout.startswith("moai-adk")


def test_unknown_command_and_flag_are_usage_errors(moai: Run) -> None:
    assert moai("deplyo").returncode == 2
    assert moai("deploy", "--no-such-flag").returncode == 2


def test_no_config_is_a_clear_failure(moai: Run, tmp_path: Path) -> None:
    r = moai("deploy")
    assert r.returncode == 1
    assert "Error: No moai.toml" in r.stderr
    assert "moai-adk init" in r.stderr


def test_unknown_platform_exits_2_and_lists_known(moai: Run, tmp_path: Path) -> None:
    project(tmp_path)
    r = moai("deploy", "--platform", "heroku")
    assert r.returncode == 2
    assert "Unknown platform 'heroku' (--platform)" in r.stderr
    assert "netlify" in r.stderr and "vercel" in r.stderr


def test_malformed_config_names_file_and_line(moai: Run, tmp_path: Path) -> None:
    project(tmp_path, '[project]\nname = "site"\n[build]\noutput = 3\n')
    r = moai("deploy", "--dry-run")
    assert r.returncode == 1
    assert "moai.toml:4" in r.stderr and "build.output" in r.stderr


def test_prod_conflicts_with_other_env(moai: Run, tmp_path: Path) -> None:
    project(tmp_path)
    assert moai("deploy", "--prod", "--env", "staging").returncode == 2


def test_unknown_environment(moai: Run, tmp_path: Path) -> None:
    project(tmp_path)
    r = moai("deploy", "--env", "qa", "--dry-run")
    assert r.returncode == 1 and "Unknown environment 'qa'" in r.stderr


def test_dry_run_json_touches_nothing_remote(moai: Run, tmp_path: Path) -> None:
    project(tmp_path, '[project]\nname = "site"\n[build]\ncommand = "exit 3"\n')
    # no platform is running: a dry run must still work (build and upload are skipped)
    r = moai("deploy", "--dry-run", "--json", env={"MOAI_PLATFORM_URL": "http://127.0.0.1:9"})
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["dry_run"] is True and data["files_total"] == 1 and data["deployment_id"] is None


def test_failing_build_command(moai: Run, tmp_path: Path) -> None:
    project(tmp_path, '[project]\nname = "site"\n[build]\ncommand = "echo compiling; echo boom >&2; exit 3"\n')
    r = moai("deploy")
    assert r.returncode == 1
    assert "exit code 3" in r.stderr and "boom" in r.stderr and "--skip-build" in r.stderr


def test_secret_in_output_is_refused(moai: Run, tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / ".env").write_text("TOKEN=x")
    r = moai("deploy", "--dry-run")
    assert r.returncode == 1
    assert ".env" in r.stderr and "--allow-secret-file" in r.stderr


def test_missing_or_empty_output_folder(moai: Run, tmp_path: Path) -> None:
    project(tmp_path, '[project]\nname = "site"\n[build]\noutput = "dist"\n')
    r = moai("deploy", "--dry-run")
    assert r.returncode == 1
    assert "dist does not exist" in r.stderr and "[build] output" in r.stderr
    (tmp_path / "dist").mkdir()
    r = moai("deploy", "--dry-run")
    assert r.returncode == 1 and "is empty" in r.stderr


def test_symlink_out_of_the_output_folder(moai: Run, tmp_path: Path) -> None:
    project(tmp_path, '[project]\nname = "site"\n[build]\noutput = "dist"\n')
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("hi")
    (tmp_path / "secret.txt").write_text("s")
    (tmp_path / "dist" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    r = moai("deploy", "--dry-run")
    assert r.returncode == 1
    assert "leak.txt is a symlink pointing outside the output folder" in r.stderr


def test_env_files_moai_adk_pulled_are_not_published(moai: Run, tmp_path: Path) -> None:
    """`env pull` writes .env.<env>.local next to moai.toml; with output "." deploys must not refuse it."""
    project(tmp_path)
    (tmp_path / ".env.development.local").write_text("API_URL=x\n")
    r = moai("deploy", "--dry-run", "--json", env={"MOAI_PLATFORM_URL": "http://127.0.0.1:9"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["files_total"] == 1


def test_deploy_exclude_globs(moai: Run, tmp_path: Path) -> None:
    project(tmp_path, '[project]\nname = "site"\n[deploy]\nexclude = ["*.map", "drafts/"]\n')
    (tmp_path / "app.js.map").write_text("{}")
    (tmp_path / "drafts").mkdir()
    (tmp_path / "drafts" / "wip.html").write_text("wip")
    env = {"MOAI_PLATFORM_URL": "http://127.0.0.1:9"}
    r = moai("deploy", "--dry-run", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["files_total"] == 1
    project(tmp_path, '[project]\nname = "site"\n[deploy]\nexclude = ["../up"]\n')
    r = moai("deploy", "--dry-run", env=env)
    assert r.returncode == 1 and "moai.toml: [deploy] exclude" in r.stderr and "'../up'" in r.stderr
