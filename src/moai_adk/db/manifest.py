"""The manifest of a backup: what was dumped, from where, and what a restore must give back.

A backup is two objects side by side in its storage (a folder or an S3 prefix)::

    <id>.dump        pg_dump custom format (<id>.dump.age when encrypted to the environment's recipients)
    <id>.json        this manifest, written last: a backup without one is incomplete and ignored

``sha256``/``size`` are those of the stored object (checked before anything is restored);
``dump_sha256``/``dump_size`` those of the plain dump (checked again after decryption).
``tables`` holds the exact ``count(*)`` of every user table, taken in the snapshot pg_dump
dumped (``pg_export_snapshot()`` in a REPEATABLE READ transaction, ``pg_dump --snapshot``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ..errors import BackupError
from .connect import Target, connect, translate

FORMAT = "moai-adk-backup/1"
CHUNK = 1 << 20

# user tables (plain and partitions), without those an extension owns (the extension recreates them)
USER_TABLES = """
select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
  and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid
                  and d.deptype = 'e')
order by 1, 2
"""
HISTORY = "supabase_migrations.schema_migrations"

@dataclass
class Manifest:
    id: str
    environment: str | None
    database: str
    created_at: str                      # ISO 8601, UTC
    server_version: str
    pg_dump_version: str
    file: str                            # the stored dump's name beside this manifest
    size: int
    sha256: str
    dump_size: int
    dump_sha256: str
    entries: int                         # TOC entries (pg_restore --list)
    tables: dict[str, int] = field(default_factory=dict)
    migration_version: str | None = None
    encrypted: bool = False
    recipients: list[str] = field(default_factory=list)
    format: str = FORMAT

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at).astimezone(UTC)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def dumps(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8")

    @classmethod
    def loads(cls, data: bytes, where: str) -> Manifest:
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BackupError(f"The backup manifest {where} is not JSON ({exc}).",
                              hint="Restore it from another copy, or delete the backup.") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupError(f"{where} is not a moai-adk backup manifest (format {FORMAT!r}).",
                              hint="Pass a backup written by `moai-adk db backup`.")
        try:
            manifest = cls(**raw)
            manifest.created  # noqa: B018 - validates the timestamp
        except (TypeError, ValueError) as exc:
            raise BackupError(f"The backup manifest {where} is damaged ({exc}).",
                              hint="Restore it from another copy, or delete the backup.") from None
        bad = [k for k, v in manifest.tables.items() if not isinstance(v, int) or v < 0]
        if bad:
            raise BackupError(f"The backup manifest {where} has an invalid row count for table {bad[0]}.",
                              hint="Restore it from another copy, or delete the backup.")
        return manifest


def manifest_name(dump_name: str) -> str:
    """``prod-20240601.dump[.age]`` -> ``prod-20240601.json``."""
    for suffix in (".dump.age", ".dump"):
        if dump_name.endswith(suffix):
            return dump_name[: -len(suffix)] + ".json"
    return dump_name + ".json"


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def check_file(path: Path, sha256: str, size: int, what: str) -> None:
    """Refuse a file whose size or SHA-256 differs from the manifest's."""
    digest, actual = file_digest(path)
    if actual != size:
        raise BackupError(
            f"{what} is {actual:,} bytes but its manifest says {size:,}: the file is truncated or was changed; "
            "nothing was restored.", hint="Use another backup (`moai-adk db backups list`), or fetch this one again.")
    if digest != sha256:
        raise BackupError(
            f"{what} does not match the SHA-256 in its manifest (got {digest[:16]}..., expected {sha256[:16]}...); "
            "nothing was restored.", hint="Use another backup (`moai-adk db backups list`), or fetch this one again.")


Conn = psycopg.Connection[tuple[Any, ...]]


def count_rows(conn: Conn) -> dict[str, int]:
    """Exact ``count(*)`` of every user table, as ``schema.table -> rows``."""
    out: dict[str, int] = {}
    for schema, table in conn.execute(USER_TABLES).fetchall():
        row = conn.execute(sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema),
                                                                         sql.Identifier(table))).fetchone()
        out[f"{schema}.{table}"] = int(row[0]) if row else 0
    return out


def migration_version(conn: Conn) -> str | None:
    found = conn.execute("select to_regclass(%s) is not null", (HISTORY,)).fetchone()
    if not found or not found[0]:
        return None
    row = conn.execute(f"select max(version) from {HISTORY}").fetchone()
    return str(row[0]) if row and row[0] is not None else None


@contextmanager
def exported_snapshot(target: Target) -> Iterator[tuple[Conn, str]]:
    """A REPEATABLE READ transaction and the id of its exported snapshot (for ``pg_dump --snapshot``)."""
    conn = connect(target)
    try:
        conn.execute("begin isolation level repeatable read read only")
        row = conn.execute("select pg_export_snapshot()").fetchone()
        assert row is not None
        yield conn, str(row[0])
    except psycopg.Error as exc:
        raise translate(exc, target, "reading the backup's row counts") from exc
    finally:
        try:
            conn.execute("rollback")
        except psycopg.Error:
            pass
        conn.close()


def compare_rows(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """One sentence per table whose rows differ (or that is missing on one side)."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            problems.append(f"table {name} is not in the manifest ({got} rows restored)")
        elif got is None:
            problems.append(f"table {name} is missing after the restore (manifest: {want} rows)")
        elif want != got:
            problems.append(f"table {name} has {got} rows, the manifest says {want}")
    return problems
