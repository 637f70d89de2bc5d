"""nginx for the edge: find the binary, write ``<data>/edge/nginx.conf``, run it as a child.

What nginx answers itself: GET/HEAD of an existing regular file in a
deployment tree (``edge.py``), on ``<site>.<domain>`` (``live/<site>``),
``<deploy>.<site>.<domain>`` (``sites/<site>/<deploy>``), ``/_sites/<site>/...``
and ``/_deploys/<deploy>/...``. Everything else (the API, other methods,
folders and ``/``, missing files, ``.gz`` names, other hosts) is proxied to
the app with the original Host header. open_file_cache stays off so a
replaced symlink is seen by the next request.

nginx never serves as root: when the platform runs as root, its workers run
as ``nobody`` (else ``www-data``) and ``share_with_worker`` lets that user's
group reach the deployment trees and nothing else: the data folder 0710 (pass,
not list), ``blobs/`` 2700 (not even pass: blobs are read through the trees'
hard links), the edge folders 2710/2750 and the blob files 0640, all group
``nogroup``; the database, the key file and the credentials stay 0600 root.
The setgid bit on those folders and the serve process's umask 027 give the
same group and modes to what is written later.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import mimetypes
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import MoaiError, UsageError
from .store import COMPRESSIBLE_TYPES
from .views import _EXTRA_TYPES, content_type

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
CACHE_CONTROL = "public, max-age=0, must-revalidate"
SITE = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DEPLOY = r"[a-z][a-z0-9]{9}"


def find_nginx(environ: Mapping[str, str] | None = None, candidates: Sequence[str] = NGINX_CANDIDATES) -> str:
    """The nginx binary: on PATH, else in the usual sbin folders; UsageError when there is none."""
    path = (os.environ if environ is None else environ).get("PATH", "")
    found = shutil.which("nginx", path=path)
    if found:
        return found
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise UsageError("--edge nginx needs the nginx binary, and none was found on PATH or in /usr/sbin.",
                     hint="Install it (`apt-get install nginx`) or run without --edge.")


WORKER_USERS = ("nobody", "www-data")


@dataclass(frozen=True)
class Worker:
    """The unprivileged account nginx's workers run as when the platform runs as root."""

    user: str
    group: str
    uid: int
    gid: int


def worker_account(candidates: Sequence[str] = WORKER_USERS) -> Worker | None:
    """None when the platform does not run as root (the workers are this user); else the first
    of ``candidates`` that exists, or UsageError."""
    if os.geteuid() != 0:
        return None
    for name in candidates:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return Worker(name, grp.getgrgid(entry.pw_gid).gr_name, entry.pw_uid, entry.pw_gid)
    raise UsageError(f"The platform runs as root, and nginx's workers must not; none of the users "
                     f"{', '.join(WORKER_USERS)} exists to run them.",
                     hint="Create one (`useradd --system --no-create-home nobody`) or run the platform as a "
                          "regular user.")


def _set(path: Path | str, gid: int, mode: int) -> None:
    st = os.lstat(path)
    if st.st_gid != gid:
        os.lchown(path, -1, gid)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def share_with_worker(data_dir: Path, worker: Worker) -> None:
    """Let the worker's group reach the deployment trees (see the module docstring); one pass over the
    blobs and trees fixes what an earlier run wrote, the setgid bits cover what comes next."""
    gid = worker.gid
    edge = data_dir / "edge"
    _set(data_dir, gid, 0o710)
    _set(data_dir / "blobs", gid, 0o2700)
    for top in (edge, edge / "trees", edge / "live", edge / "sites"):
        _set(top, gid, 0o2710)
    for top in (data_dir / "blobs", edge / "trees"):
        for folder, dirs, files in os.walk(top):
            for d in dirs:
                _set(os.path.join(folder, d), gid, 0o2750)
            for f in files:
                path = os.path.join(folder, f)
                if not os.path.islink(path):
                    _set(path, gid, 0o640)
    for site in (edge / "sites").iterdir():
        if site.is_dir() and not site.is_symlink():
            _set(site, gid, 0o2710)


def check_worker_reaches(folder: Path, worker: Worker) -> None:
    """UsageError naming the first folder on the way to ``folder`` that the worker cannot pass."""
    def passes(path: Path) -> bool:
        return subprocess.run(["test", "-x", str(path)], user=worker.uid, group=worker.gid, extra_groups=[],
                              stdin=subprocess.DEVNULL, capture_output=True).returncode == 0

    if passes(folder):
        return
    blocked = next((p for p in reversed((folder, *folder.parents)) if not passes(p)), folder)
    mode = stat.S_IMODE(os.stat(blocked).st_mode)
    raise UsageError(
        f"nginx's workers run as {worker.user} (the platform runs as root, and nginx does not serve as root), "
        f"and {worker.user} cannot pass through {blocked} (mode {mode:04o}) to reach the deployment files in "
        f"{folder}.",
        hint=f"Keep the data folder where other users may pass through, e.g. `--data /var/lib/moai-adk/platform`, "
             f"or let them pass: `chmod o+x {blocked}`; or run the platform as a regular user.",
    )


def _types() -> str:
    exts = {e.lower() for e in (*mimetypes.types_map, *_EXTRA_TYPES) if re.fullmatch(r"\.[A-Za-z0-9_+-]+", e)}
    by_type: dict[str, list[str]] = {}
    for ext in sorted(exts):
        by_type.setdefault(content_type("x" + ext), []).append(ext[1:])
    return "\n".join(f'        "{t}" {" ".join(e)};' for t, e in sorted(by_type.items()))


