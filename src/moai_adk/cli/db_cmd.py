"""CLI wiring for ``moai-adk db``: migrations (new, list, repair), lint, push, diff, pull, backup, restore,
backups, inspect (sync and forget: db_data_cmd.py)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from ..config import Config, find_config, load_config
from ..db import files
from ..errors import ConfigError, UsageError
from .inspect_render import render_inspect
from .options import State, common, state

if TYPE_CHECKING:
    from ..db.connect import Target

STATUSES = ("applied", "reverted")


def _service(name: str) -> ModuleType:
    """Import a db service lazily (keeps `moai-adk --help` fast; psycopg loads only for `db`)."""
    import importlib

    try:
        return importlib.import_module(f"moai_adk.db.{name}")
    except ImportError as exc:
        if "psycopg" not in str(exc):
            raise
        raise ConfigError(
            "`moai-adk db` needs the PostgreSQL driver psycopg, which moai-adk installs with itself, but it is "
            "missing from this Python environment.",
            hint="Repair the install: pip install --force-reinstall moai-adk",
        ) from exc


def _project(st: State, need_config: bool) -> tuple[Path, Config | None]:
    path = find_config(st.project_dir)
    if path is None:
        return st.project_dir, None
    if not need_config:
        return path.parent.resolve(), None
    cfg = load_config(path)
    return cfg.root, cfg


def _target(st: State, env: str | None, db_url: str | None, required: bool = True) -> tuple[Path, Target | None]:
    root, cfg = _project(st, need_config=bool(env))
    target: Target | None = _service("connect").resolve_target(cfg, env, db_url, st.environ, required=required)
    return root, target


def _target_options(fn: Any) -> Any:
    fn = click.option("--db-url", default=None, metavar="URL",
                      help="PostgreSQL URL to use instead of an environment's.")(fn)
    fn = click.option("--env", "env", default=None, metavar="ENV",
                      help="Environment whose database to use (URL from the env var named by "
                           "environments.<env>.db_url_env in moai.toml).")(fn)
    return fn


@click.group("db")
def db_group() -> None:
    """Database migrations (Supabase CLI compatible), backups and restores, sync between environments."""


@db_group.group("migration")
def migration_group() -> None:
    """Create, list and repair migration files and history."""


@migration_group.command("new")
@click.argument("name")
@common
@click.pass_context
def migration_new(ctx: click.Context, name: str) -> None:
    """Create supabase/migrations/<UTC timestamp>_NAME.sql."""
    st = state(ctx)
    root, _ = _project(st, need_config=False)
    path = files.new_migration(root / files.MIGRATIONS_DIR, name, files.now_utc())
    shown = path.relative_to(root)
    st.output.result({"path": str(shown), "version": path.name.split("_", 1)[0]},
                     lambda con: con.print(f"Created new migration at {shown}"))


@migration_group.command("list")
@_target_options
@common
@click.pass_context
def migration_list(ctx: click.Context, env: str | None, db_url: str | None) -> None:
    """Local migration files beside the versions applied to a database (read-only)."""
    st = state(ctx)
    root, target = _target(st, env, db_url, required=False)
    result = _service("push").list_migrations(root, target)
    for warning in result.warnings:
        st.output.warn(warning)

    def render(con: Console) -> None:
        table = Table("Local", "Remote", "Time (UTC)", "Name")
        for r in result.rows:
            table.add_row(r.version if r.local else "", r.version if r.remote else
                          ("?" if not result.remote_checked else ""), _time(r.version), r.name)
        con.print(table)
        if not result.remote_checked:
            con.print("Remote column not checked: pass --env <env> or --db-url <url>.")
    st.output.result(result.to_json(), render)


def _time(version: str) -> str:
    if len(version) != 14:
        return version
    v = version
    return f"{v[0:4]}-{v[4:6]}-{v[6:8]} {v[8:10]}:{v[10:12]}:{v[12:14]}"


@migration_group.command("repair")
@click.argument("versions", nargs=-1, required=True)
@click.option("--status", type=click.Choice(STATUSES), required=True,
              help="applied: record the versions as applied; reverted: remove them from the history.")
@_target_options
@click.option("--dry-run", is_flag=True, help="Show what would change without writing.")
@common
@click.pass_context
def migration_repair(ctx: click.Context, versions: tuple[str, ...], status: str, env: str | None,
                     db_url: str | None, dry_run: bool) -> None:
    """Mark migration versions applied or reverted in the history table (runs no migration SQL)."""
    st = state(ctx)
    root, target = _target(st, env, db_url)
    assert target is not None
    result = _service("repair").repair(root, target, list(versions), status, dry_run=dry_run)
    for warning in result.warnings:
        st.output.warn(warning)

    def render(con: Console) -> None:
        verb = "Would mark" if dry_run else "Marked"
        con.print(f"{verb} {', '.join(result.versions)} as {status} on {target.label}.")
        if not dry_run:
            con.print(f"Run `moai-adk db migration list {target.flag}` to see the history.")
    st.output.result(result.to_json(), render)


@db_group.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@common
@click.pass_context
def db_lint(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Check migrations for destructive or locking statements (default: every file in supabase/migrations/).

    Exit 1 when anything is found; `-- moai-lint: ignore RULE` before a statement exempts it.
    """
    st = state(ctx)
    root, _ = _project(st, need_config=False)
    lint = _service("lint")
    targets = lint.expand_paths([st.project_dir / p for p in paths], root / files.MIGRATIONS_DIR)
    report = lint.lint_files(targets, display_root=root)

    def render(con: Console) -> None:
        for f in report.findings:
            con.print(f.render(), markup=False, highlight=False)
        con.print(f"{report.files} file(s), {report.statements} statement(s): {len(report.findings)} finding(s)"
                  + (f", {len(report.destructive)} destructive" if report.destructive else "")
                  + (f", {report.ignored} ignored by comment" if report.ignored else "") + ".")
    st.output.result(report.to_json(), render)
    if report.findings:
        ctx.exit(1)


