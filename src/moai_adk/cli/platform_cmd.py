"""CLI wiring for ``moai-adk platform serve|status|token``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from .options import State, common, state


def _backup_status(st: State, data_dir: Path | None) -> dict[str, Any]:
    """The backup schedules the platform of ``data_dir`` runs (from its status file; {} when none)."""
    from ..db.schedule_state import read_status
    from ..platform.paths import default_data_dir

    return read_status((data_dir or default_data_dir(st.environ)).resolve())


def register(cli: click.Group) -> None:
    """Add the ``platform`` group to the root group."""
    cli.add_command(platform)


@click.group()
def platform() -> None:
    """Run moai-adk's own hosting platform on this machine."""


@platform.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data folder (default: $XDG_DATA_HOME/moai-adk/platform).")
@click.option("--cache-mb", default=64, show_default=True, type=click.IntRange(1, 65536),
              help="Memory budget for hot files.")
@click.option("--server", type=click.Choice(["auto", "granian", "uvicorn"]), default="auto", show_default=True,
              help="HTTP server to run the app on.")
@click.option("--edge", type=click.Choice(["nginx"]), default=None,
              help="Put nginx on --host/--port: it sends plain files itself, the app answers the rest.")
@click.option("--backups-for", "backups_for", multiple=True, metavar="PROJECT_DIR",
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Run this project's [db.backups] schedule in the background (repeatable; docs/backups.md).")
@common
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, data_dir: Path | None, cache_mb: int, server: str,
          edge: str | None, backups_for: tuple[Path, ...]) -> None:
    """Serve deploys: production at http://<site>.localhost:PORT/."""
    from ..platform.paths import default_data_dir
    from ..platform.server import check_port, prepare, public_url, run

    st = state(ctx)
    data = (data_dir or default_data_dir(st.environ)).resolve()
    if edge == "nginx":
        from ..platform.edge_nginx import find_nginx

        find_nginx(st.environ)
    check_port(host, port)
    url = public_url(host, port)
    prepared = prepare(data, url, st.environ)
    out = st.output
    if backups_for:
        _start_backups(st, [p.resolve() for p in backups_for], data)

    def ready(engine: str) -> None:
        out.info(f"moai-adk platform on {url} ({engine}, data in {data})")
        out.info(f"Sites: http://<site>.localhost:{port}/  or  {url}/_sites/<site>/")
        note = "new admin token" if prepared.created else "admin token"
        out.info(f"{note} saved in {prepared.credentials} (mode 0600); the CLI of this user finds it there.")
        out.info("Stop with Ctrl+C.")

    run(host, port, data, cache_mb=cache_mb, server=server, on_ready=ready, edge=edge)


def _start_backups(st: State, folders: list[Path], data: Path) -> None:
    """Scheduled backups of each project, in daemon threads of this process (db/schedule.py)."""
    import sys

    from ..db.schedule import start
    from ..db.schedule_state import STATUS_FILE

    def log(message: str) -> None:
        print(f"backups: {message}", file=sys.stderr, flush=True)

    schedules, _stop = start(list(dict.fromkeys(folders)), st.environ, status_file=data / STATUS_FILE, log=log)
    for s in schedules:
        st.output.info(f"Backups of {s.config.name} ({', '.join(s.config.backups.schedule_environments)}): "
                       f"{s.cron.text} UTC, next {s.next_run:%Y-%m-%d %H:%M} UTC")


