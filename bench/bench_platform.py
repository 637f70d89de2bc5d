"""Benchmark the local platform.

1. promote/rollback latency (p50/p95) on a 20,000-file deployment, 100
   switches, while reader threads poll production and count errors and
   responses whose body does not belong to the deployment that sent it;
2. requests/s for a 5 KB file with ``wrk -t2 -c64 -d10s``: our platform
   (``platform serve --server granian``: RSGI, 1 worker) vs nginx (1 worker,
   sendfile on) serving the same file, measured in the same run, and the
   ratio; plus the same platform app on granian's ASGI interface, no-op
   ASGI/RSGI apps (the Python ceilings) and the in-process Python time per
   request of both adapters; and ``platform serve --edge nginx`` (nginx in
   front sends the file from the deployment's hard-linked tree, the app
   behind it on a loopback port) on the same data, with its ratio to nginx;
3. peak RSS of the platform processes while serving that site.

Installs wrk and nginx with apt-get when missing. Run:

    .venv/bin/python bench/bench_platform.py [--files 20000] [--duration 10] [--edge nginx|none]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.providers.base import DeployTarget, ProviderContext
from moai_adk.providers.local import LocalProvider

SITE = "bench"
FIVE_KB = ("<!doctype html><title>bench</title>" + "<p>moai-adk local platform benchmark page</p>\n" * 120)[:5120]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_tools() -> None:
    missing = [t for t in ("wrk", "nginx") if shutil.which(t) is None and not Path("/usr/sbin/" + t).exists()]
    if not missing:
        return
    print(f"installing {' '.join(missing)} with apt-get ...", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk", "nginx"], check=True, env=env)


def make_site(root: Path, files: int, marker: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files - 3):
        sub = root / f"d{i // 500:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"page{i}.html").write_text(f"<p>page {i} of the benchmark site</p>\n" * (1 + i % 20))
    (root / "index.html").write_text(f"<h1>{marker}</h1>")
    (root / "marker.js").write_text(f"var marker = '{marker}';")
    (root / "file5k.html").write_text(FIVE_KB)


def start_platform(data: Path, config: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config)}
    proc = subprocess.Popen([sys.executable, "-m", "moai_adk", "platform", "serve", "--port", str(port),
                             "--data", str(data), "--server", "granian", *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("platform did not start: " + (proc.stderr.read() if proc.stderr else b"").decode())


def tree_pids(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    kids = [int(x) for x in out.split()]
    return [pid] + [p for k in kids for p in tree_pids(k)]


def rss_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def switch_bench(provider: LocalProvider, url: str, a: str, b: str, markers: dict[str, str]) -> dict[str, float]:
    stop = threading.Event()
    stats = {"reads": 0, "errors": 0, "mixed": 0}
    lock = threading.Lock()

    def reader() -> None:
        with httpx.Client(base_url=url) as c:
            while not stop.is_set():
                for path in ("/", "/marker.js"):
                    try:
                        r = c.get(f"/_sites/{SITE}{path}")
                        ok = r.status_code == 200
                        mixed = ok and markers.get(r.headers.get("x-moai-deploy", "")) not in r.text
                    except httpx.HTTPError:
                        ok, mixed = False, False
                    with lock:
                        stats["reads"] += 1
                        stats["errors"] += not ok
                        stats["mixed"] += mixed

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    times: list[float] = []
    for n in range(100):
        t0 = time.perf_counter()
        if n % 2 == 0:
            provider.promote(b if n % 4 == 0 else a)
        else:
            provider.rollback()
        times.append((time.perf_counter() - t0) * 1000)
    stop.set()
    for t in threads:
        t.join()
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[94], "max_ms": times[-1], **stats}


def wrk(url: str, duration: int, host: str | None = None) -> float:
    cmd = ["wrk", "-t2", "-c64", f"-d{duration}s"]
    if host:
        cmd += ["-H", f"Host: {host}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise SystemExit("wrk printed no Requests/sec:\n" + out)


NOOP_APP = """
BODY = open(__file__.replace("noop_app.py", "file5k.html"), "rb").read()
HEADERS = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


RHEADERS = [("content-type", "text/html; charset=utf-8")]


async def rsgi_app(scope, proto):
    proto.response_bytes(200, RHEADERS, BODY)
