"""pg_dump and pg_restore matching the server's major version; ``db restore DUMP`` into a database.

The tools are looked up as ``/usr/lib/postgresql/<major>/bin/<tool>`` (Debian
layout) for the server's major version, then on PATH when that one's major
version is at least the server's (pg_dump refuses newer servers). Backups
themselves (snapshot, manifest, storage) are ``backups.py``. A restore verifies
the dump with ``pg_restore --list``, then runs ``pg_restore --single-transaction
--exit-on-error`` so a failed restore changes nothing. The password travels
in ``PGPASSWORD``, never on the command line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ..errors import DatabaseError
from .connect import Target, connect, scrub

DEBIAN_BIN = Path("/usr/lib/postgresql")


def server_major(target: Target) -> int:
    conn = connect(target)
    try:
        return conn.info.server_version // 10000
    finally:
        conn.close()


def _tool_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return None
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(m.group(1)) if m else None


def find_tool(name: str, major: int, environ: Mapping[str, str], search_root: Path = DEBIAN_BIN, *,
              server_version: str | None = None) -> str:
    exact = search_root / str(major) / "bin" / name
    if exact.is_file() and os.access(exact, os.X_OK):
        return str(exact)
    on_path = shutil.which(name, path=environ.get("PATH"))
    if on_path and (_tool_major(on_path) or 0) >= major:
        return on_path
    found = f" (PATH has {on_path}, version {_tool_major(on_path)}: older than the server)" if on_path else ""
    raise DatabaseError(
        f"No {name} for the PostgreSQL {server_version or major} server: looked for {exact} and for a {name} of "
        f"version {major} or newer on PATH{found}.",
        hint=f"Install the client tools of PostgreSQL {major} (e.g. `apt-get install postgresql-client-{major}`).",
    )


def _conn_env(target: Target, environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    params = psycopg.conninfo.conninfo_to_dict(target.url)
    password = params.pop("password", None)
    env = dict(environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return psycopg.conninfo.make_conninfo(**params), env  # type: ignore[arg-type]


RUN_HINT = "Check the message above; re-run with --debug for the full command."
# pg_restore's words when the dump creates something the database already has
EXISTS_RE = re.compile(r"ERROR:\s+(.+?) already exists")


def _run(cmd: list[str], env: dict[str, str], target: Target, what: str,
         hint: Callable[[str], str | None] | None = None) -> str:
    """Run ``cmd``; on failure a ``DatabaseError`` with the tool's message (``hint(stderr)`` may say the fix)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        err = scrub(proc.stderr.strip() or f"exit status {proc.returncode}", target.url)
        raise DatabaseError(f"{what} failed for {target.label}: {err}", hint=(hint and hint(err)) or RUN_HINT)
    return proc.stdout


def verify_dump(pg_restore: str, path: Path) -> int:
    """Number of TOC entries in a custom-format dump; raises when pg_restore cannot read it."""
    proc = subprocess.run([pg_restore, "--list", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise DatabaseError(f"{path} is not a readable pg_dump custom-format file: {proc.stderr.strip()}",
                            hint="Use a dump written by `moai-adk db backup` (pg_dump --format=custom).")
    return sum(1 for line in proc.stdout.splitlines() if line and not line.startswith(";"))


@dataclass
class RestoreResult:
    path: Path
    entries: int
    command: list[str]
    dry_run: bool

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "entries": self.entries, "command": self.command, "dry_run": self.dry_run}

    def summary(self) -> str:
        if self.dry_run:
            return f"Dump verified ({self.entries} entries). Would run: {' '.join(self.command)}"
        return f"Restored {self.path} ({self.entries} entries) in one transaction."


def restore(dump: Path, target: Target, *, clean: bool = False, environ: Mapping[str, str],
            dry_run: bool = False, entries: int | None = None) -> RestoreResult:
    """``entries``: the TOC size of a dump whose SHA-256 was just checked against its manifest (the backup
    read it with ``pg_restore --list`` when it was taken, so it is not read again); None: a dump of
    unknown origin, verified with ``pg_restore --list`` first."""
    major = server_major(target)
    pg_restore = find_tool("pg_restore", major, environ)
    if entries is None:
        entries = verify_dump(pg_restore, dump)
    conninfo, env = _conn_env(target, environ)
    opts = ["--single-transaction", "--exit-on-error", "--no-owner", "--no-password"]
    if clean:
        opts += ["--clean", "--if-exists"]
    cmd = [pg_restore, *opts, f"--dbname={conninfo}", str(dump)]
    shown = [pg_restore, *opts, f"--dbname={scrub(conninfo, target.url)}", str(dump)]
    if not dry_run:
        _run(cmd, env, target, "pg_restore", None if clean else _clean_hint(dump, target))
    return RestoreResult(dump, entries, shown, dry_run)


def _clean_hint(dump: Path, target: Target) -> Callable[[str], str | None]:
    """For a restore without ``--clean`` that met objects the database already has: say to add it."""

    def hint(stderr: str) -> str | None:
        found = EXISTS_RE.search(stderr)
        if found is None:
            return None
        what = f" ({found.group(1)})" if found.group(1) else ""
        return (f"The database already has objects the dump creates{what}; nothing was restored. Re-run with "
                f"--clean to drop and recreate them: `moai-adk db restore {dump} --clean {target.flag}`, "
                "or restore into an empty database.")

    return hint
