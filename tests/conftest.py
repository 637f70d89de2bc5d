"""Shared fixtures.

``local_platform`` (session scope) starts a REAL moai-adk platform: the
platform's ASGI app on uvicorn in a background thread, listening on a free
127.0.0.1 port, with a temporary data folder and credentials file. It yields a
``RunningPlatform``:

    .url          http://127.0.0.1:<port>
    .token        an admin bearer token
    .data_dir     the platform's data folder
    .credentials  the credentials file the platform wrote ({"url", "token"})
    .platform     the in-process ``Platform`` core (read-only peeking in tests)
    .environ()    {"MOAI_PLATFORM_URL": ..., "MOAI_PLATFORM_TOKEN": ...}
    .new_site()   a fresh, unique site name (the platform is shared: use one per test)
    .context(root, site=None, **kw)  a ``ProviderContext`` for ``LocalProvider``
    .client()     an ``httpx.Client`` on .url with the admin token
    .deploy(site, {path: bytes}, promote=True) -> deploy id, through the HTTP API

Use ``start_platform(tmp_path)`` (a context manager) for a private platform.

``_fakes_follow_the_specs`` (autouse) fails every test during which a fake of
tests/fakes/ (built by a fixture or by the test itself) received a request
or gave an answer outside the platform's official spec.

No silent skips: when ``CI`` is true (``.ci/run`` sets it) or ``MOAI_NO_SKIPS=1``,
a run in which any test skipped exits non-zero and lists the skipped tests.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from moai_adk.platform.app import PlatformApp
from moai_adk.platform.asgi_server import HalfCloseH11Protocol
from moai_adk.platform.paths import CREDENTIALS_ENV, TOKEN_ENV, URL_ENV
from moai_adk.platform.server import prepare
from moai_adk.platform.service import Platform
from moai_adk.providers.base import ProviderContext
from tests.fakes import take_violations

_counter = itertools.count(1)


@dataclass
class RunningPlatform:
    url: str
    token: str
    data_dir: Path
    credentials: Path
    platform: Platform
    port: int
    _sites: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def environ(self, **extra: str) -> dict[str, str]:
        return {URL_ENV: self.url, TOKEN_ENV: self.token, **extra}

    def new_site(self, prefix: str = "t") -> str:
        return f"{prefix}{next(_counter)}-{next(self._sites)}"

    def context(self, root: Path, site: str | None = None, **kwargs: Any) -> ProviderContext:
        settings = dict(kwargs.pop("settings", {}))
        settings.setdefault("site", site or self.new_site())
        environ = kwargs.pop("environ", None) or self.environ()
        return ProviderContext(root=root, settings=settings, environ=environ, **kwargs)

    def client(self, token: str | None = "admin", **kwargs: Any) -> httpx.Client:
        tok = self.token if token == "admin" else token
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kwargs)

    def deploy(self, site: str, files: dict[str, bytes], *, promote: bool = True) -> str:
        """Create ``site`` if needed, deploy ``files`` and (by default) promote; returns the deploy id."""
        manifest = {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}
        with self.client() as c:
            c.post("/_api/v1/sites", json={"name": site}).raise_for_status()
            created = c.post(f"/_api/v1/sites/{site}/deploys", json={"files": manifest})
            created.raise_for_status()
            by_hash = {manifest[p]: b for p, b in files.items()}
            for sha in created.json()["required"]:
                c.put(f"/_api/v1/blobs/{sha}", content=by_hash[sha]).raise_for_status()
            deploy_id: str = created.json()["id"]
            c.post(f"/_api/v1/deploys/{deploy_id}/finalize").raise_for_status()
            if promote:
                c.post(f"/_api/v1/sites/{site}/promote", json={"deploy_id": deploy_id}).raise_for_status()
        return deploy_id


@contextmanager
def start_platform(tmp: Path, *, cache_bytes: int = 64 << 20) -> Iterator[RunningPlatform]:
    """Run a platform on a free loopback port until the block exits."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle/delayed-ACK stalls
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp / "platform-data"
    creds = tmp / "config" / "platform.json"
    prepared = prepare(data_dir, url, {CREDENTIALS_ENV: str(creds)})
    assert prepared.token
    platform = Platform(data_dir, cache_bytes=cache_bytes)
    config = uvicorn.Config(PlatformApp(platform), log_level="warning", lifespan="off", access_log=False,
                            http=HalfCloseH11Protocol)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test platform did not start")
        time.sleep(0.01)
    try:
        yield RunningPlatform(url=url, token=prepared.token, data_dir=data_dir, credentials=creds,
                              platform=platform, port=port)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        platform.close()


@pytest.fixture(scope="session")
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    with start_platform(tmp_path_factory.mktemp("local-platform")) as running:
        yield running


@pytest.fixture(autouse=True)
def _fakes_follow_the_specs() -> Iterator[None]:
    take_violations()  # a violation left over from outside any test is not this test's
    yield
    problems = take_violations()
    if problems:
        pytest.fail("a fake saw a request or gave an answer outside the official API spec "
                    "(tests/fakes/specs/, see docs/testing.md):\n  " + "\n  ".join(problems), pytrace=False)


def _no_skips() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get("MOAI_NO_SKIPS") == "1"


def _skipped(config: pytest.Config) -> list[Any]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return list(reporter.stats.get("skipped", [])) if reporter is not None else []


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    skipped = _skipped(config)
    if _no_skips() and skipped and not hasattr(config, "workerinput"):
        terminalreporter.write_sep("=", f"{len(skipped)} skipped test(s): a CI run allows none", red=True, bold=True)
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            terminalreporter.write_line(f"{report.nodeid}: {reason}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _no_skips() and not hasattr(session.config, "workerinput") and _skipped(session.config):
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