"""


def noop_ceiling(tmp: Path, duration: int, interface: str = "asgi") -> float:
    """req/s of a do-nothing app answering the same 5 KB from memory on granian (1 worker):
    the most any Python app on that interface can reach on this machine."""
    folder = tmp / f"noop-{interface}"
    folder.mkdir()
    (folder / "noop_app.py").write_text(NOOP_APP)
    (folder / "file5k.html").write_text(FIVE_KB)
    port = free_port()
    granian = str(Path(sys.executable).with_name("granian"))
    proc = subprocess.Popen([granian, "--interface", interface, "--port", str(port), "--workers", "1", "--no-ws",
                             "--log-level", "warning", "noop_app:app" if interface == "asgi" else "noop_app:rsgi_app"], cwd=folder, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        wrk(f"http://127.0.0.1:{port}/", 2)
        return wrk(f"http://127.0.0.1:{port}/", duration)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def platform_behind_nginx(data: Path, config: Path, duration: int) -> float:
    """req/s of ``platform serve --edge nginx`` on the same data: nginx sends the 5 KB file itself."""
    port = free_port()
    proc = start_platform(data, config, port, "--edge", "nginx")
    url, host = f"http://127.0.0.1:{port}/file5k.html", f"{SITE}.localhost:{port}"
    try:
        first = httpx.get(url, headers={"host": host})
        if first.status_code != 200 or "last-modified" not in first.headers:
            raise SystemExit(f"the edge did not send file5k.html itself: {first.status_code} {dict(first.headers)}")
        wrk(url, 2, host)
        return wrk(url, duration, host)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def platform_on_asgi(data: Path, duration: int) -> float:
    """req/s of the same platform app and data on granian's ASGI interface (what uvicorn also speaks)."""
    port = free_port()
    granian = str(Path(sys.executable).with_name("granian"))
    env = {**os.environ, "MOAI_PLATFORM_DATA": str(data)}
    proc = subprocess.Popen([granian, "--interface", "asgi", "--port", str(port), "--workers", "1", "--no-ws",
                             "--log-level", "warning", "--factory", "moai_adk.platform.app:app_from_env"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, host = f"http://127.0.0.1:{port}/file5k.html", f"{SITE}.localhost:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(url, headers={"host": host}, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        wrk(url, 2, host)
        return wrk(url, duration, host)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


class _Proto:
    """Stands in for granian's RSGI protocol object: takes the answer, sends nothing."""

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status

    def response_empty(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.status = status


class _Headers(dict):  # type: ignore[type-arg]
    def items(self):  # type: ignore[no-untyped-def, override]
        return list(super().items())


class _Scope:
    proto, method, path, query_string = "http", "GET", "/file5k.html", ""
    headers = _Headers({"host": f"{SITE}.localhost:8787", "user-agent": "wrk", "accept": "*/*"})


def python_cost(data: Path, rounds: int = 100_000) -> tuple[float, float]:
    """µs of Python per request of the serving path in-process (no server, no socket) for the
    5 KB file through the RSGI and the ASGI adapters of the same app: what the server's own
    per-request cost comes on top of."""
    from moai_adk.platform.app import create_app

    app = create_app(data)
    scope, proto = _Scope(), _Proto()
    asgi_scope = {"type": "http", "method": "GET", "path": "/file5k.html", "query_string": b"",
                  "headers": [(b"host", f"{SITE}.localhost:8787".encode()), (b"user-agent", b"wrk"),
                              (b"accept", b"*/*")]}

    async def send(message: object) -> None:
        return None

    def drive(make: object) -> float:
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(rounds):
                coro = make()  # type: ignore[operator]
                try:
                    coro.send(None)
                except StopIteration:
                    pass
            best = min(best, (time.perf_counter() - t0) / rounds * 1e6)
        return best

    try:
        rsgi = drive(lambda: app.__rsgi__(scope, proto))
        assert proto.status == 200, "the RSGI adapter did not answer 200"
        asgi = drive(lambda: app(asgi_scope, None, send))
    finally:
        app.platform.close()
    return rsgi, asgi


def nginx(root: Path, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fastcgi;
  uwsgi_temp_path {tmp}/nginx-uwsgi;
  scgi_temp_path {tmp}/nginx-scgi;
  types {{ text/html html; }}
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp)], start_new_session=True,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/file5k.html", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("nginx did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--edge", choices=["nginx", "none"], default="nginx",
                    help="also measure `platform serve --edge nginx` (default) or skip it")
    args = ap.parse_args()
    ensure_tools()
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio (install uvloop for ~1.4x on serving)"
    print(f"event loop available to granian: {loop}")
    with tempfile.TemporaryDirectory(prefix="moai-bench-") as tmpdir:
        tmp = Path(tmpdir)
        tmp.chmod(0o755)  # nginx workers drop privileges and must read the site
        port = free_port()
        proc = start_platform(tmp / "data", tmp / "config", port)
        url = f"http://127.0.0.1:{port}"
        try:
            token = json.loads((tmp / "config" / "moai-adk" / "platform.json").read_text())["token"]
            ctx = ProviderContext(root=tmp, settings={"site": SITE}, environ={"MOAI_PLATFORM_URL": url,
                                                                             "MOAI_PLATFORM_TOKEN": token})
            provider = LocalProvider(ctx)
            ids = []
            markers: dict[str, str] = {}
            for name in ("A", "B"):
                root = tmp / f"site{name}"
                make_site(root, args.files, f"deployment-{name}")
                t0 = time.perf_counter()
                dep = provider.deploy(take_snapshot(root), DeployTarget())
                took = time.perf_counter() - t0
                print(f"deploy {name}: {args.files} files, uploaded {dep.stats.files_uploaded} in {took:.2f} s")
                ids.append(dep.id)
                markers[dep.id] = f"deployment-{name}"
            provider.promote(ids[0])
            sw = switch_bench(provider, url, ids[0], ids[1], markers)
            print(f"promote/rollback x100 on {args.files} files: p50 {sw['p50_ms']:.1f} ms, p95 {sw['p95_ms']:.1f} ms,"
                  f" max {sw['max_ms']:.1f} ms; readers: {sw['reads']:.0f} reads, {sw['errors']:.0f} errors,"
                  f" {sw['mixed']:.0f} mixed")
            host = f"{SITE}.localhost:{port}"
            wrk(f"{url}/file5k.html", 2, host)  # warm-up
            ours = wrk(f"{url}/file5k.html", args.duration, host)
            print(f"platform (granian RSGI, 1 worker): {ours:,.0f} req/s", flush=True)
            pids = tree_pids(proc.pid)
            peak = {pid: rss_kb(pid, "VmHWM") for pid in pids}
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        on_asgi = platform_on_asgi(tmp / "data", args.duration)
        edge = platform_behind_nginx(tmp / "data", tmp / "config", args.duration) if args.edge == "nginx" else 0.0
        py_rsgi, py_asgi = python_cost(tmp / "data")
        nport = free_port()
        ng = nginx(tmp / "siteA", nport, tmp)
        try:
            wrk(f"http://127.0.0.1:{nport}/file5k.html", 2)
            theirs = wrk(f"http://127.0.0.1:{nport}/file5k.html", args.duration)
        finally:
            os.killpg(ng.pid, signal.SIGTERM)
            ng.wait(10)
        ceiling = noop_ceiling(tmp, args.duration)
        rsgi = noop_ceiling(tmp, args.duration, "rsgi")
        print(f"5 KB file, wrk -t2 -c64 -d{args.duration}s: platform (granian RSGI, 1 worker) {ours:,.0f} req/s, "
              f"nginx (1 worker, sendfile) {theirs:,.0f} req/s, ratio {ours / theirs:.2f}x")
        if edge:
            print(f"  platform serve --edge nginx (nginx sends the file, the app behind it): {edge:,.0f} req/s, "
                  f"ratio {edge / theirs:.2f}x nginx ({edge / ours:.2f}x the Python edge)")
        print(f"  the same platform on granian's ASGI interface: {on_asgi:,.0f} req/s = {on_asgi / theirs:.2f}x nginx; "
              f"RSGI is {ours / on_asgi:.2f}x ASGI")
        print(f"  Python per request in-process (serving path, 5 KB file): RSGI adapter {py_rsgi:.2f} µs, "
              f"ASGI adapter {py_asgi:.2f} µs")
        print(f"  no-op RSGI app on granian (same 5 KB from memory): {rsgi:,.0f} req/s = {rsgi / theirs:.2f}x nginx; "
              f"the platform reaches {ours / rsgi:.2f}x of that ceiling")
        print(f"  no-op ASGI app on granian: {ceiling:,.0f} req/s = {ceiling / theirs:.2f}x nginx; "
              f"the platform on ASGI reaches {on_asgi / ceiling:.2f}x of it")
        print("peak RSS (VmHWM) of platform processes: "
              + ", ".join(f"pid {p}: {kb / 1024:.0f} MB" for p, kb in peak.items())
              + f"; largest {max(peak.values()) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
