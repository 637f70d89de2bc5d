"""Scheduled backups: a fake clock drives the scheduler (no waiting), pg_dump runs on a real database."""

from __future__ import annotations

import json
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from moai_adk.config import load_config
from moai_adk.db.schedule import MAX_SLEEP, ProjectSchedule, load_project, start
from moai_adk.db.schedule_state import STATUS_FILE, StatusBoard, read_status
from moai_adk.errors import ConfigError
from tests.db.backup_helpers import seed

TOML = """[project]
name = "shop"

[environments.production]
db_url_env = "PROD_DB_URL"

[db.backups]
location = "backups"   # kept by the schedule writer
schedule = "0 3 * * *"
keep_daily = 2
keep_weekly = 0
keep_monthly = 0
"""


class Clock:
    """now() and sleep() for the scheduler: sleeping moves the clock, instantly."""

    def __init__(self, start: datetime) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)


def _schedule(root: Path, clock: Clock, environ: dict[str, str], board: StatusBoard,
              logs: list[str]) -> ProjectSchedule:
    cfg, cron = load_project(root)
    return ProjectSchedule(cfg.root, cfg, cron, environ, board, now=clock.now, sleep=clock.sleep, log=logs.append)


def _run_until(s: ProjectSchedule, clock: Clock, when: datetime) -> None:
    while clock.now() < when:
        s.step()


def test_scheduled_backups_are_written_pruned_audited_and_a_failure_retried(tmp_path: Path, db_url: str,
                                                                            db: psycopg.Connection) -> None:
    seed(db)
    (tmp_path / "moai.toml").write_text(TOML)
    clock = Clock(datetime(2024, 6, 1, 2, 59, 30, tzinfo=UTC))
    environ = {"PATH": "/usr/bin:/bin", "PROD_DB_URL": db_url}
    board, logs = StatusBoard(tmp_path / "data" / STATUS_FILE), []
    s = _schedule(tmp_path, clock, environ, board, logs)
    assert s.next_run == datetime(2024, 6, 1, 3, 0, tzinfo=UTC)

    _run_until(s, clock, datetime(2024, 6, 3, 12, 0, tzinfo=UTC))  # three slots: June 1, 2, 3 at 03:00
    assert max(clock.sleeps) <= MAX_SLEEP
    folder = tmp_path / "backups"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["production-20240602030000.dump", "production-20240602030000.json",
                     "production-20240603030000.dump", "production-20240603030000.json"]  # keep_daily = 2
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    manifest = json.loads((folder / "production-20240603030000.json").read_text())
    assert manifest["tables"]["public.items"] == 50

    status = read_status(tmp_path / "data")[str(tmp_path.resolve())]
    assert status["last_result"] == "ok" and status["next_run"] == "2024-06-04T03:00:00+00:00"
    assert status["last_runs"] == [{"environment": "production", "ok": True, "backup": "production-20240603030000",
                                    "pruned": ["production-20240601030000"]}]
    assert stat.S_IMODE((tmp_path / "data" / STATUS_FILE).stat().st_mode) == 0o600

    # the URL disappears from the server's environment: the run fails, is logged and audited, the next retries
    del environ["PROD_DB_URL"]
    _run_until(s, clock, datetime(2024, 6, 4, 12, 0, tzinfo=UTC))
    status = read_status(tmp_path / "data")[str(tmp_path.resolve())]
    assert status["last_result"] == "failed" and "PROD_DB_URL" in status["last_runs"][0]["error"]
    assert any("scheduled backup of shop (production) failed" in line for line in logs)
    environ["PROD_DB_URL"] = db_url
    _run_until(s, clock, datetime(2024, 6, 5, 12, 0, tzinfo=UTC))
    assert read_status(tmp_path / "data")[str(tmp_path.resolve())]["last_result"] == "ok"
    assert (folder / "production-20240605030000.json").is_file()

    entries = [json.loads(line) for line in (tmp_path / ".moai" / "audit" / "log.jsonl").read_text().splitlines()]
    backups = [(e["action"], e["result"]) for e in entries if e["action"] == "db backup"]
    assert backups == [("db backup", "ok")] * 3 + [("db backup", "failed"), ("db backup", "ok")]
    assert sum(e["action"] == "db backups prune" for e in entries) == 2


def test_failing_and_crashing_runs_do_not_stop_the_loop(tmp_path: Path) -> None:
    (tmp_path / "moai.toml").write_text(TOML)
    clock = Clock(datetime(2024, 6, 1, 2, 59, tzinfo=UTC))
    board, logs = StatusBoard(None), []
    # a URL where no database answers: each run fails, the next slot comes anyway
    s = _schedule(tmp_path, clock, {"PATH": "/usr/bin:/bin", "PROD_DB_URL": "postgresql://nobody@127.0.0.1:1/x"},
                  board, logs)
    _run_until(s, clock, datetime(2024, 6, 2, 3, 30, tzinfo=UTC))
    assert sum("failed: Cannot connect to the database of environment 'production'" in line for line in logs) == 2
    assert board.projects[str(tmp_path.resolve())]["next_run"] == "2024-06-03T03:00:00+00:00"

    # the status file cannot be written (its folder is a file): the run raises, the loop logs it and goes on
    (tmp_path / "not-a-folder").write_text("")
    board.path = tmp_path / "not-a-folder" / "status.json"
    stop = threading.Event()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now() > datetime(2024, 6, 4, 4, 0, tzinfo=UTC):
            stop.set()

    s.sleep = sleep
    s.loop(stop)
    crashes = [line for line in logs if line.startswith(f"backup schedule of {tmp_path.resolve()}:")]
    assert len(crashes) == 2 and "not-a-folder" in crashes[0]  # June 3 and June 4, each retried


def test_projects_without_a_usable_schedule_are_refused_before_serving(tmp_path: Path) -> None:
    (tmp_path / "moai.toml").write_text(TOML.replace('schedule = "0 3 * * *"\n', ""))
    with pytest.raises(ConfigError, match="has no backup schedule") as exc:
        start([tmp_path], {}, status_file=None, log=print)
    assert exc.value.hint and 'schedule = "0 3 * * *"' in exc.value.hint
    (tmp_path / "moai.toml").write_text(TOML + 'schedule_environments = ["prod"]\n')
    with pytest.raises(ConfigError, match="schedule_environments names 'prod'"):
        start([tmp_path], {}, status_file=None, log=print)
    (tmp_path / "moai.toml").write_text(TOML.replace("0 3 * * *", "0 3 * * mon-sunday"))
    with pytest.raises(ConfigError, match=r"in the day-of-week field, 'sunday' is not a number"):
        load_config(tmp_path / "moai.toml")