@platform.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data folder of the platform whose backup schedules to show (default: $XDG_DATA_HOME/moai-adk/platform).")
@common
@click.pass_context
def status(ctx: click.Context, data_dir: Path | None) -> None:
    """Tell whether a platform answers at the configured URL; list every platform the credentials file knows."""
    from ..errors import PlatformUnavailable
    from ..providers._local_status import platform_status, start_hint

    st = state(ctx)
    info = platform_status(st.environ)
    info["backups"] = _backup_status(st, data_dir)
    if not info["running"]:
        raise PlatformUnavailable(f"no local platform at {info['url']}", hint=start_hint(st.environ, info["url"]))

    def render(console: Console) -> None:
        token = "accepted" if info["token_ok"] else "missing or refused"
        console.print(f"running at {info['url']} (version {info.get('version')}); "
                      f"token from {info['token_source']}: {token}")
        if info["platforms"]:
            console.print(f"Platforms in {info['credentials']} (MOAI_PLATFORM_URL picks one):")
        for p in info["platforms"]:
            marks = [m for m, on in (("default", p["default"]), ("in use", p["selected"])) if on]
            answer = ("running, token accepted" if p["token_ok"] else "running, token refused") if p["running"] \
                else "not answering"
            console.print(f"  {p['url']}  {answer}" + (f"  ({', '.join(marks)})" if marks else ""))
        for root, b in info["backups"].items():
            last = b.get("last_result")
            last_text = f"last run {b.get('last_finished', '?')}: {last}" if last else "no run yet"
            if b.get("running"):
                last_text = f"running since {b.get('last_started')}"
            errors = [f"{r['environment']}: {r['error']}" for r in b.get("last_runs", []) if not r.get("ok")]
            console.print(f"Backups of {b.get('project')} ({root}): {b.get('schedule')} UTC, next "
                          f"{b.get('next_run')}; {last_text}" + (f" ({'; '.join(errors)})" if errors else ""))

    st.output.result(info, render)


@platform.command()
@click.option("--role", type=click.Choice(["viewer", "developer", "deployer", "admin"]), default="deployer", show_default=True,
              help="What the token may do.")
@click.option("--label", default="", help="A note stored with the token (who or what uses it).")
@click.option("--dry-run", is_flag=True, help="Show what would be asked, change nothing.")
@common
@click.pass_context
def token(ctx: click.Context, role: str, label: str, dry_run: bool) -> None:
    """Mint a token for CI or another user (needs the admin token)."""
    from ..platform.paths import resolve_platform
    from ..providers.local import mint_token

    st = state(ctx)
    if dry_run:
        url = resolve_platform(st.environ)[0]
        st.output.result({"url": url, "role": role, "dry_run": True},
                         lambda c: c.print(f"would mint a {role} token on {url}"))
        return
    info = mint_token(st.environ, role, label)

    def render(console: Console) -> None:
        console.print(info["token"])

    st.output.info(f"{role} token for {info['url']} (use it as MOAI_PLATFORM_TOKEN; it is shown only once):")
    st.output.result(info, render)


@platform.command("audit")
@click.option("--verify", is_flag=True, help="Check the hash chain; name the first entry altered, removed or reordered.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000), help="Entries to show.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Read the log in this data folder directly (on the platform's machine) instead of asking the API "
                   "with an admin token.")
@common
@click.pass_context
def audit_cmd(ctx: click.Context, verify: bool, limit: int, data_dir: Path | None) -> None:
    """The platform's own audit log: every change made through its API and every refused attempt."""
    from ..providers._local_admin import platform_audit

    st = state(ctx)
    data = platform_audit(st.environ, data_dir=data_dir, verify=verify, limit=limit)
    if verify:
        st.output.result(data, lambda c: c.print(f"Platform audit log verified: {data['entries']} entries, "
                                                 "hash chain intact."))
        return

    def render(console: Console) -> None:
        from rich.markup import escape
        from rich.table import Table

        table = Table("SEQ", "AT", "WHO", "ACTION", "SITE", "ENV", "TARGET", "RESULT", "CLIENT")
        for e in data["entries"]:
            table.add_row(str(e.get("seq", "")), e.get("at", ""), escape(str(e.get("who") or "-")),
                          escape(str(e.get("action", ""))), escape(str(e.get("site") or "")),
                          escape(str(e.get("environment") or "")), escape(str(e.get("target") or "")),
                          f"{e.get('result', '')} {e.get('status', '')}", str(e.get("client") or ""))
        console.print(table)

    st.output.result(data, render)
