"""Scheduled backups, run by ``moai-adk platform serve --backups-for DIR``.

One thread per project: at each slot of ``[db.backups] schedule`` (cron, UTC) it backs up each
of ``schedule_environments`` with ``create_backup`` (which writes the audit entry), then prunes
that environment's backups with the project's retention. One run at a time per project: a run
that overlaps later slots makes them be skipped, and the next slot is computed after the run
ends. A failed run is logged, recorded in the audit log as failed and retried at the next slot;
nothing here raises into the server. Missed slots (the server was down) are not caught up.

The clock is injected (``now()`` and ``sleep(seconds)``), so tests run a schedule without waiting.
The state of every project (next run, last result) goes to a JSON file (0600) that
``moai-adk platform status`` shows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import audit
from ..config import Config, find_config, load_config
from ..config.cron import Cron, parse
from ..errors import ConfigError, MoaiError
from .backups import BackupRequest, create_backup
from .connect import resolve_target
from .retention import prune
from .schedule_state import StatusBoard
from .storage import open_storage

MAX_SLEEP = 60.0  # re-check the clock at least every minute (suspend, clock changes)

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_project(folder: Path) -> tuple[Config, Cron]:
    """The project of ``folder`` and its schedule; ConfigError naming the folder and the fix."""
    path = find_config(folder)
    if path is None:
        raise ConfigError(f"--backups-for {folder}: there is no moai.toml in that folder or its parents.",
                          hint="Pass the folder of a moai-adk project (where moai.toml is).")
    cfg = load_config(path)
    settings = cfg.backups
    if not settings.schedule:
        raise ConfigError(f"--backups-for {folder}: {path} has no backup schedule.",
                          hint=f'Add `schedule = "0 3 * * *"` under [db.backups] in {path}, or run '
                               "`moai-adk db backup --schedule \"0 3 * * *\" --env production` there.")
    for env in settings.schedule_environments:
        if env not in cfg.environments:
            raise ConfigError(f"--backups-for {folder}: [db.backups] schedule_environments names '{env}', which "
                              f"{path} does not declare.",
                              hint=f"Declare [environments.{env}] with db_url_env, or remove it from "
                                   "schedule_environments.")
        if not cfg.environments[env].db_url_env:
            raise ConfigError(f"--backups-for {folder}: environment '{env}' has no db_url_env in {path}.",
                              hint=f'Add `db_url_env = "{env.upper()}_DB_URL"` under [environments.{env}] and '
                                   "export that variable where the platform runs.")
    return cfg, parse(settings.schedule)


@dataclass
class ProjectSchedule:
    root: Path
    config: Config
    cron: Cron
    environ: Mapping[str, str]
    board: StatusBoard
    now: Clock = utc_now
    sleep: Sleep = time.sleep
    log: Callable[[str], None] = lambda _msg: None
    next_run: datetime | None = None

    def __post_init__(self) -> None:
        self.next_run = self.cron.next_after(self.now())
        self.board.update(self.root, project=self.config.name, schedule=self.cron.text,
                          environments=list(self.config.backups.schedule_environments),
                          next_run=self.next_run.isoformat())

    def run_once(self) -> bool:
        """Back up and prune every scheduled environment; True when all succeeded. Never raises."""
        started = self.now()
        self.board.update(self.root, running=True, last_started=started.isoformat())
        results: list[dict[str, Any]] = []
        for env in self.config.backups.schedule_environments:
            results.append(self._one(env))
        ok = all(r["ok"] for r in results)
        self.board.update(self.root, running=False, last_finished=self.now().isoformat(),
                          last_result="ok" if ok else "failed", last_runs=results)
        return ok

    def _one(self, env: str) -> dict[str, Any]:
        settings = self.config.backups
        try:
            target = resolve_target(self.config, env, None, self.environ)
            assert target is not None
            storage = open_storage(self.root, settings, self.environ)
            req = BackupRequest(root=self.root, settings=settings, project=self.config.name, environ=self.environ)
            result = create_backup(target, req, storage, now=self.now())
            pruned = prune(storage, settings, root=self.root, environment=env)
        except Exception as exc:  # noqa: BLE001 - a scheduled run must never take the server down
            message = exc.message if isinstance(exc, MoaiError) else f"{type(exc).__name__}: {exc}"
            self.log(f"scheduled backup of {self.config.name} ({env}) failed: {message}")
            try:
                audit.record(self.root, "db backup", environment=env, result="failed",
                             details={"schedule": self.cron.text, "error": message[:500]}, environ=self.environ)
            except Exception as audit_exc:  # noqa: BLE001
                self.log(f"could not write the audit entry in {self.root}: {audit_exc}")
            return {"environment": env, "ok": False, "error": message}
        self.log(f"scheduled backup of {self.config.name} ({env}): {result.id}, pruned {len(pruned.deleted)}")
        return {"environment": env, "ok": True, "backup": result.id, "pruned": [m.id for m in pruned.deleted]}

    def step(self) -> None:
        """Run when the slot has come, else sleep towards it (at most MAX_SLEEP)."""
        assert self.next_run is not None
        now = self.now()
        if now < self.next_run:
            self.sleep(min(MAX_SLEEP, max((self.next_run - now).total_seconds(), 0.05)))
            return
        try:
            self.run_once()
        finally:  # even when the run raised: the next try is the next slot, not the next minute
            self.next_run = self.cron.next_after(self.now())
        self.board.update(self.root, next_run=self.next_run.isoformat())

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - keep the thread (and the server) alive
                self.log(f"backup schedule of {self.root}: {exc}")
                self.sleep(MAX_SLEEP)


def start(folders: list[Path], environ: Mapping[str, str], *, status_file: Path | None,
          log: Callable[[str], None]) -> tuple[list[ProjectSchedule], threading.Event]:
    """Load every project (errors before anything starts), then one daemon thread per project."""
    board = StatusBoard(status_file)
    loaded = [(folder, *load_project(folder)) for folder in folders]
    schedules = [ProjectSchedule(cfg.root, cfg, cron, environ, board, log=log) for _folder, cfg, cron in loaded]
    stop = threading.Event()
    for s in schedules:
        threading.Thread(target=s.loop, args=(stop,), name=f"moai-backups-{s.config.name}", daemon=True).start()
    return schedules, stop
