"""CLI wiring for ``moai-adk db backup``, ``db restore`` and ``db backups list|prune|verify`` (the work is in
``moai_adk.db.backups``, ``storage``, ``retention``, ``verify``, ``restore_to``; docs/backups.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..db import files
from ..errors import ConfigError, UsageError
from .db_cmd import _project, _service, _target, _target_options
from .options import State, common, state


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


@click.command("backup")
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


@click.command("restore")
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


@click.group("backups")
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


def attach(db_group: click.Group) -> None:
    """Add ``backup``, ``restore`` and the ``backups`` group to ``db``."""
    for command in (db_backup, db_restore, backups_group):
        db_group.add_command(command)
