"""``db restore BACKUP --to ENV``: restore beside the live database, check it, then swap names.

Order of work: resolve the backup -> production without ``yes``: refuse -> checksum (size and
SHA-256, then the decrypted dump's): a bad file stops here, nothing touched (a file that matches
was read by ``pg_restore --list`` when the backup was taken) -> (``dry_run`` stops here) ->
production: take a backup of it first -> restore into
``<live>_restore_<time>`` on the target's server -> row counts against the manifest (a mismatch
drops the new database and stops) -> swap: ``<live>`` becomes ``<live>_before_<time>`` and the new
database takes the live name, in one transaction, other sessions terminated. The old database is
kept; the result says how to swap back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .. import audit
from ..errors import BackupError, UsageError
from .backup import find_tool
from .backups import BackupRequest, BackupResult, create_backup, opened, resolve, server_info
from .connect import Target
from .databases import create_database, derived_name, drop_database, restore_and_count, swap
from .files import timestamp
from .manifest import Manifest, compare_rows
from .storage import Storage

PROTECTED = ("production",)


@dataclass
class RestoreToResult:
    manifest: Manifest
    environment: str
    live: str
    new: str
    old: str
    dry_run: bool
    pre_backup: str | None = None
    tables: dict[str, int] = field(default_factory=dict)
    sessions_ended: int = 0

    def swap_back(self) -> str:
        return (f'ALTER DATABASE "{self.live}" RENAME TO "{self.new}"; '
                f'ALTER DATABASE "{self.old}" RENAME TO "{self.live}";')

    def to_json(self) -> dict[str, object]:
        return {"id": self.manifest.id, "environment": self.environment, "database": self.live,
                "restored_into": self.new, "previous_database": self.old, "dry_run": self.dry_run,
                "pre_restore_backup": self.pre_backup, "tables": self.tables, "sessions_ended": self.sessions_ended,
                "swap_back_sql": self.swap_back()}

    def summary(self) -> str:
        m = self.manifest
        if self.dry_run:
            first = f"take a backup of {self.environment}, " if self.environment in PROTECTED else ""
            return (f"Checksum of backup {m.id} is good ({m.entries} entries). Would {first}restore it into "
                    f"{self.new}, check {len(m.tables)} table(s) against the manifest, then rename {self.live} to "
                    f"{self.old} and {self.new} to {self.live}.")
        pre = f" A backup taken first: {self.pre_backup}." if self.pre_backup else ""
        return (f"Restored backup {m.id} into {self.environment}: {len(self.tables)} table(s), "
                f"{sum(self.tables.values()):,} rows match the manifest; {self.live} now holds the restore, the "
                f"previous database is kept as {self.old}.{pre} To swap back, connect to the server's postgres "
                f"database and run: {self.swap_back()}")


def restore_to(storage: Storage, ref: str | Path | None, target: Target, req: BackupRequest, *, now: datetime,
               yes: bool = False, dry_run: bool = False,
               on_step: Callable[[str], None] = lambda _s: None) -> RestoreToResult:
    """Restore backup ``ref`` into the database of ``target`` (an environment), keeping the old one."""
    env = target.environment or "db"
    configured = storage
    storage, manifest = resolve(storage, ref, None)
    if env in PROTECTED and not yes and not dry_run:
        raise UsageError(
            f"Restoring into {env} replaces its database: pass --yes to confirm (a backup of {env} is taken first, "
            "and the current database is kept under another name).",
            hint=f"moai-adk db restore {manifest.id} --to {env} --yes   (see the plan first with --dry-run)")
    major, _version, live = server_info(target)
    stamp = timestamp(now)
    result = RestoreToResult(manifest, env, live, derived_name(live, f"_restore_{stamp}"),
                             derived_name(live, f"_before_{stamp}"), dry_run)
    with opened(storage, manifest, project=req.project, environ=req.environ) as dump:
        # the checksum matched the manifest: this is the file `pg_restore --list` read when the backup was taken
        find_tool("pg_restore", major, req.environ, req.tools_root)
        if dry_run:
            return result
        if env in PROTECTED:
            on_step(f"Backing up {env} before the restore...")
            pre: BackupResult = create_backup(target, req, configured, now=now)
            result.pre_backup = pre.id
        on_step(f"Restoring {manifest.id} into {result.new}...")
        into = create_database(target, result.new)
        try:
            result.tables = restore_and_count(dump, into, req.environ, entries=manifest.entries)
            problems = compare_rows(manifest.tables, result.tables)
            if problems:
                raise BackupError(
                    f"Backup {manifest.id} restored to other row counts than its manifest: {'; '.join(problems)}. "
                    f"The restore was dropped; {live} is unchanged.",
                    hint=f"Verify the backup (`moai-adk db backups verify {manifest.id} --env {env}`), or use "
                         "another one.")
            on_step(f"Swapping {result.new} in for {live}...")
            result.sessions_ended = swap(target, live, result.new, result.old)
        except BaseException:
            drop_database(target, result.new)
            raise
    audit.record(req.root, "db restore", environment=target.environment, target=target.label,
                 details={"id": manifest.id, "database": live, "previous_database": result.old,
                          "pre_restore_backup": result.pre_backup, "rows": sum(result.tables.values())},
                 environ=req.environ)
    return result

