"""Run the platform: check the port, make sure an admin token exists and is
saved for this user, then serve with granian on its native RSGI interface
(uvicorn on ASGI when granian is missing)."""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import StateError, UsageError
from .app import CACHE_ENV, DATA_ENV, DOMAIN_ENV, EDGE_ENV
from .paths import credential_entries, credentials_path, write_credentials
from .service import Platform


@dataclass
class Prepared:
    url: str
    credentials: Path
    token: str | None  # the token the credentials file holds (None when it was left alone)
    created: bool  # a new admin token was minted


def public_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def check_port(host: str, port: int) -> None:
    """Raise ``UsageError`` naming --port when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise UsageError(
                    f"Port {port} on {host} is already in use (or not allowed), so the platform cannot listen there.",
                    hint=f"Pick another one: `moai-adk platform serve --port {port + 1}`, "
                    "or stop what is listening (is a platform already running? `moai-adk platform status`).",
                ) from exc
            raise UsageError(f"Cannot listen on {host}:{port} ({exc.strerror}).",
                             hint="Check --host and --port.") from exc


def check_data_folder(data_dir: Path) -> None:
    """Refuse a data folder whose database is empty or missing while it holds blobs: starting would
    mint a new admin token on an empty platform and forget every site (the blobs stay orphans)."""
    db = data_dir / "meta.sqlite3"
    try:
        size: int | None = db.stat().st_size
    except FileNotFoundError:
        size = None
    except OSError:
        return  # Platform() says what is wrong with it
    if size:
        return
    blobs = data_dir / "blobs"
    has_blobs = blobs.is_dir() and any(True for _ in blobs.iterdir())
    if not has_blobs:
        return  # a new data folder
    what = "is empty (0 bytes)" if size == 0 else "is missing"
    raise StateError(
        f"The platform's metadata database {db} {what}, but {blobs} holds deployed files: this is not a new "
        "data folder, and starting on it would make an empty platform with a new admin token.",
        hint=f"Restore {db} (with {db.name}-wal if you have it, and {data_dir}/secrets.key) from a backup and start "
             f"again. To start over instead, move {data_dir} aside (`mv {data_dir} {data_dir}.old`), start with "
             "the empty folder and deploy your sites again.",
    )


def _read_only(data_dir: Path, exc: BaseException) -> UsageError:
    return UsageError(
        f"The platform's metadata database in {data_dir} is read-only for this user ({exc}), so the platform "
        "cannot record deployments.",
        hint=f"Give this user write access to {data_dir} and the files in it (e.g. `chown -R $(id -un) {data_dir}`), "
             "check that its filesystem is not mounted read-only, or pass another --data folder.",
    )


def prepare(data_dir: Path, url: str, environ: Mapping[str, str]) -> Prepared:
    """Create the data folder and, unless the saved token is an admin token of
    this platform, mint one and save it as this URL's entry of the user's credentials file.

    What it creates is this user's only (umask 077 while it runs; ``run`` keeps that umask for good)."""
    umask = os.umask(0o077)
    try:
        return _prepare(data_dir, url, environ)
    finally:
        os.umask(umask)


def _prepare(data_dir: Path, url: str, environ: Mapping[str, str]) -> Prepared:
    creds_file = credentials_path(environ)
    _, entries = credential_entries(creds_file)
    check_data_folder(data_dir)
    try:
        platform = Platform(data_dir)
    except sqlite3.DatabaseError as exc:
        if _is_read_only(exc):
            raise _read_only(data_dir, exc) from exc
        if isinstance(exc, sqlite3.OperationalError):  # cannot open or write: a folder problem
            raise UsageError(f"Cannot use {data_dir} as the platform's data folder ({exc}).",
                             hint="Pass a writable folder with --data DIR.") from exc
        raise StateError(
            f"The platform's metadata database in {data_dir} is damaged ({exc}); the platform will not start "
            "on it, so nothing more is lost.",
            hint=f"Restore {data_dir}/meta.sqlite3 from a backup, or move {data_dir} aside and start with an "
                 "empty --data folder and deploy again.",
        ) from exc
    except OSError as exc:
        raise UsageError(f"Cannot use {data_dir} as the platform's data folder ({exc}).",
                         hint="Pass a writable folder with --data DIR.") from exc
    try:
        # this URL's entry first; another entry whose token this data folder knows is this platform
        # started earlier on another port (it moves there)
        ordered = sorted(entries.items(), key=lambda e: e[0].rstrip("/") != url.rstrip("/"))
        known = next(((u, t) for u, t in ordered if platform.role_for(t) == "admin"), None)
        minted = platform.ensure_admin_token(known[1] if known else None)
    except sqlite3.OperationalError as exc:
        if _is_read_only(exc):
            raise _read_only(data_dir, exc) from exc
        raise
    finally:
        platform.close()
    token = minted or (known[1] if known else "")
    if minted or (known and known[0] != url.rstrip("/")):
        write_credentials(creds_file, url, token, moved_from=None if minted or not known else known[0])
    return Prepared(url=url, credentials=creds_file, token=token, created=minted is not None)


