"""``db backup --schedule CRON --env ENV``: write the schedule into moai.toml's ``[db.backups]``.

The file is edited with tomlkit, so the user's comments and layout stay; the new text is validated
as a whole before it replaces the old one (atomically), so a bad value never lands in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import tomlkit
from tomlkit.items import Table

from ..config import Config, parse_config
from ..config.cron import CronError, parse
from ..errors import UsageError
from ..fsutil import atomic_write


@dataclass
class ScheduleResult:
    path: Path
    schedule: str
    environments: list[str]
    next_run: str
    dry_run: bool
    changed: bool

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "schedule": self.schedule, "environments": self.environments,
                "next_run": self.next_run, "dry_run": self.dry_run, "changed": self.changed}

    def summary(self) -> str:
        verb = "Would set" if self.dry_run else "Set" if self.changed else "Already set:"
        return (f"{verb} [db.backups] schedule = {self.schedule!r} for {', '.join(self.environments)} in "
                f"{self.path}; next run {self.next_run} UTC. It runs while `moai-adk platform serve "
                f"--backups-for {self.path.parent}` runs (docs/backups.md#schedules).")


def set_schedule(cfg: Config, expr: str, env: str, *, now: datetime, dry_run: bool = False) -> ScheduleResult:
    """Set ``schedule`` to ``expr`` and add ``env`` to ``schedule_environments``."""
    assert cfg.path is not None
    try:
        cron = parse(expr)
    except CronError as exc:
        raise UsageError(f"--schedule: {exc}", hint='Quote the expression: --schedule "0 3 * * *"') from None
    environment = cfg.environment(env)
    if not environment.db_url_env:
        raise UsageError(f"--env {env}: environment '{env}' has no db_url_env in {cfg.path}, so a scheduled "
                         "backup could not find its database.",
                         hint=f'Add `db_url_env = "{env.upper()}_DB_URL"` under [environments.{env}] first.')
    text = cfg.path.read_text(encoding="utf-8")
    doc = tomlkit.parse(text)
    db = doc.get("db")
    if db is None:
        db = tomlkit.table(is_super_table=True)
        doc.add("db", db)
    backups = db.get("backups")
    if backups is None:
        backups = tomlkit.table()
        db.add("backups", backups)
    assert isinstance(backups, Table)
    envs = [str(e) for e in backups.get("schedule_environments", [])] if "schedule_environments" in backups else []
    if env not in envs:
        envs.append(env)
    backups["schedule"] = expr
    backups["schedule_environments"] = envs
    new_text = tomlkit.dumps(doc)
    parse_config(new_text, cfg.path)  # the whole file still valid, before anything is written
    changed = new_text != text
    if changed and not dry_run:
        atomic_write(cfg.path, new_text)
    next_run = cron.next_after(now).strftime("%Y-%m-%d %H:%M")
    return ScheduleResult(cfg.path, expr, envs, next_run, dry_run, changed)