@db_group.command("push")
@_target_options
@click.option("--dry-run", is_flag=True, help="List the pending migrations without applying them.")
@click.option("--include-all", is_flag=True,
              help="Also apply local files older than the latest applied version.")
@click.option("--allow-destructive", is_flag=True,
              help="Apply destructive statements (DROP, TRUNCATE, DELETE without WHERE...) to production; "
                   "`db lint` lists them.")
@common
@click.pass_context
def db_push(ctx: click.Context, env: str | None, db_url: str | None, dry_run: bool, include_all: bool,
            allow_destructive: bool) -> None:
    """Apply pending migrations in supabase/migrations/ to a database (linted first; production is backed up)."""
    st = state(ctx)
    root, target = _target(st, env, db_url)
    assert target is not None

    def events(event: str, data: dict[str, object]) -> None:
        if event == "waiting":
            st.output.info("Waiting for another migration run on this database to finish...")
        elif event == "applying":
            st.output.info(f"Applying {data['count']} migration(s) to {target.label}...")
        elif event == "applied":
            st.output.info(f"Applied {data['file']}")
        elif event == "backing-up":
            st.output.info(f"Backing up {target.label} before applying anything (pg_dump, verified)...")

    _, cfg = _project(st, need_config=find_config(st.project_dir) is not None)
    result = _service("push").push(root, target, dry_run=dry_run, include_all=include_all, events=events,
                                    allow_destructive=allow_destructive, environ=st.environ,
                                    backup_settings=cfg.backups if cfg else None, project=cfg.name if cfg else None)
    for warning in result.warnings:
        st.output.warn(warning)

    def render(con: Console) -> None:
        if not result.pending:
            con.print(f"Remote database is up to date ({target.label}).")
        elif dry_run:
            con.print(f"Would apply {len(result.pending)} migration(s) to {target.label}:")
            for f in result.pending:
                note = "  (outside a transaction: non-transactional statements)" \
                    if result.modes.get(f.version) == "autocommit" else ""
                con.print(f"  {f.path.relative_to(root)}{note}")
        else:
            con.print(f"Applied {len(result.applied)} migration(s) to {target.label}."
                      + (f" Backup taken first: {result.backup}" if result.backup else ""))
    st.output.result(result.to_json(root), render)


def _schema_options(fn: Any) -> Any:
    fn = click.option("--exclude-schema", "exclude", multiple=True, metavar="SCHEMA",
                      help="Also leave this schema out of the comparison (repeatable).")(fn)
    fn = click.option("--include-managed", is_flag=True,
                      help="Also compare the schemas Supabase manages itself (auth, storage, realtime, ...).")(fn)
    return fn


