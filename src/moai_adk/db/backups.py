"""``db backup``: a consistent dump, its manifest, optional encryption, into the configured storage.

Order of work: find pg_dump and pg_restore of the server's major version -> open a REPEATABLE
READ transaction and export its snapshot -> start ``pg_dump --snapshot`` and, while it runs,
count every user table's rows in that same snapshot -> verify the dump (``pg_restore --list``)
-> hash it -> encrypt it to the environment's age recipients (optional) -> store the dump, then
the manifest (a backup without a manifest is incomplete and never listed) -> audit entry.
Reading a backup back (``opened``) checks size and SHA-256 before anything else.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .. import audit
from ..config import BackupSettings
from ..errors import BackupError, DatabaseError
from . import crypt
from .backup import DEBIAN_BIN, RUN_HINT, RestoreResult, _conn_env, find_tool, restore, verify_dump
from .connect import Target, connect, scrub
from .files import timestamp
from .manifest import (
    Manifest,
    check_file,
    count_rows,
    exported_snapshot,
    file_digest,
    manifest_name,
    migration_version,
)
from .storage import LocalStorage, Storage


def tool_version(path: str) -> str:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    return out or path


def server_info(target: Target) -> tuple[int, str, str]:
    """(major, full version, database name) of the target's server."""
    conn = connect(target)
    try:
        version = conn.info.parameter_status("server_version") or str(conn.info.server_version)
        return conn.info.server_version // 10000, version.split()[0], conn.info.dbname
    finally:
        conn.close()


@dataclass
class BackupResult:
    id: str
    where: str
    file: str
    command: list[str]
    dry_run: bool
    encrypted: bool
    manifest: Manifest | None = None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "where": self.where, "file": self.file, "command": self.command,
                "dry_run": self.dry_run, "encrypted": self.encrypted,
                "manifest": self.manifest.to_json() if self.manifest else None}

    def summary(self) -> str:
        if self.dry_run or self.manifest is None:
            lock = " and encrypt it to the environment's age recipients" if self.encrypted else ""
            return f"Would run: {' '.join(self.command)}{lock}, and store {self.file} in {self.where}."
        m = self.manifest
        return (f"Backup {m.id} stored in {self.where}: {m.size:,} bytes, {len(m.tables)} table(s), {m.rows:,} rows"
                f"{', encrypted' if m.encrypted else ''}; verified, SHA-256 {m.sha256[:16]}...")


@dataclass
class BackupRequest:
    """What ``create_backup`` needs beside the target (filled by the CLI from moai.toml and flags)."""

    root: Path
    settings: BackupSettings = field(default_factory=BackupSettings)
    project: str = "project"
    environ: Mapping[str, str] = field(default_factory=dict)
    encrypt: bool | None = None          # None: [db.backups] encrypt
    out: Path | None = None              # a file instead of the configured storage
    tools_root: Path = DEBIAN_BIN


def create_backup(target: Target, req: BackupRequest, storage: Storage, *, now: datetime,
                  dry_run: bool = False) -> BackupResult:
    encrypt = req.settings.encrypt if req.encrypt is None else req.encrypt
    major, version, dbname = server_info(target)
    pg_dump = find_tool("pg_dump", major, req.environ, req.tools_root, server_version=version)
    pg_restore = find_tool("pg_restore", major, req.environ, req.tools_root, server_version=version)
    public_keys = crypt.recipients(req.root, req.project, target.environment, req.environ) if encrypt else []
    backup_id = f"{target.environment or 'db'}-{timestamp(now)}"
    name = f"{backup_id}.dump" + (".age" if encrypt else "")
    if req.out is not None:  # a file of the user's choice; its manifest goes beside it
        storage, name = LocalStorage(req.out.parent), req.out.name
        backup_id = manifest_name(name).removesuffix(".json")
    conninfo, env = _conn_env(target, req.environ)
    shown = [pg_dump, "--format=custom", "--snapshot=<exported>", f"--file={name}",
             f"--dbname={scrub(conninfo, target.url)}"]
    if dry_run:
        return BackupResult(backup_id, storage.where, name, shown, True, encrypt)
    with ExitStack() as stack:
        work = storage.workdir() or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="moai-backup-")))
        plain = work / f".{backup_id}.dump.partial"
        sealed = work / f".{name}.partial"
        stack.callback(plain.unlink, missing_ok=True)
        stack.callback(sealed.unlink, missing_ok=True)
        tables, migration = _dump(target, pg_dump, conninfo, env, plain)
        entries = verify_dump(pg_restore, plain)
        dump_sha, dump_size = file_digest(plain)
        stored = plain
        if encrypt:
            crypt.encrypt_file(plain, sealed, public_keys, f".moai/secrets/{target.environment}.recipients")
            plain.unlink()
            stored = sealed
        sha, size = (dump_sha, dump_size) if stored is plain else file_digest(stored)
        manifest = Manifest(
            id=backup_id, environment=target.environment, database=dbname, created_at=now.isoformat(),
            server_version=version, pg_dump_version=tool_version(pg_dump), file=name, size=size, sha256=sha,
            dump_size=dump_size, dump_sha256=dump_sha, entries=entries, tables=tables,
            migration_version=migration, encrypted=encrypt, recipients=public_keys)
        storage.put_file(stored, name)
        storage.put_bytes(manifest_name(name), manifest.dumps())
    audit.record(req.root, "db backup", environment=target.environment, target=target.label,
                 details={"id": backup_id, "where": storage.where, "bytes": manifest.size, "sha256": manifest.sha256,
                          "encrypted": encrypt, "rows": manifest.rows}, environ=req.environ)
    return BackupResult(backup_id, storage.where, name, shown, False, encrypt, manifest)


