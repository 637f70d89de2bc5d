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
from .paths import credentials_path, read_credentials, write_credentials
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


def prepare(data_dir: Path, url: str, environ: Mapping[str, str]) -> Prepared:
    """Create the data folder and, unless the saved token is an admin token of
    this platform, mint one and save ``{"url", "token"}`` for this user."""
    creds_file = credentials_path(environ)
    saved = read_credentials(creds_file) or {}
    try:
        platform = Platform(data_dir)
    except sqlite3.DatabaseError as exc:
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
        minted = platform.ensure_admin_token(str(saved.get("token") or "") or None)
    finally:
        platform.close()
    token = minted or str(saved.get("token"))
    if minted or saved.get("url") != url:
        write_credentials(creds_file, url, token)
    return Prepared(url=url, credentials=creds_file, token=token, created=minted is not None)


def run(host: str, port: int, data_dir: Path, *, cache_mb: int = 64, domain: str = "localhost",
        workers: int = 1, server: str = "auto", on_ready: Callable[[str], None] | None = None,
        edge: str | None = None) -> None:
    """Serve until interrupted. ``server``: "auto" (granian, else uvicorn), "granian" or "uvicorn";
    ``edge="nginx"``: nginx on host:port in front of the app on a loopback socket."""
    os.environ[DATA_ENV] = str(data_dir)
    os.environ[CACHE_ENV] = str(cache_mb)
    os.environ[DOMAIN_ENV] = domain
    if edge == "nginx":
        _run_behind_nginx(host, port, data_dir, cache_mb=cache_mb, domain=domain, workers=workers,
                          server=server, on_ready=on_ready)
        return
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
    from .edge_nginx import NginxProcess, find_nginx, nginx_config

    binary = find_nginx()
    platform = Platform(data_dir)
    try:
        edge = Edge(data_dir, platform.store)
        edge.sync(platform)
    finally:
        platform.close()
    os.environ[EDGE_ENV] = "nginx"
    inner_port = _free_loopback_port()
    nginx = NginxProcess(binary, edge.root, nginx_config(edge.root, host, port, f"127.0.0.1:{inner_port}", domain))
    nginx.start(host, port)
    try:
        run("127.0.0.1", inner_port, data_dir, cache_mb=cache_mb, domain=domain, workers=workers, server=server,
            on_ready=None if on_ready is None else (lambda engine: on_ready(f"nginx + {engine}")))
    finally:
        nginx.stop()