def _scratch_events(st: State, target: Target) -> Any:
    def events(event: str, data: dict[str, object]) -> None:
        if event == "scratch":
            st.output.info(f"Created scratch database {data['name']} on the server of {target.label}.")
        elif event == "applying":
            st.output.info(f"Applying {data['count']} local migration(s) to the scratch database...")
        elif event == "scratch-dropped":
            st.output.info(f"Dropped scratch database {data['name']}.")
    return events


@db_group.command("diff")
@_target_options
@click.option("--sql", "with_sql", is_flag=True,
              help="Print the SQL that brings the database in line with the migrations (never runs it).")
@_schema_options
@common
@click.pass_context
def db_diff(ctx: click.Context, env: str | None, db_url: str | None, with_sql: bool, include_managed: bool,
            exclude: tuple[str, ...]) -> None:
    """Compare a database's schema with what supabase/migrations builds (exit 1 when they differ).

    The migrations are applied to a scratch database on the same server, which is dropped afterwards.
    """
    st = state(ctx)
    root, target = _target(st, env, db_url)
    assert target is not None
    result = _service("schema_diff").diff(root, target, include_managed=include_managed, exclude=exclude,
                                          events=_scratch_events(st, target))
    for warning in result.warnings:
        st.output.warn(warning)

    def render(con: Console) -> None:
        if with_sql:
            con.print(result.script(), markup=False, highlight=False, end="")
            return
        if not result.drifted:
            con.print(f"No drift: {target.label} matches supabase/migrations ({result.applied} file(s)).")
            return
        table = Table("Change", "Kind", "Name", "What differs")
        for d in result.differences:
            what = d.describe().split(": ", 1)[1] if d.change == "changed" else ""
            table.add_row(d.change, d.kind, d.name, what)
        con.print(table)
        destructive = sum(1 for s in result.statements if s.destructive)
        con.print(f"{len(result.differences)} difference(s) between {target.label} and supabase/migrations. "
                  f"`moai-adk db diff {target.flag} --sql` prints the {len(result.statements)} statement(s) that fix "
                  f"the database" + (f" ({destructive} destructive)." if destructive else "."))
    st.output.result(result.to_json(with_sql), render)
    if result.drifted:
        ctx.exit(1)


@db_group.command("pull")
@_target_options
@click.option("--name", default="remote_schema", show_default=True, help="Name part of the new migration file.")
@click.option("--dry-run", is_flag=True, help="Say what would be written without writing or recording anything.")
@_schema_options
@common
@click.pass_context
def db_pull(ctx: click.Context, env: str | None, db_url: str | None, name: str, dry_run: bool,
            include_managed: bool, exclude: tuple[str, ...]) -> None:
    """Write the database's schema as a new migration in supabase/migrations/ and record it as applied there."""
    st = state(ctx)
    root, target = _target(st, env, db_url)
    assert target is not None
    result = _service("pull").pull(root, target, name=name, dry_run=dry_run, now=files.now_utc(),
                                   environ=st.environ, include_managed=include_managed, exclude=exclude,
                                   events=_scratch_events(st, target))

    def render(con: Console) -> None:
        if result.mode == "in-line":
            con.print(f"No schema changes found: {target.label} matches supabase/migrations; nothing written.")
            return
        shown = result.path.relative_to(root) if result.path else ""
        how = "the full schema (pg_dump)" if result.mode == "dump" else "the changes since the local migrations"
        if dry_run:
            con.print(f"Would write {shown} with {how} ({result.statements} statement(s)) and record version "
                      f"{result.version} as applied on {target.label}.")
        else:
            con.print(f"Wrote {shown} with {how} ({result.statements} statement(s)); recorded version "
                      f"{result.version} as applied on {target.label}.")
    st.output.result(result.to_json(root), render)


def _backups(st: State, *, encrypt: bool | None = None,
             out: Path | None = None) -> tuple[Any, Any]:
    """The configured backup storage and the request the backup services take."""
    root, cfg = _project(st, need_config=True)
    from ..config import BackupSettings

    settings = cfg.backups if cfg else BackupSettings()
    req = _service("backups").BackupRequest(root=root, settings=settings, project=cfg.name if cfg else root.name,
                                            environ=st.environ, encrypt=encrypt, out=out)
    return _service("storage").open_storage(root, settings, st.environ), req


