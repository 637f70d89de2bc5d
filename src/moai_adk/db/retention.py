"""``db backups prune``: grandfather-father-son retention over the backups of each environment.

``keep_daily = N`` keeps the newest backup of each of the N most recent days that have a
backup (UTC); ``keep_weekly`` the same per ISO week, ``keep_monthly`` per month. Periods
without backups do not count, so a paused schedule never ages the last backups away; the
newest backup of an environment is always kept. Everything else is deleted (manifest first,
so a half-deleted backup is never listed as complete).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .. import audit
from ..config import BackupSettings
from .backups import list_backups
from .manifest import Manifest, manifest_name
from .storage import Storage

PERIODS: tuple[tuple[str, Callable[[datetime], str]], ...] = (
    ("daily", lambda t: t.strftime("%Y-%m-%d")),
    ("weekly", lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2])),
    ("monthly", lambda t: t.strftime("%Y-%m")),
)


def select(backups: list[Manifest], settings: BackupSettings) -> dict[str, list[str]]:
    """backup id -> why it is kept (empty list: delete), for the backups of ONE environment."""
    newest_first = sorted(backups, key=lambda m: (m.created, m.id), reverse=True)
    reasons: dict[str, list[str]] = {m.id: [] for m in newest_first}
    if newest_first:
        reasons[newest_first[0].id].append("latest")
    for period, key in PERIODS:
        limit = getattr(settings, f"keep_{period}")
        seen: set[str] = set()
        for m in newest_first:
            bucket = key(m.created)
            if bucket in seen:
                continue
            if len(seen) >= limit:
                break
            seen.add(bucket)
            reasons[m.id].append(f"{period} {bucket}")
    return reasons


@dataclass
class PruneResult:
    where: str
    dry_run: bool
    kept: list[tuple[Manifest, list[str]]] = field(default_factory=list)
    deleted: list[Manifest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"where": self.where, "dry_run": self.dry_run,
                "kept": [{"id": m.id, "environment": m.environment, "created_at": m.created_at, "reasons": r}
                         for m, r in self.kept],
                "deleted": [{"id": m.id, "environment": m.environment, "created_at": m.created_at}
                            for m in self.deleted], "warnings": self.warnings}


def prune(storage: Storage, settings: BackupSettings, *, root: Path, environment: str | None = None,
          dry_run: bool = False) -> PruneResult:
    found, warnings = list_backups(storage, environment)
    result = PruneResult(storage.where, dry_run, warnings=warnings)
    groups: dict[str | None, list[Manifest]] = {}
    for m in found:
        groups.setdefault(m.environment, []).append(m)
    for group in groups.values():
        reasons = select(group, settings)
        for m in group:
            if reasons[m.id]:
                result.kept.append((m, reasons[m.id]))
            else:
                result.deleted.append(m)
    if dry_run:
        return result
    for m in result.deleted:
        storage.delete(manifest_name(m.file))
        storage.delete(m.file)
    if result.deleted:
        audit.record(root, "db backups prune", environment=environment, target=storage.where,
                     details={"deleted": [m.id for m in result.deleted], "kept": [m.id for m, _ in result.kept]})
    return result
