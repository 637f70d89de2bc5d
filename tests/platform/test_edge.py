"""The nginx edge: ``moai-adk platform serve --edge nginx`` (nginx in front, the app behind).

A response nginx sent from a deployment tree carries ``Last-Modified`` and
nginx's own ETag (``"<mtime hex>-<size hex>"``); one the app sent carries the
app's ETag (32 hex digits of the sha256) and no ``Last-Modified``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import MoaiError, UsageError
from moai_adk.platform.edge_nginx import NGINX_CANDIDATES, NginxProcess, Worker, find_nginx, nginx_config
from moai_adk.platform.service import Platform
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.local import LocalProvider
from tests.conftest import RunningPlatform
from tests.platform.conftest import start_serve

API = "/_api/v1"
APP_ETAG = re.compile(r'^"[0-9a-f]{32}(-gz|-br)?"$')

try:
    NGINX: str | None = find_nginx()
except UsageError:
    NGINX = None
NGINX_MISSING = ("nginx is not installed, and the edge tests need it: scripts/test installs it "
                 "(`apt-get install -y nginx`) when it runs as root; otherwise install it yourself")


@pytest.fixture
def nginx_binary() -> str:
    if NGINX is None:
        pytest.fail(NGINX_MISSING, pytrace=False)
    return NGINX


needs_nginx = pytest.mark.usefixtures("nginx_binary")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def open_folder() -> Iterator[Path]:
    """A folder nginx's workers (``nobody`` when the tests run as root) may pass through; pytest's are 0700."""
    base = Path(tempfile.mkdtemp(prefix="moai-edge-"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    with open_folder() as base:
        yield base


@contextmanager
def start_edge(tmp: Path) -> Iterator[tuple[RunningPlatform, subprocess.Popen[str]]]:
    """``moai-adk platform serve --edge nginx`` on a free port; stopped with SIGTERM (the serve process only)."""
    with start_serve(tmp, "--edge", "nginx", stop=signal.SIGTERM, group=False) as started:
        yield started


def nginx_pid(data_dir: Path) -> int:
    return int((data_dir / "edge" / "nginx.pid").read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def edge() -> Iterator[RunningPlatform]:
    if NGINX is None:
        pytest.fail(NGINX_MISSING, pytrace=False)
    with open_folder() as base, start_edge(base) as (running, _):
        yield running


def from_nginx(r: httpx.Response) -> bool:
    return "last-modified" in r.headers and not APP_ETAG.match(r.headers.get("etag", '""'))


def from_app(r: httpx.Response) -> bool:
    return "last-modified" not in r.headers


SITE_FILES = {"index.html": b"<h1>home</h1>", "about.html": b"<p>about</p>", "404.html": b"custom not found",
              "css/site.css": b"body { color: red }\n" * 60, "docs/index.html": b"docs home", "logo.png": b"\x89PNG1"}


@needs_nginx
def test_plain_files_come_from_nginx_on_every_form(edge: RunningPlatform) -> None:
    site = edge.new_site("plain")
    dep = edge.deploy(site, SITE_FILES)
    # X-Moai-Deploy where the request names the deployment; none from nginx for production
    forms = [({"host": f"{site}.localhost"}, "", None), ({"host": f"{dep}.{site}.localhost"}, "", dep),
             ({}, f"/_sites/{site}", None), ({}, f"/_deploys/{dep}", dep)]
    for headers, prefix, named in forms:
        r = httpx.get(f"{edge.url}{prefix}/css/site.css", headers={**headers, "accept-encoding": "identity"})
        assert r.status_code == 200 and from_nginx(r), (prefix, r.headers)
        assert r.content == SITE_FILES["css/site.css"]
        assert r.headers["content-type"] == "text/css; charset=utf-8"
        assert r.headers.get("x-moai-deploy") == named
        assert r.headers["cache-control"] == "public, max-age=0, must-revalidate"
        png = httpx.get(f"{edge.url}{prefix}/logo.png", headers=headers)
        assert png.headers["content-type"] == "image/png" and png.content == SITE_FILES["logo.png"]
        assert r.headers["vary"] == "Accept-Encoding" and "vary" not in png.headers  # as the app marks them
        gz = httpx.get(f"{edge.url}{prefix}/css/site.css", headers={**headers, "accept-encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip" and gz.content == SITE_FILES["css/site.css"]
        head = httpx.head(f"{edge.url}{prefix}/about.html", headers=headers)
        assert head.status_code == 200 and from_nginx(head) and head.headers["content-length"] == "12"
        part = httpx.get(f"{edge.url}{prefix}/about.html", headers={**headers, "range": "bytes=3-7"})
        assert part.status_code == 206 and part.content == b"about"
    tree = edge.data_dir / "edge" / "trees" / dep
    blob = edge.platform.store.path(hashlib.sha256(SITE_FILES["about.html"]).hexdigest())
    assert os.stat(tree / "about.html").st_ino == os.stat(blob).st_ino  # a hard link, not a copy


@needs_nginx
def test_folders_clean_urls_and_misses_go_to_the_app(edge: RunningPlatform) -> None:
    site = edge.new_site("app")
    dep = edge.deploy(site, SITE_FILES)
    host = {"host": f"{site}.localhost"}
    cases = [("/", 200, b"<h1>home</h1>"), ("/about", 200, b"<p>about</p>"), ("/docs/", 200, b"docs home"),
             ("/docs", 200, b"docs home"), ("/missing", 404, b"custom not found"),
             ("/css/site.css.gz", 404, b"custom not found"), ("/css/", 404, b"custom not found")]
    for path, status, body in cases:
        r = httpx.get(f"{edge.url}{path}", headers=host)
        assert (r.status_code, r.content) == (status, body), path
        assert from_app(r) and APP_ETAG.match(r.headers["etag"]), (path, r.headers)
        assert r.headers["x-moai-deploy"] == dep
        p = httpx.get(f"{edge.url}/_sites/{site}{path}")
        assert (p.status_code, p.content) == (status, body) and from_app(p), path
    assert httpx.post(f"{edge.url}/about.html", headers=host).status_code == 405  # the app's answer
    assert httpx.get(f"{edge.url}/_sites/{site}").status_code == 308
    other = httpx.get(f"{edge.url}/about.html", headers={"host": f"{dep}.not-{site}.localhost"})
    assert other.status_code == 404 and b"No such site" in other.content  # the deploy host form checks the site
    assert httpx.get(f"{edge.url}/about.html", headers={"host": "example.com"}).status_code == 404


@needs_nginx
def test_a_deployment_with_rules_is_served_by_the_app(edge: RunningPlatform) -> None:
    site = edge.new_site("rules")
    dep = edge.deploy(site, {"index.html": b"home", "new.html": b"the new page", "_redirects": b"/old /new 301\n",
                             "_headers": b"/new.html\n  X-Rule: yes\n"})
    assert not (edge.data_dir / "edge" / "trees" / dep).exists()
    assert not (edge.data_dir / "edge" / "live" / site).exists()
    r = httpx.get(f"{edge.url}/old?x=1", headers={"host": f"{site}.localhost"})
    assert r.status_code == 301 and r.headers["location"] == "/new?x=1"
    page = httpx.get(f"{edge.url}/new.html", headers={"host": f"{site}.localhost"})
    assert page.content == b"the new page" and page.headers["x-rule"] == "yes" and from_app(page)
    assert httpx.get(f"{edge.url}/_redirects", headers={"host": f"{site}.localhost"}).status_code == 404


@needs_nginx
def test_promote_and_rollback_switch_at_once_without_errors(edge: RunningPlatform) -> None:
    site = edge.new_site("switch")
    ids = [edge.deploy(site, {"a.txt": f"a marker-{k}".encode(), "b.txt": f"b marker-{k}".encode()},
                       promote=(k == 0)) for k in range(2)]
    stop = threading.Event()
    problems: list[str] = []
    served: list[int] = [0, 0]

    def reader() -> None:
        with httpx.Client(base_url=edge.url, headers={"host": f"{site}.localhost"}) as c:
            while not stop.is_set():
                for name in ("a.txt", "b.txt"):
                    r = c.get(f"/{name}")
                    if r.status_code != 200:
                        problems.append(f"{name}: {r.status_code}")
                        continue
                    if r.text not in (f"{name[0]} marker-0", f"{name[0]} marker-1"):  # one whole file
                        problems.append(f"{name}: {r.text!r}")
                    served[from_nginx(r)] += 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        with edge.client() as c, httpx.Client(base_url=edge.url, headers={"host": f"{site}.localhost"}) as probe:
            for n in range(30):
                if n % 2 == 0:
                    r = c.post(f"{API}/sites/{site}/promote", json={"deploy_id": ids[1]})
                    want = "marker-1"
                else:
                    r = c.post(f"{API}/sites/{site}/rollback", json={})
                    want = "marker-0"
                assert r.status_code == 200, r.text
                for name in ("a.txt", "b.txt"):  # the very next request sees the switch
                    assert probe.get(f"/{name}").text == f"{name[0]} {want}"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert problems == []
    assert served[1] > 0 and served[1] > served[0]  # nginx answered (nearly) all of them


@needs_nginx
def test_a_canary_split_falls_back_to_the_app(edge: RunningPlatform) -> None:
    site = edge.new_site("canary")
    stable = edge.deploy(site, {"v.txt": b"stable"})
    canary = edge.deploy(site, {"v.txt": b"canary"}, promote=False)
    live = edge.data_dir / "edge" / "live" / site
    assert live.is_symlink() and os.readlink(live).endswith(stable)
    with edge.client() as c:
        r = c.put(f"{API}/sites/{site}/traffic", json={"weights": {stable: 70, canary: 30}})
        assert r.status_code == 200, r.text
        assert not live.exists()
        for bucket, want in ((0, "stable"), (69, "stable"), (70, "canary"), (99, "canary")):
            got = httpx.get(f"{edge.url}/v.txt", headers={"host": f"{site}.localhost",
                                                         "cookie": f"moai_bucket={bucket}"})
            assert got.text == want and from_app(got) and "Cookie" in got.headers["vary"], bucket
        fresh = httpx.get(f"{edge.url}/v.txt", headers={"host": f"{site}.localhost"})
        assert "moai_bucket=" in fresh.headers["set-cookie"]
        assert c.put(f"{API}/sites/{site}/traffic", json={"weights": {}}).status_code == 200
    assert os.readlink(live).endswith(stable)
    back = httpx.get(f"{edge.url}/v.txt", headers={"host": f"{site}.localhost"})
    assert back.text == "stable" and from_nginx(back)


@needs_nginx
def test_deploy_through_the_edge_with_the_local_provider(edge: RunningPlatform, tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("provider home")
    (root / "big.bin").write_bytes(os.urandom(3 << 20))  # larger than nginx's default body limit
    provider = LocalProvider(edge.context(tmp_path))
    dep = provider.deploy(take_snapshot(root), DeployTarget(production=True))
    provider.promote(dep.id)
    r = httpx.get(f"{edge.url}/_sites/{provider.site}/big.bin")
    assert r.content == (root / "big.bin").read_bytes() and from_nginx(r)
    assert httpx.get(f"{edge.url}/_sites/{provider.site}/").text == "provider home"


@needs_nginx
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_serve_stops_nginx(open_tmp: Path, sig: signal.Signals) -> None:
    with start_edge(open_tmp) as (running, proc):
        pid = nginx_pid(running.data_dir)
        assert alive(pid)
        os.kill(proc.pid, sig)  # the serve process only, not its group
        proc.wait(timeout=15)
        assert wait_gone(pid), f"nginx {pid} outlived the serve process"
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{running.url}{API}/health", timeout=2)


@needs_nginx
def test_existing_deployments_are_materialized_at_start(open_tmp: Path) -> None:
    with start_edge(open_tmp) as (running, _):
        site = running.new_site("restart")
        dep = running.deploy(site, {"x.txt": b"kept"})
    shutil.rmtree(open_tmp / "platform-data" / "edge")
    with start_edge(open_tmp) as (running, _):
        r = httpx.get(f"{running.url}/x.txt", headers={"host": f"{site}.localhost"})
        assert r.text == "kept" and from_nginx(r)
        named = httpx.get(f"{running.url}/_deploys/{dep}/x.txt")
        assert named.text == "kept" and from_nginx(named) and named.headers["x-moai-deploy"] == dep


def test_missing_nginx_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        find_nginx({"PATH": str(tmp_path)}, candidates=())
    assert "apt-get install nginx" in (info.value.hint or "")
    if NGINX is not None:
        assert find_nginx({"PATH": str(tmp_path)}) in NGINX_CANDIDATES


def test_materialize_refuses_what_nginx_would_serve_wrong(tmp_path: Path) -> None:
    platform = Platform(tmp_path / "data", edge=True)
    try:
        assert platform.edge is not None
        shas = {}
        for body in (b"a", b"b" * 500):
            sha = hashlib.sha256(body).hexdigest()
            platform.store.put(sha, body)
            shas[body] = sha
        a, b = shas[b"a"], shas[b"b" * 500]
        ok = platform.edge.materialize("aaaaaaaaaa", "s", {"x.txt": [a, 1, 0, 0]})
        assert ok and (tmp_path / "data/edge/sites/s/aaaaaaaaaa/x.txt").read_bytes() == b"a"
        assert not platform.edge.materialize("bbbbbbbbbb", "s", {"x": [a, 1, 0, 0], "x/y": [b, 500, 0, 0]})
        assert not platform.edge.materialize("cccccccccc", "s", {"x.js": [a, 1, 0, 0], "x.js.gz": [b, 500, 0, 0]})
        assert not platform.edge.materialize("dddddddddd", "s", {"vercel.json": [a, 1, 0, 0]})
        assert sorted(p.name for p in (tmp_path / "data/edge/trees").iterdir()) == ["aaaaaaaaaa"]  # no temp left
        platform.edge.set_live("s", "bbbbbbbbbb")  # no tree: the app answers
        assert not (tmp_path / "data/edge/live/s").exists()
    finally:
        platform.close()


def test_config_names_the_hosts_and_keeps_file_cache_off(tmp_path: Path) -> None:
    text = nginx_config(tmp_path, "127.0.0.1", 8080, "127.0.0.1:9000", "example.test")
    assert "open_file_cache off;" in text and "sendfile on;" in text and "worker_processes 1;" in text
    assert "example\\.test$" in text and "listen 127.0.0.1:8080 default_server;" in text
    assert "server 127.0.0.1:9000;" in text and "autoindex off;" in text


@needs_nginx
def test_nginx_dying_at_start_is_a_clear_error(tmp_path: Path) -> None:
    assert NGINX is not None
    port = _free_port()
    bad = nginx_config(tmp_path, "127.0.0.1", port, "127.0.0.1:1", "localhost").replace("sendfile on;", "sendfile;")
    with pytest.raises(MoaiError) as info:
        NginxProcess(NGINX, tmp_path, bad).start("127.0.0.1", port)
    assert "nginx exited at start" in info.value.message and "sendfile" in info.value.message
    assert str(tmp_path / "error.log") in (info.value.hint or "")


def _uid(pid: int) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("Uid:"))
    return int(line.split()[1])  # the real uid


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


def _as_worker(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """``argv`` as the account nginx's workers use (``nobody`` under root; this user otherwise)."""
    if os.geteuid() != 0:
        return subprocess.run(list(argv), capture_output=True, timeout=30)
    return subprocess.run(["runuser", "-u", "nobody", "--", *argv], capture_output=True, timeout=30)