def _ref(st: State, backup: str | None) -> str | Path | None:
    """A backup named by a file path (relative to the current folder) or by its id."""
    if backup is None:
        return None
    path = st.project_dir / backup
    return path if ("/" in backup or path.exists()) else backup


@db_group.command("backup")
@_target_options
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Dump file to write, its manifest beside it (default: the [db.backups] location).")
@click.option("--encrypt/--no-encrypt", default=None,
              help="Encrypt to the environment's age recipients (default: [db.backups] encrypt).")
@click.option("--schedule", "schedule", default=None, metavar="CRON",
              help='Instead of backing up now: write [db.backups] schedule = CRON (UTC, e.g. "0 3 * * *") and add '
                   "--env to schedule_environments in moai.toml; `platform serve --backups-for DIR` runs it.")
@click.option("--dry-run", is_flag=True, help="Show the pg_dump command and where it would go, without running it.")
@common
@click.pass_context
def db_backup(ctx: click.Context, env: str | None, db_url: str | None, out: Path | None, encrypt: bool | None,
              schedule: str | None, dry_run: bool) -> None:
    """Dump a database (pg_dump, one snapshot) with a manifest of row counts and checksums, and store it."""
    st = state(ctx)
    if schedule is not None:
        if not env or db_url or out or encrypt is not None:
            raise UsageError("--schedule takes --env ENV only (not --db-url, --out or --encrypt): a schedule "
                             "backs up environments of moai.toml into the [db.backups] location.",
                             hint=f'moai-adk db backup --schedule "{schedule}" --env production')
        _root, cfg = _project(st, need_config=True)
        if cfg is None:
            raise ConfigError("--schedule writes moai.toml, but there is none in this folder or its parents.",
                              hint="Run `moai-adk init` first.")
        done = _service("schedule_toml").set_schedule(cfg, schedule, env, now=files.now_utc(), dry_run=dry_run)
        st.output.result(done.to_json(), lambda con: con.print(done.summary()))
        return
    _root, target = _target(st, env, db_url)
    assert target is not None
    storage, req = _backups(st, encrypt=encrypt, out=st.project_dir / out if out else None)
    if not dry_run:
        st.output.info(f"Backing up {target.label}...")
    result = _service("backups").create_backup(target, req, storage, now=files.now_utc(), dry_run=dry_run)
    st.output.result(result.to_json(), lambda con: con.print(result.summary()))


@db_group.command("restore")
@click.argument("backup")
@_target_options
@click.option("--to", "to", default=None, metavar="ENV",
              help="Restore into a new database beside ENV's, check it, then swap it in (the old one is kept).")
@click.option("--clean", is_flag=True, help="With --env/--db-url: drop existing objects before recreating them.")
@click.option("--yes", is_flag=True, help="Confirm a restore into production.")
@click.option("--dry-run", is_flag=True, help="Check the backup and show the plan only.")
@common
@click.pass_context
def db_restore(ctx: click.Context, backup: str, env: str | None, db_url: str | None, to: str | None, clean: bool,
               yes: bool, dry_run: bool) -> None:
    """Restore a backup (file path or id from `db backups list`): checksum first, then pg_restore."""
    st = state(ctx)
    if to and (env or db_url or clean):
        raise UsageError("--to restores into a new database and swaps it in; it takes no --env, --db-url or --clean.",
                         hint=f"moai-adk db restore {backup} --to {to}")
    _root, target = _target(st, to or env, db_url)
    assert target is not None
    storage, req = _backups(st)
    if to:
        result = _service("restore_to").restore_to(storage, _ref(st, backup), target, req, now=files.now_utc(),
                                                   yes=yes, dry_run=dry_run, on_step=st.output.info)
    else:
        result = _service("backups").restore_backup(storage, _ref(st, backup), target, root=req.root,
                                                    project=req.project, environ=st.environ, clean=clean,
                                                    dry_run=dry_run)
    st.output.result(result.to_json(), lambda con: con.print(result.summary()))


@db_group.group("backups")
def backups_group() -> None:
    """List, prune and verify the backups in the [db.backups] location."""


