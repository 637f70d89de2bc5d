"""``db push`` and ``db migration list``: compare local files with the history, apply what is pending.

Order of work in ``push``: read the local folder (refuse misnamed ``.sql``
files and duplicate versions) -> connect -> take the advisory lock -> read
the history (so a second concurrent run sees what the first applied) ->
find pending files (distinct errors for "remote has versions missing
locally" and "local file out of order") -> split and check every pending
file before running any -> apply (the history table is created inside the
first file's transaction, so a failed first file leaves no trace).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from .. import audit
from ..config import BackupSettings
from ..errors import MigrationError
from .apply import Applier, Prepared, prepare
from .connect import Target, connect, session_target, translate
from .files import MIGRATIONS_DIR, LocalMigrations, MigrationFile, scan
from .history import Conn, list_versions, locked
from .plan import find_pending

Connector = Callable[[Target], Conn]
Events = Callable[[str, dict[str, object]], None]


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@dataclass
class PushResult:
    pending: list[MigrationFile]
    applied: list[MigrationFile] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    modes: dict[str, str] = field(default_factory=dict)   # version -> batch | steps | autocommit
    findings: list[dict[str, Any]] = field(default_factory=list)  # db lint of the pending files
    backup: str | None = None  # the verified backup taken before applying to production

    def to_json(self, root: Path) -> dict[str, object]:
        def item(f: MigrationFile) -> dict[str, str]:
            return {"version": f.version, "name": f.name, "file": _display(f.path, root),
                    "mode": self.modes.get(f.version, "")}
        return {"dry_run": self.dry_run, "pending": [item(f) for f in self.pending],
                "applied": [item(f) for f in self.applied], "warnings": self.warnings,
                "lint": self.findings, "backup": self.backup}


def _noop(_event: str, _data: dict[str, object]) -> None:
    return None


def _audit(root: Path, target: Target, result: PushResult, outcome: str) -> None:
    """The audit entry of a push (here, so a library caller's push is recorded too)."""
    audit.record(root, "migration push", environment=target.environment, target=target.label, result=outcome,
                 details={"applied": [f.version for f in result.applied]})


PROTECTED = "production"


def _lint_gate(root: Path, pending: list[MigrationFile], result: PushResult, target: Target,
               allow_destructive: bool, dry_run: bool) -> None:
    """``db lint`` of the pending files: findings go into the result; destructive ones stop a push to
    production unless allowed (a dry run reports what the real run would refuse)."""
    from .lint import lint_files

    try:
        report = lint_files([f.path for f in pending], display_root=root)
    except MigrationError as exc:  # e.g. psql meta-commands: the apply step has its own checks
        result.warnings.append(f"Not linted: {exc.message}")
        return
    result.findings = [f.to_json() for f in report.findings]
    for f in report.findings:
        if f.kind != "destructive":
            result.warnings.append(f"lint: {f.render()}")
    destructive = report.destructive
    if not destructive or target.environment != PROTECTED or allow_destructive:
        result.warnings += [f"lint: {f.render()}" for f in destructive]
        return
    listed = "; ".join(f"{f.file}:{f.line} {f.rule}" for f in destructive)
    if dry_run:
        result.warnings.append(f"The real push would refuse {len(destructive)} destructive statement(s) in "
                               f"production without --allow-destructive: {listed}.")
        return
    raise MigrationError(
        f"{len(destructive)} pending statement(s) would destroy data in production, so nothing was applied: "
        f"{listed}.",
        hint="Review them (`moai-adk db lint` explains each and the safer pattern); push with --allow-destructive "
             "once they are intended (a verified backup is taken first), or mark a reviewed statement with "
             "`-- moai-lint: ignore <rule>`.")


def push(root: Path, target: Target, *, dry_run: bool = False, include_all: bool = False,
         connector: Connector = connect, events: Events = _noop, chunk_files: int = 64,
         async_commit: bool = True, allow_destructive: bool = False,
         environ: Mapping[str, str] | None = None, backup_first: bool | None = None,
         backup_settings: BackupSettings | None = None, project: str | None = None) -> PushResult:
    """Apply the pending migrations of ``root/supabase/migrations`` to ``target``.

    The pending files are linted first (``db.lint``); in production, destructive findings stop the push
    unless ``allow_destructive``, and a verified backup (``db.backup``) is taken before anything is
    applied (``backup_first``: None means "in production only"; ``environ`` reaches pg_dump; the backup goes
    where ``backup_settings`` ([db.backups]) says, named after ``project``)."""
    local = scan(root / MIGRATIONS_DIR, root)
    local.refuse_bad_names(root)
    named = target
    target, notices = session_target(target)
    result = PushResult(pending=[], dry_run=dry_run, warnings=notices + local.warnings())
    retry = f"moai-adk db push {target.flag}" + (" --include-all" if include_all else "")
    waiting = lambda: events("waiting", {"reason": "another migration run holds the lock"})  # noqa: E731
    with locked(connector(target), enabled=not dry_run, on_wait=waiting) as conn:
        try:
            remote = list_versions(conn)
        except psycopg.Error as exc:
            raise translate(exc, target, "reading the migration history") from exc
        pending = find_pending(local.files, remote, include_all=include_all, target_flag=target.flag,
                               where=f"the database of {target.label}").files
        result.pending = pending
        # every pending file is split and checked before anything runs (in a dry run too)
        prepared = [prepare(conn, f, _display(f.path, root)) for f in pending]
        result.modes = {p.file.version: p.plan.mode.value for p in prepared}
        if pending:
            _lint_gate(root, pending, result, named, allow_destructive, dry_run)
        if dry_run:
            return result
        if not pending:
            _audit(root, named, result, "ok")
            return result
        if backup_first if backup_first is not None else named.environment == PROTECTED:
            from .backups import backup_before_change

            events("backing-up", {"environment": named.environment})
            taken = backup_before_change(root, target, environ or {}, settings=backup_settings or BackupSettings(),
                                         project=project or root.name, now=datetime.now(UTC))  # the session port
            result.backup = f"{taken.where}/{taken.file}"

        def applied(p: Prepared) -> None:
            result.applied.append(p.file)
            events("applied", {"version": p.file.version, "file": p.display})

        events("applying", {"count": len(prepared)})
        try:
            Applier(conn, target, retry, applied, chunk_files=chunk_files, async_commit=async_commit).apply(prepared)
        except BaseException:
            _audit(root, named, result, "failed")
            raise
        _audit(root, named, result, "ok")
        return result


@dataclass
class ListRow:
    version: str
    name: str
    local: bool
    remote: bool


@dataclass
class ListResult:
    rows: list[ListRow]
    warnings: list[str]
    remote_checked: bool

    def to_json(self) -> dict[str, object]:
        return {
            "migrations": [{"version": r.version, "name": r.name, "local": r.local, "remote": r.remote}
                           for r in self.rows],
            "local": [r.version for r in self.rows if r.local],
            "remote": [r.version for r in self.rows if r.remote] if self.remote_checked else None,
            "warnings": self.warnings,
        }


def list_migrations(root: Path, target: Target | None, *, connector: Connector = connect) -> ListResult:
    """Local versions beside the remote history (read-only; no lock, no table creation)."""
    local: LocalMigrations = scan(root / MIGRATIONS_DIR, root)
    remote: list[str] = []
    if target is not None:
        conn = connector(target)
        try:
            remote = list_versions(conn)
        except psycopg.Error as exc:
            raise translate(exc, target, "reading the migration history") from exc
        finally:
            conn.close()
    names = {f.version: f.name for f in local.files}
    versions = sorted(set(names) | set(remote))
    remote_set = set(remote)
    rows = [ListRow(v, names.get(v, ""), v in names, v in remote_set) for v in versions]
    return ListResult(rows, local.warnings(), target is not None)