@needs_nginx
def test_nginx_workers_do_not_run_as_root(edge: RunningPlatform) -> None:
    site = edge.new_site("unpriv")
    dep = edge.deploy(site, {"index.html": b"<h1>served by a worker</h1>"})
    r = httpx.get(f"{edge.url}/_deploys/{dep}/index.html")
    assert r.status_code == 200 and from_nginx(r) and r.content == b"<h1>served by a worker</h1>"
    workers = _children(nginx_pid(edge.data_dir))
    assert workers, "nginx has no worker process"
    expected = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert {_uid(w) for w in workers} == {expected}


@needs_nginx
def test_the_worker_reads_what_is_served_and_nothing_else(edge: RunningPlatform) -> None:
    site = edge.new_site("reach")
    body = b"<p>public page</p>"
    dep = edge.deploy(site, {"page.html": body})
    sha = hashlib.sha256(body).hexdigest()
    data = edge.data_dir
    served = _as_worker("cat", str(data / "edge" / "trees" / dep / "page.html"))
    assert served.returncode == 0 and served.stdout == body
    if os.geteuid() != 0:
        return  # the workers are this user, who owns the data folder
    for private in (data / "meta.sqlite3", data / "meta.sqlite3-wal", data / "secrets.key",
                    data / "blobs" / sha[:2] / sha[2:4] / sha):
        r = _as_worker("cat", str(private))
        assert r.returncode != 0 and r.stdout == b"", private
    for folder in (data, data / "blobs", data / "edge" / "trees"):
        assert _as_worker("ls", str(folder)).returncode != 0, folder  # pass through, never list


