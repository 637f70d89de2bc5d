"""Which local migrations are pending, with the Supabase CLI's rules.

Local versions and remote (history table) versions are walked together in
string order:

* a remote version with no local file -> ``RemoteAheadError``
  ("remote has versions missing locally"), with the exact repair command;
* a local file older than the latest remote version and not applied ->
  ``OutOfOrderError`` ("local file out of order") unless ``include_all``;
* otherwise the pending files are the local files after the last remote one
  (plus, with ``include_all``, the out-of-order ones), in version order.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import MigrationError
from .files import MigrationFile


class RemoteAheadError(MigrationError):
    """The history table holds versions that have no local file."""

    def __init__(self, message: str, hint: str, versions: list[str]) -> None:
        super().__init__(message, hint)
        self.versions = versions


class OutOfOrderError(MigrationError):
    """Unapplied local files sort before the latest applied version."""

    def __init__(self, message: str, hint: str, files: list[MigrationFile]) -> None:
        super().__init__(message, hint)
        self.files = files


@dataclass(frozen=True)
class Pending:
    files: list[MigrationFile]
    out_of_order: list[MigrationFile]


def _shorten(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def find_pending(local: list[MigrationFile], remote: list[str], *, include_all: bool = False,
                 target_flag: str = "--env <env>", where: str = "the database") -> Pending:
    files = sorted(local, key=lambda f: f.version)
    versions = sorted(remote)
    i = j = 0
    missing: list[str] = []
    unapplied: list[MigrationFile] = []
    while i < len(versions) and j < len(files):
        r, lv = versions[i], files[j].version
        if r == lv:
            i += 1
            j += 1
        elif r < lv:
            missing.append(r)
            i += 1
        else:
            unapplied.append(files[j])
            j += 1
    if j == len(files):
        missing.extend(versions[i:])
    if missing:
        cmd = f"moai-adk db migration repair --status reverted {' '.join(missing)} {target_flag}"
        raise RemoteAheadError(
            f"The migration history of {where} has versions missing locally (remote has versions missing "
            f"locally): {_shorten(missing)}. No file in supabase/migrations/ has "
            f"{'these versions' if len(missing) > 1 else 'this version'}, so nothing was applied.",
            hint=f"Restore the missing files into supabase/migrations/ (e.g. `git pull`), or, if those migrations "
                 f"were removed on purpose, mark them reverted: `{cmd}`",
            versions=missing,
        )
    if unapplied and not include_all:
        names = [f.filename for f in unapplied]
        latest = versions[-1]
        raise OutOfOrderError(
            f"Local migration file{'s' if len(names) > 1 else ''} {_shorten(names)} "
            f"{'are' if len(names) > 1 else 'is'} older than the latest version applied to {where} ({latest}) "
            "but not applied (local file out of order); nothing was applied.",
            hint=f"Apply {'them' if len(names) > 1 else 'it'} anyway with `moai-adk db push {target_flag} "
                 f"--include-all`, or rename the file to a version after {latest} "
                 "(`moai-adk db migration new <name>` uses the current time).",
            files=unapplied,
        )
    return Pending(files=unapplied + files[j:], out_of_order=unapplied)
