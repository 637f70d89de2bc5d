"""Migration files: ``supabase/migrations/<version>_<name>.sql``.

The naming rule is the Supabase CLI's: ``^([0-9]+)_(.*)\\.sql$``; the version
is the digits before the first ``_`` and is compared as a string. ``migration
new`` uses the current UTC time ``YYYYMMDDHHMMSS`` as version. Like the
Supabase CLI, a first file ``<ts>_init.sql`` older than 20211209000000 is a
legacy placeholder and is skipped.

A ``.sql`` file that does not match the pattern is *bad*: listings warn about
it and skip it (as the Supabase CLI does), ``db push`` refuses to run while it
sits in the folder (it is almost always a migration someone forgot to name
properly, and skipping it silently would leave the database behind).
Other files (README.md, .gitkeep) and folders are ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MigrationError, UsageError
from ..fsutil import atomic_write

if TYPE_CHECKING:
    from .splitter import SplitResult

MIGRATIONS_DIR = Path("supabase") / "migrations"
FILE_PATTERN = re.compile(r"^([0-9]+)_(.*)\.sql$")
PATTERN_TEXT = "<YYYYMMDDHHMMSS>_<name>.sql"
_INIT_PATTERN = re.compile(r"^([0-9]{14})_init\.sql$")
_LEGACY_INIT_BEFORE = 20211209000000
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class MigrationFile:
    version: str
    name: str
    path: Path
    _split: SplitResult | None = field(default=None, repr=False)

    @property
    def filename(self) -> str:
        return self.path.name

    def read_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            raise MigrationError(f"{self.path} is not valid UTF-8 ({exc}).",
                                 hint="Save the migration file as UTF-8.") from exc
        except OSError as exc:
            raise MigrationError(f"Cannot read {self.path}: {exc.strerror}.",
                                 hint="Check the file's permissions.") from exc

    def parsed(self, display: str | None = None) -> tuple[str, SplitResult]:
        """The file's text and its statements (cached)."""
        text = self.read_text()
        if self._split is None:
            from .splitter import split  # its patterns take ~20 ms to compile: only commands reading SQL pay

            self._split = split(text, display or str(self.path))
        return text, self._split


@dataclass
class LocalMigrations:
    folder: Path
    files: list[MigrationFile]
    bad_names: list[Path]
    skipped_legacy: list[Path]

    @property
    def versions(self) -> list[str]:
        return [f.version for f in self.files]

    def warnings(self) -> list[str]:
        out = [f"Skipping migration {p.name}: the file name must match {PATTERN_TEXT} "
               f"(digits, an underscore, a name, .sql)." for p in self.bad_names]
        out += [f"Skipping migration {p.name}: a first migration named <timestamp>_init.sql before 2021-12-09 is "
                "a legacy placeholder (rename it to apply it)." for p in self.skipped_legacy]
        return out

    def refuse_bad_names(self, display_root: Path | None = None) -> None:
        """``db push`` refuses to run while a misnamed ``.sql`` file sits in the folder."""
        if not self.bad_names:
            return
        shown = [_display(p, display_root) for p in self.bad_names]
        first = self.bad_names[0]
        stem = re.sub(r"[^A-Za-z0-9_]+", "_", first.stem).strip("_") or "migration"
        raise MigrationError(
            f"Migration file name{'s' if len(shown) > 1 else ''} not in the form {PATTERN_TEXT}: "
            f"{', '.join(shown)}. Such a file would be skipped, so the database would silently miss it; "
            "nothing was applied.",
            hint=f"Rename it with a version, e.g. `mv {_display(first, display_root)} "
                 f"{_display(first.parent, display_root)}/<YYYYMMDDHHMMSS>_{stem}.sql` "
                 "(`moai-adk db migration new <name>` shows the current timestamp), or move it out of "
                 f"{_display(first.parent, display_root)}.",
        )

    def by_version(self) -> dict[str, MigrationFile]:
        return {f.version: f for f in self.files}


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


def scan(folder: Path, display_root: Path | None = None) -> LocalMigrations:
    """Read the migrations folder; two files with one version is an error naming both."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return LocalMigrations(folder, [], [], [])
    except NotADirectoryError as exc:
        raise MigrationError(f"{folder} is not a folder.", hint=f"Remove it and create the folder {folder}.") from exc
    files: list[MigrationFile] = []
    bad: list[Path] = []
    legacy: list[Path] = []
    seen: dict[str, MigrationFile] = {}
    first = True
    for entry in entries:
        if entry.is_dir():
            continue
        path = folder / entry.name
        is_first, first = first, False
        init = _INIT_PATTERN.match(entry.name)
        if is_first and init and int(init.group(1)) < _LEGACY_INIT_BEFORE:
            legacy.append(path)
            continue
        m = FILE_PATTERN.match(entry.name)
        if not m:
            if entry.name.lower().endswith(".sql"):
                bad.append(path)
            continue
        mf = MigrationFile(version=m.group(1), name=m.group(2), path=path)
        if mf.version in seen:
            other = seen[mf.version]
            raise MigrationError(
                f"Two migration files have version {mf.version}: {_display(other.path, display_root)} and "
                f"{_display(path, display_root)}. A version identifies one migration in the history table.",
                hint=f"Give one of them a new version, e.g. `mv {_display(path, display_root)} "
                     f"{_display(folder, display_root)}/<YYYYMMDDHHMMSS>_{mf.name}.sql` with a later timestamp.",
            )
        seen[mf.version] = mf
        files.append(mf)
    return LocalMigrations(folder, files, bad, legacy)


def timestamp(now: datetime) -> str:
    """``YYYYMMDDHHMMSS`` of ``now`` in UTC (naive datetimes are taken as UTC)."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    return now.strftime("%Y%m%d%H%M%S")


def check_name(name: str) -> None:
    """Refuse a migration name that cannot be part of a file name."""
    if not _NAME_RE.match(name) or name.endswith(".sql"):
        cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.removesuffix(".sql")).strip("_.-") or "my_change"
        raise UsageError(
            f"Migration name '{name}' is not usable in a file name (letters, digits, '_', '-', '.'; "
            "no '.sql' suffix, it is added).",
            hint=f"moai-adk db migration new {cleaned}",
        )


def new_migration(folder: Path, name: str, now: datetime, content: str = "") -> Path:
    """Create ``<folder>/<timestamp>_<name>.sql`` atomically; refuse a clash."""
    check_name(name)
    version = timestamp(now)
    existing = scan(folder).by_version().get(version)
    if existing is not None:
        raise MigrationError(
            f"A migration with version {version} already exists: {existing.path}.",
            hint="Wait a second and run the command again: versions are timestamps to the second.",
        )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{version}_{name}.sql"
    atomic_write(target, content)
    return target


def now_utc() -> datetime:
    return datetime.now(UTC)