@backups_group.command("list")
@click.option("--env", "env", default=None, metavar="ENV", help="Only the backups of this environment.")
@common
@click.pass_context
def backups_list(ctx: click.Context, env: str | None) -> None:
    """Complete backups (with a manifest), newest first."""
    st = state(ctx)
    storage, _req = _backups(st)
    found, warnings = _service("backups").list_backups(storage, env)
    for warning in warnings:
        st.output.warn(warning)

    def render(con: Console) -> None:
        table = Table("ID", "Environment", "Created (UTC)", "Size", "Tables", "Rows", "Migration", "Encrypted")
        for m in found:
            table.add_row(m.id, m.environment or "", m.created.strftime("%Y-%m-%d %H:%M:%S"), f"{m.size:,}",
                          str(len(m.tables)), f"{m.rows:,}", m.migration_version or "", "yes" if m.encrypted else "")
        con.print(table)
        con.print(f"{len(found)} backup(s) in {storage.where}.")
    st.output.result({"where": storage.where, "backups": [m.to_json() for m in found], "warnings": warnings},
                     render)


@backups_group.command("prune")
@click.option("--env", "env", default=None, metavar="ENV", help="Only the backups of this environment.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted.")
@common
@click.pass_context
def backups_prune(ctx: click.Context, env: str | None, dry_run: bool) -> None:
    """Delete backups beyond [db.backups] keep_daily / keep_weekly / keep_monthly."""
    st = state(ctx)
    storage, req = _backups(st)
    result = _service("retention").prune(storage, req.settings, root=req.root, environment=env, dry_run=dry_run)
    for warning in result.warnings:
        st.output.warn(warning)

    def render(con: Console) -> None:
        verb = "Would delete" if dry_run else "Deleted"
        for m in result.deleted:
            con.print(f"{verb} {m.id}")
        for m, why in result.kept:
            con.print(f"Kept {m.id} ({', '.join(why)})")
        con.print(f"{verb} {len(result.deleted)} backup(s), kept {len(result.kept)} in {storage.where}.")
    st.output.result(result.to_json(), render)


@backups_group.command("verify")
@click.argument("backup", required=False)
@_target_options
@click.option("--dry-run", is_flag=True, help="Check the checksum only.")
@common
@click.pass_context
def backups_verify(ctx: click.Context, backup: str | None, env: str | None, db_url: str | None,
                   dry_run: bool) -> None:
    """Restore a backup (default: the environment's latest) into a scratch database and compare row counts.

    Exit 1 on any difference (a truncated file, a wrong checksum, a table with other rows).
    """
    st = state(ctx)
    _root, target = _target(st, env, db_url)
    assert target is not None
    storage, req = _backups(st)
    result = _service("verify").verify_backup(storage, _ref(st, backup), target, project=req.project,
                                              environ=st.environ, dry_run=dry_run)
    st.output.result(result.to_json(), lambda con: con.print(result.summary()))
    if not result.ok:
        ctx.exit(1)


@db_group.command("inspect")
@_target_options
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True, help="Rows per list.")
@click.option("--slow-ms", type=click.FloatRange(0), default=100.0, show_default=True,
              help="A statement averaging this many milliseconds (over 5+ calls) is slow.")
@click.option("--long-running", "long_running", type=click.FloatRange(0), default=60.0, show_default=True,
              metavar="SECONDS", help="A query or open idle transaction running this long is reported.")
@common
@click.pass_context
def db_inspect(ctx: click.Context, env: str | None, db_url: str | None, top: int, slow_ms: float,
               long_running: float) -> None:
    """Performance report: slow queries, unused/duplicate/missing indexes, bloat, cache, locks, connections.

    Read-only. Each section says ok or warn with advice; exit 0 unless the database cannot be reached.
    """
    st = state(ctx)
    _root, target = _target(st, env, db_url)
    assert target is not None
    mod = _service("inspect")
    report = mod.inspect(target, mod.Thresholds(top=top, slow_mean_ms=slow_ms, long_running_s=long_running))
    st.output.result(report.to_json(), lambda con: render_inspect(con, report))


def register(cli: click.Group) -> None:
    """Add ``db`` to the root group."""
    from . import db_data_cmd  # db sync, db forget

    db_data_cmd.attach(db_group)
    cli.add_command(db_group)
