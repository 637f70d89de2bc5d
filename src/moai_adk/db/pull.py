"""``db pull``: the remote schema as a new migration file, recorded as applied on the remote.

As with ``supabase db pull``:

* no local migrations: the file is ``pg_dump --schema-only --no-owner`` of the
  remote's schemas (managed and system schemas left out; grants kept, since
  ``db diff`` compares them), with ``pg_dump`` of the server's major version;
* local migrations: they are applied to a scratch database and compared with the
  remote (``db diff``); in line -> nothing is written; otherwise the file holds
  the statements that take the migrations' schema to the remote's.

The new version is then recorded in the remote's history table (the remote
already has that schema), under the migration lock. If recording fails the
file is removed again, so nothing is left half done. An audit entry
``migration pull`` is appended.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from .. import audit
from ..errors import DatabaseError
from .backup import DEBIAN_BIN, _conn_env, _run, _tool_major, find_tool
from .catalog import excluded_schemas, read_catalog
from .connect import Target, connect, redact, session_target, translate
from .drift import plan_sql
from .files import MIGRATIONS_DIR, MigrationFile, check_name, new_migration, scan, timestamp
from .history import HistoryRow, create_table, locked, upsert
from .push import Connector
from .schema_diff import read_both
from .scratch import Events, no_events

DEFAULT_NAME = "remote_schema"
_PSQL_META = re.compile(r"^\\(?:un)?restrict\b.*\n?", re.M)
_CREATE_SCHEMA = re.compile(r"^CREATE SCHEMA (\S+);", re.M)
_COMMENT_PUBLIC = re.compile(r"^COMMENT ON SCHEMA public IS .*;\n?", re.M)


@dataclass
class PullResult:
    target: str
    mode: str                  # dump | diff | in-line
    path: Path | None          # the file written (or that would be written)
    version: str | None
    statements: int
    dry_run: bool
    recorded: bool = False

    def to_json(self, root: Path) -> dict[str, object]:
        shown = str(self.path.relative_to(root)) if self.path and self.path.is_relative_to(root) else self.path
        return {"target": self.target, "mode": self.mode, "path": None if shown is None else str(shown),
                "version": self.version, "statements": self.statements, "dry_run": self.dry_run,
                "recorded": self.recorded}


def pg_dump_for(target: Target, major: int, environ: Mapping[str, str], search_root: Path = DEBIAN_BIN) -> str:
    """``pg_dump`` of the server's major version or newer; an older one is an error naming both."""
    try:
        return find_tool("pg_dump", major, environ, search_root)
    except DatabaseError:
        import shutil

        found = shutil.which("pg_dump", path=environ.get("PATH"))
        have = _tool_major(found) if found else None
        if have is None or have >= major:
            raise
        raise DatabaseError(
            f"pg_dump {have} ({found}) is older than the server of {target.label}, which runs PostgreSQL {major}; "
            f"pg_dump refuses to dump a server newer than itself, and no pg_dump {major} was found (looked in "
            f"{search_root / str(major) / 'bin'} and on PATH).",
            hint=f"Install the client tools of PostgreSQL {major} (e.g. `apt-get install postgresql-client-{major}`) "
                 "or put a pg_dump of that version first on PATH.",
        ) from None


def clean_dump(text: str) -> str:
    """pg_dump's output made a migration: no psql meta-commands, schemas created only when missing."""
    text = _PSQL_META.sub("", text)
    text = _COMMENT_PUBLIC.sub("", text)
    return _CREATE_SCHEMA.sub(r"CREATE SCHEMA IF NOT EXISTS \1;", text)


def _dump(target: Target, schemas: list[str], environ: Mapping[str, str], search_root: Path) -> str:
    conn = connect(target)
    try:
        major = conn.info.server_version // 10000
    finally:
        conn.close()
    pg_dump = pg_dump_for(target, major, environ, search_root)
    conninfo, env = _conn_env(target, environ)
    cmd = [pg_dump, "--schema-only", "--no-owner", "--no-password", *[f"--schema={s}" for s in schemas],
           f"--dbname={conninfo}"]
    return clean_dump(_run(cmd, env, target, "pg_dump"))


def _record(root: Path, target: Target, path: Path, connector: Connector) -> None:
    mf = MigrationFile(version=path.name.split("_", 1)[0], name=path.stem.split("_", 1)[1], path=path)
    _text, split = mf.parsed(str(path.relative_to(root)))
    row = HistoryRow(mf.version, mf.name, split.history_statements())
    session, _notices = session_target(target)
    try:
        with locked(connector(session)) as conn:
            create_table(conn)
            upsert(conn, [row])
    except psycopg.Error as exc:
        raise translate(exc, session, "recording the pulled migration in the history") from exc


def pull(root: Path, target: Target, *, name: str = DEFAULT_NAME, dry_run: bool = False, now: datetime,
         environ: Mapping[str, str], include_managed: bool = False, exclude: Sequence[str] = (),
         connector: Connector = connect, events: Events = no_events, search_root: Path = DEBIAN_BIN) -> PullResult:
    check_name(name)
    folder = root / MIGRATIONS_DIR
    local = scan(folder, root)
    local.refuse_bad_names(root)
    version = timestamp(now)
    header = (f"-- Schema pulled from {redact(target.url)} by `moai-adk db pull` at {version} (UTC).\n"
              "-- Already applied there (recorded in its migration history).\n\n")
    if local.files:
        cats = read_both(root, target, include_managed=include_managed, exclude=exclude, connector=connector,
                         events=events)
        statements = plan_sql(cats.migrations, cats.target)
        if not statements:
            return PullResult(target.label, "in-line", None, None, 0, dry_run)
        mode = "diff"
        body = "\n\n".join(s.render() for s in statements) + "\n"
    else:
        skip = excluded_schemas(include_managed) + [s for s in exclude if s]
        conn = connector(target)
        try:
            schemas = sorted(o.name for o in read_catalog(conn, skip).values() if o.kind == "schema")
        except psycopg.Error as exc:
            raise translate(exc, target, "reading the catalog") from exc
        finally:
            conn.close()
        mode = "dump"
        body = _dump(target, schemas, environ, search_root) if schemas else ""
        statements = []
    path = folder / f"{version}_{name}.sql"
    if dry_run:
        count = len(statements) if mode == "diff" else body.count(";\n")
        return PullResult(target.label, mode, path, version, count, True)
    path = new_migration(folder, name, now, header + body)
    try:
        _record(root, target, path, connector)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    _text, split = MigrationFile(version, name, path).parsed(str(path.relative_to(root)))
    audit.record(root, "migration pull", environment=target.environment, target=target.label,
                 details={"version": version, "file": str(path.relative_to(root)), "mode": mode}, environ=environ)
    return PullResult(target.label, mode, path, version, len(split.statements), False, recorded=True)