def _dump(target: Target, pg_dump: str, conninfo: str, env: dict[str, str],
          out: Path) -> tuple[dict[str, int], str | None]:
    """pg_dump in an exported snapshot; the row counts are taken in that snapshot while it runs."""
    with exported_snapshot(target) as (conn, snapshot):
        cmd = [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={out}",
               f"--dbname={conninfo}"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            tables = count_rows(conn)
            migration = migration_version(conn)
        finally:
            _, stderr = proc.communicate()
    if proc.returncode != 0:
        err = scrub(stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}", target.url)
        raise DatabaseError(f"pg_dump failed for {target.label}: {err}", hint=RUN_HINT)
    return tables, migration


# -- reading backups back -------------------------------------------------------------------------

def list_backups(storage: Storage, environment: str | None = None) -> tuple[list[Manifest], list[str]]:
    """Complete backups (newest first), and a warning per manifest that cannot be read."""
    found: list[Manifest] = []
    warnings: list[str] = []
    for name in storage.names():
        if not name.endswith(".json"):
            continue
        try:
            m = Manifest.loads(storage.get_bytes(name), f"{storage.where}/{name}")
        except BackupError as exc:
            warnings.append(exc.message)
            continue
        if environment is None or m.environment == environment:
            found.append(m)
    found.sort(key=lambda m: (m.created, m.id), reverse=True)
    return found, warnings


def resolve(storage: Storage, ref: str | Path | None, environment: str | None) -> tuple[Storage, Manifest]:
    """The backup ``ref`` names: a dump or manifest file, a backup id in ``storage``, or (None) the latest."""
    if isinstance(ref, Path):
        folder = LocalStorage(ref.parent)
        name = ref.name if ref.name.endswith(".json") else manifest_name(ref.name)
        if name not in folder.names():
            raise BackupError(f"{ref} has no manifest beside it ({ref.parent / name}).",
                              hint="Pass a backup written by `moai-adk db backup`, or its id from "
                                   "`moai-adk db backups list`.")
        return folder, Manifest.loads(folder.get_bytes(name), str(ref.parent / name))
    if ref is None:
        found, _ = list_backups(storage, environment)
        if not found:
            scope = f" of environment '{environment}'" if environment else ""
            raise BackupError(f"There is no backup{scope} in {storage.where}.",
                              hint=f"Take one: moai-adk db backup{' --env ' + environment if environment else ''}")
        return storage, found[0]
    backup_id = ref.removesuffix(".json").removesuffix(".age").removesuffix(".dump")
    return storage, Manifest.loads(storage.get_bytes(f"{backup_id}.json"), f"{storage.where}/{backup_id}.json")


@contextmanager
def opened(storage: Storage, manifest: Manifest, *, project: str, environ: Mapping[str, str]) -> Iterator[Path]:
    """The plain dump of a backup, after its size and SHA-256 (and the decrypted dump's) were checked."""
    with tempfile.TemporaryDirectory(prefix="moai-restore-") as tmp:
        stored = storage.fetch(manifest.file, Path(tmp))
        check_file(stored, manifest.sha256, manifest.size, f"Backup {manifest.id} ({storage.where}/{manifest.file})")
        if not manifest.encrypted:
            yield stored
            return
        plain = Path(tmp) / f"{manifest.id}.dump"
        crypt.decrypt_file(stored, plain, project=project, environment=manifest.environment, environ=environ,
                           public_keys=manifest.recipients)
        check_file(plain, manifest.dump_sha256, manifest.dump_size, f"The decrypted dump of backup {manifest.id}")
        yield plain


def restore_backup(storage: Storage, ref: str | Path, target: Target, *, root: Path, project: str,
                   environ: Mapping[str, str], clean: bool = False, dry_run: bool = False) -> RestoreResult:
    """``db restore BACKUP --env/--db-url``: into the database itself (checksum first when there is a manifest).

    A dump file with no manifest beside it (written by plain pg_dump) is restored as it is."""
    if isinstance(ref, Path):
        if not ref.is_file():
            raise BackupError(f"No backup file {ref}.", hint="List the backups: moai-adk db backups list")
        if not (ref.parent / manifest_name(ref.name)).is_file() and not ref.name.endswith(".json"):
            return restore(ref, target, clean=clean, environ=environ, dry_run=dry_run)
    storage, manifest = resolve(storage, ref, target.environment)
    with opened(storage, manifest, project=project, environ=environ) as dump:
        result = restore(dump, target, clean=clean, environ=environ, dry_run=dry_run, entries=manifest.entries)
    result.path = Path(f"{storage.where}/{manifest.file}")
    if not dry_run:
        audit.record(root, "db restore", environment=target.environment, target=target.label,
                     details={"id": manifest.id, "clean": clean, "rows": manifest.rows}, environ=environ)
    return result


def backup_before_change(root: Path, target: Target, environ: Mapping[str, str], *, settings: BackupSettings,
                         project: str, now: datetime) -> BackupResult:
    """The verified backup taken before something changes a protected database (``db push`` to
    production), into the project's configured backup storage."""
    from .storage import open_storage

    req = BackupRequest(root=root, settings=settings, project=project, environ=environ)
    return create_backup(target, req, open_storage(root, settings, environ), now=now)

