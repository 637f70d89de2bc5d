"""``db migration repair``: edit the history table without running any migration SQL.

As in the Supabase CLI: ``--status applied`` upserts a row per version with
the name and split statements of the local file ``<version>_*.sql``;
``--status reverted`` deletes the rows. The advisory lock is held so a
repair never interleaves with a push.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from .. import audit
from ..errors import MigrationError, UsageError
from .connect import Target, connect, session_target, translate
from .files import MIGRATIONS_DIR, scan
from .history import HistoryRow, create_table, delete, list_versions, locked, upsert
from .push import Connector

STATUSES = ("applied", "reverted")


@dataclass
class RepairResult:
    status: str
    versions: list[str]
    changed: list[str]      # versions whose row was written (applied) or existed and was removed (reverted)
    dry_run: bool
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "versions": self.versions, "changed": self.changed, "dry_run": self.dry_run,
                "warnings": self.warnings}


def repair(root: Path, target: Target, versions: list[str], status: str, *, dry_run: bool = False,
           connector: Connector = connect) -> RepairResult:
    if status not in STATUSES:
        raise UsageError(f"--status must be applied or reverted, not '{status}'.",
                         hint="moai-adk db migration repair <version> --status reverted --env <env>")
    if not versions:
        raise UsageError("Name at least one migration version to repair.",
                         hint="moai-adk db migration repair 20240101120000 --status reverted --env <env>")
    bad = [v for v in versions if not v.isdigit()]
    if bad:
        raise UsageError(f"Invalid migration version{'s' if len(bad) > 1 else ''}: {', '.join(bad)} "
                         "(a version is the digits before the first '_' of the file name).",
                         hint="Use `moai-adk db migration list` to see the versions.")
    versions = list(dict.fromkeys(versions))
    rows: list[HistoryRow] = []
    if status == "applied":
        local = scan(root / MIGRATIONS_DIR, root).by_version()
        missing = [v for v in versions if v not in local]
        if missing:
            raise MigrationError(
                f"No local migration file for version{'s' if len(missing) > 1 else ''} {', '.join(missing)} in "
                f"{MIGRATIONS_DIR}/ (looked for {missing[0]}_*.sql). Marking a version applied records the "
                "file's name and statements, so the file must exist.",
                hint="Restore the file, or check the version with `moai-adk db migration list`.",
            )
        for v in versions:
            mf = local[v]
            _text, split = mf.parsed(str(mf.path.relative_to(root)) if mf.path.is_relative_to(root) else None)
            rows.append(HistoryRow(v, mf.name, split.history_statements()))
    named = target
    target, notices = session_target(target)
    try:
        with locked(connector(target), enabled=not dry_run) as conn:
            remote = set(list_versions(conn))
            if dry_run:
                changed = [v for v in versions if status == "applied" or v in remote]
                return RepairResult(status, versions, changed, True, notices)
            create_table(conn)
            if status == "applied":
                upsert(conn, rows)
                changed = versions
            else:
                changed = [v for v in versions if v in remote]
                delete(conn, versions)
    except psycopg.Error as exc:
        raise translate(exc, target, "updating the migration history") from exc
    audit.record(root, "migration repair", environment=named.environment, target=named.label,
                 details={"status": status, "versions": list(versions)})
    return RepairResult(status, versions, changed, False, notices)
