"""`platform serve --backups-for DIR`: the schedule starts with the server, `platform status` shows it,
a project without a usable schedule stops the server before it listens; `db backup --schedule` writes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.platform.conftest import wait_healthy
from tests.platform.test_server import cli, free_port

TOML = """# my project
[project]
name = "shop"

[environments.production]
db_url_env = "PROD_DB_URL"

[environments.staging]
db_url_env = "STAGING_DB_URL"

[db.backups]
location = "backups"   # next to moai.toml
"""


def moai(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moai_adk", *args], env={**os.environ, **env, "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=60)


def test_schedule_is_written_then_run_by_serve_and_shown_by_status(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "moai.toml").write_text(TOML)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "xdg")}

    bad = moai("-C", str(project), "db", "backup", "--schedule", "0 3 * 13 *", "--env", "production", env=env)
    assert bad.returncode == 2 and "in the month field, 13 is out of range" in bad.stderr
    dry = moai("-C", str(project), "db", "backup", "--schedule", "0 3 * * *", "--env", "production", "--dry-run",
               env=env)
    assert dry.returncode == 0 and "Would set" in dry.stdout and (project / "moai.toml").read_text() == TOML
    done = moai("-C", str(project), "db", "backup", "--schedule", "30 2 * * *", "--env", "staging", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["environments"] == ["staging"]
    text = (project / "moai.toml").read_text()
    assert "# my project" in text and "# next to moai.toml" in text  # comments kept
    assert 'schedule = "30 2 * * *"' in text and 'schedule_environments = ["staging"]' in text

    port, data = free_port(), tmp_path / "data"
    proc = cli("platform", "serve", "--port", str(port), "--data", str(data), "--backups-for", str(project), env=env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        deadline = time.monotonic() + 10
        while not (data / "backup-schedules.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        status = moai("platform", "status", "--data", str(data), "--json", env=env)
        info = json.loads(status.stdout)
        assert status.returncode == 0 and info["running"]
        shop = info["backups"][str(project.resolve())]
        assert shop["project"] == "shop" and shop["schedule"] == "30 2 * * *" and shop["environments"] == ["staging"]
        assert shop["next_run"].endswith("T02:30:00+00:00") and "last_result" not in shop
        shown = moai("platform", "status", "--data", str(data), env=env)
        assert "Backups of shop" in shown.stdout and "30 2 * * * UTC" in shown.stdout and "no run yet" in shown.stdout
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert "Backups of shop (staging): 30 2 * * * UTC, next" in err


def test_serve_refuses_a_project_without_a_schedule_before_listening(tmp_path: Path) -> None:
    (tmp_path / "moai.toml").write_text(TOML)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    out = moai("platform", "serve", "--port", str(free_port()), "--data", str(tmp_path / "data"),
               "--backups-for", str(tmp_path), env=env)
    assert out.returncode == 1
    assert "has no backup schedule" in out.stderr and 'schedule = "0 3 * * *"' in out.stderr
