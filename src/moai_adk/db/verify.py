"""``db backups verify``: prove a backup restores to what its manifest says.

Checksum (size and SHA-256 of the stored object, then of the decrypted dump) -> restore into
``moai_verify_<random>`` on the target's server -> exact row count of every user table ->
compare with the manifest -> drop the scratch database (always). Any difference is a problem
naming the table; the CLI exits 1 on any.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .backups import opened, resolve
from .connect import Target
from .databases import restore_and_count, scratch_database
from .manifest import Manifest, compare_rows
from .storage import Storage


@dataclass
class VerifyResult:
    manifest: Manifest
    where: str
    database: str
    dry_run: bool = False
    tables: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {"id": self.manifest.id, "where": self.where, "scratch_database": self.database,
                "dry_run": self.dry_run, "ok": self.ok, "problems": self.problems,
                "tables": {name: {"manifest": self.manifest.tables.get(name), "restored": self.tables.get(name)}
                           for name in sorted(set(self.manifest.tables) | set(self.tables))}}

    def summary(self) -> str:
        m = self.manifest
        if self.dry_run:
            return (f"Checksum of backup {m.id} is good. Would restore it into {self.database} on the same server, "
                    f"compare {len(m.tables)} table(s) with the manifest, then drop {self.database}.")
        if self.ok:
            return (f"Backup {m.id} verified: checksum good, restored into a scratch database, {len(self.tables)} "
                    f"table(s) and {sum(self.tables.values()):,} rows match the manifest.")
        return f"Backup {m.id} FAILED verification: " + "; ".join(self.problems) + "."


def verify_backup(storage: Storage, ref: str | Path | None, target: Target, *, project: str,
                  environ: Mapping[str, str], dry_run: bool = False) -> VerifyResult:
    """Verify the backup ``ref`` (None: the latest of the target's environment) on the target's server."""
    storage, manifest = resolve(storage, ref, target.environment)
    name = f"moai_verify_{secrets.token_hex(6)}"
    result = VerifyResult(manifest, storage.where, name, dry_run)
    with opened(storage, manifest, project=project, environ=environ) as dump:
        if dry_run:
            return result
        with scratch_database(target, name) as scratch:
            result.tables = restore_and_count(dump, scratch, environ)
    result.problems = compare_rows(manifest.tables, result.tables)
    return result