def _static(path: str, deploy_id: str) -> str:
    """A location body: GET/HEAD of the file at ``path`` from nginx, anything else from the app.

    No try_files: a missing file (404), a folder (nginx's 301 to ``/``), a
    refused method (403) all become a call to the app, which answers them."""
    return f"""            limit_except GET {{ deny all; }}
            error_page 301 403 404 405 = @app;
            {path};
            add_header Cache-Control "{CACHE_CONTROL}";
            add_header X-Moai-Deploy {deploy_id};
            add_header Vary $moai_vary;"""


def _proxy() -> str:
    return "            proxy_pass http://moai_app;"


def _compressible() -> str:
    """A regex of the content types the app marks ``Vary: Accept-Encoding`` (store.is_compressible)."""
    types = "|".join(re.escape(t) for t in sorted(COMPRESSIBLE_TYPES))
    return f"~^(text/|(?:{types})(?:;|$))"


def nginx_config(edge_root: Path, host: str, port: int, upstream: str, domain: str,
                 worker: Worker | None = None) -> str:
    """The whole nginx.conf text (``upstream``: ``127.0.0.1:PORT``; ``worker``: the account the
    workers run as when nginx starts as root)."""
    e = str(edge_root)
    dom = re.escape(domain.lower())
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    user = f"user {worker.user} {worker.group};" if worker is not None else ""
    temps = "\n".join(f"    {kind}_temp_path {e}/tmp/{kind};" for kind in
                      ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# written by moai-adk platform serve --edge nginx; rewritten at every start
{user}
worker_processes 1;
pcre_jit on;
pid {e}/nginx.pid;
error_log {e}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    types {{
{_types()}
    }}
    default_type application/octet-stream;
    charset off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    access_log off;
    log_not_found off;
    open_file_cache off;
    keepalive_timeout 75s;
    keepalive_requests 100000;
    server_tokens on;
    autoindex off;
    gzip off;
    gzip_static on;
    client_max_body_size 0;
{temps}
    upstream moai_app {{ server {upstream}; keepalive 32; }}
    map $host $moai_host_root {{
        "~^(?<moai_hd>{DEPLOY})\\.(?<moai_hs>{SITE})\\.{dom}$" {e}/sites/$moai_hs/$moai_hd;
        "~^(?<moai_ls>{SITE})\\.{dom}$" {e}/live/$moai_ls;
        default {e}/none;
    }}
    # X-Moai-Deploy where the request names the deployment; production (live/<site>) sends none:
    # reading the symlink per request ($realpath_root) costs a quarter of the throughput
    map $host $moai_host_deploy {{ "~^(?<moai_hd2>{DEPLOY})\\.{SITE}\\.{dom}$" $moai_hd2; default ""; }}
    map $sent_http_content_type $moai_vary {{ "{_compressible()}" Accept-Encoding; default ""; }}
    server {{
        listen {listen} default_server;
        server_name _;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header Connection "";
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_read_timeout 3600s;
        location @app {{
{_proxy()}
        }}
        location ^~ /_api/ {{
{_proxy()}
        }}
        # folders and / (the app resolves index.html), .gz names (variants are not files of the site)
        location ~ "(/|\\.gz)$" {{
{_proxy()}
        }}
        location ~ "^/_sites/(?<moai_ps>{SITE})(?<moai_pp>/.*)$" {{
{_static(f"alias {e}/live/$moai_ps$moai_pp", '""')}
        }}
        location ~ "^/_deploys/(?<moai_pd>{DEPLOY})(?<moai_pq>/.*)$" {{
{_static(f"alias {e}/trees/$moai_pd$moai_pq", "$moai_pd")}
        }}
        location /_sites/ {{
{_proxy()}
        }}
        location /_deploys/ {{
{_proxy()}
        }}
        location / {{
{_static("root $moai_host_root", "$moai_host_deploy")}
        }}
    }}
}}
"""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class NginxProcess:
    """nginx as a child process: ``start`` waits until it listens, ``stop`` ends it."""

    def __init__(self, binary: str, edge_root: Path, config: str) -> None:
        self.binary = binary
        self.root = edge_root
        self.conf = edge_root / "nginx.conf"
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, host: str, port: int, timeout: float = 10.0) -> None:
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.root / "tmp" / kind).mkdir(parents=True, exist_ok=True)
        tmp = self.conf.with_name(f".tmp-nginx.conf-{os.getpid()}")
        tmp.write_text(self.config)
        os.replace(tmp, self.conf)
        log = self.root / "error.log"
        with contextlib.suppress(FileNotFoundError):
            log.unlink()
        self.proc = subprocess.Popen(
            [self.binary, "-e", str(log), "-c", str(self.conf), "-p", str(self.root) + "/", "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent)
        probe = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                err = (self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else "").strip()
                with contextlib.suppress(OSError):
                    err = err or log.read_text().strip()
                self.proc = None
                raise MoaiError(f"nginx exited at start (code {code}) with {self.conf}: {err or 'no message'}",
                                hint=f"Check {log}; is --port {port} free? Run without --edge to serve from Python.")
            with contextlib.suppress(OSError), socket.create_connection((probe, port), timeout=0.2):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise MoaiError(f"nginx did not listen on {host}:{port} within {timeout:.0f}s.",
                                hint=f"Check {log}.")
            time.sleep(0.02)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
