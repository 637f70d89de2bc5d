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
from ..errors import ConfigError
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
    from . import db_backup_cmd, db_data_cmd  # db backup/restore/backups; db sync, db forget

    db_backup_cmd.attach(db_group)
    db_data_cmd.attach(db_group)
    cli.add_command(db_group)