def _is_read_only(exc: sqlite3.DatabaseError) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc).replace("read-only", "readonly")


def run(host: str, port: int, data_dir: Path, *, cache_mb: int = 64, domain: str = "localhost",
        workers: int = 1, server: str = "auto", on_ready: Callable[[str], None] | None = None,
        edge: str | None = None) -> None:
    """Serve until interrupted. ``server``: "auto" (granian, else uvicorn), "granian" or "uvicorn";
    ``edge="nginx"``: nginx on host:port in front of the app on a loopback socket.

    The process umask becomes 077 (027 for the nginx edge under root, see ``edge_nginx.py``): the
    database, blobs and trees it writes are this user's only."""
    os.umask(0o077)
    if edge == "nginx":
        _run_behind_nginx(host, port, data_dir, cache_mb=cache_mb, domain=domain, workers=workers,
                          server=server, on_ready=on_ready)
        return
    _serve_app(host, port, data_dir, cache_mb=cache_mb, domain=domain, workers=workers, server=server,
               on_ready=on_ready)


def _serve_app(host: str, port: int, data_dir: Path, *, cache_mb: int, domain: str, workers: int, server: str,
               on_ready: Callable[[str], None] | None) -> None:
    os.environ[DATA_ENV] = str(data_dir)
    os.environ[CACHE_ENV] = str(cache_mb)
    os.environ[DOMAIN_ENV] = domain
    target = "moai_adk.platform.app:app_from_env"
    use_granian = server in ("auto", "granian")
    if use_granian:
        try:
            from granian import Granian
            from granian.constants import Interfaces
        except ImportError:
            if server == "granian":
                raise UsageError("granian, which moai-adk installs with itself, is missing from this Python environment.",
                                 hint="Repair the install: pip install --force-reinstall moai-adk") from None
            use_granian = False
    if on_ready is not None:
        on_ready("granian" if use_granian else "uvicorn")
    if use_granian:
        Granian(target, address=host, port=port, interface=Interfaces.RSGI, workers=workers, factory=True,
                log_access=False).serve()
        return
    import uvicorn

    from .asgi_server import HalfCloseH11Protocol

    uvicorn.run(target, host=host, port=port, factory=True, workers=workers if workers > 1 else None,
                log_level="warning", access_log=False, http=HalfCloseH11Protocol)


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_behind_nginx(host: str, port: int, data_dir: Path, *, cache_mb: int, domain: str, workers: int,
                      server: str, on_ready: Callable[[str], None] | None) -> None:
    """Materialize the edge's trees, start nginx on host:port, serve the app behind it, stop nginx on exit."""
    from .edge import Edge
    from .edge_nginx import (
        NginxProcess,
        check_worker_reaches,
        find_nginx,
        nginx_config,
        share_with_worker,
        worker_account,
    )

    binary = find_nginx()
    worker = worker_account()  # None unless root: then nginx's workers run as nobody
    os.environ[EDGE_ENV] = "nginx"
    if worker is not None:
        os.umask(0o027)  # with the setgid folders: new blobs and trees readable by the worker's group only
    platform = Platform(data_dir)
    try:
        edge = Edge(data_dir, platform.store)
        if worker is not None:
            share_with_worker(data_dir, worker)
            check_worker_reaches(edge.trees, worker)
        edge.sync(platform)
    finally:
        platform.close()
    inner_port = _free_loopback_port()
    nginx = NginxProcess(binary, edge.root,
                         nginx_config(edge.root, host, port, f"127.0.0.1:{inner_port}", domain, worker))
    nginx.start(host, port)
    try:
        _serve_app("127.0.0.1", inner_port, data_dir, cache_mb=cache_mb, domain=domain, workers=workers,
                   server=server,
                   on_ready=None if on_ready is None else (lambda engine: on_ready(f"nginx + {engine}")))
    finally:
        nginx.stop()