@needs_nginx
def test_a_data_folder_the_worker_cannot_reach_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() != 0:  # the workers are this user: nothing to refuse, the edge starts
        with start_edge(tmp_path) as (running, _):
            assert httpx.get(f"{running.url}{API}/health").status_code == 200
        return
    env = {**os.environ, "MOAI_PLATFORM_CREDENTIALS": str(tmp_path / "creds.json")}
    r = subprocess.run([sys.executable, "-m", "moai_adk", "platform", "serve", "--edge", "nginx", "--port",
                        str(_free_port()), "--data", str(tmp_path / "data")],
                       env=env, capture_output=True, text=True, timeout=60)
    blocked = next(p for p in reversed(tmp_path.parents) if not os.stat(p).st_mode & 0o001)
    assert r.returncode == 2, r.stderr
    assert "nobody" in r.stderr and f"cannot pass through {blocked}" in r.stderr and "Hint:" in r.stderr


def test_config_names_the_worker_account_only_when_asked() -> None:
    worker = Worker("nobody", "nogroup", 65534, 65534)
    assert "user nobody nogroup;" in nginx_config(Path("/x"), "127.0.0.1", 80, "127.0.0.1:9", "localhost", worker)
    assert "\nuser " not in nginx_config(Path("/x"), "127.0.0.1", 80, "127.0.0.1:9", "localhost")
