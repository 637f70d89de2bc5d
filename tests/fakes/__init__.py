"""Stateful fakes of the hosting platforms' REST APIs.

A fake is one ``FakeApi`` object: its ``handle(request) -> response`` is a
plain function over ``httpx.Request`` (so ``fake.transport()`` is an
``httpx.MockTransport``), and ``fake.serve()`` puts the same handler behind a
real HTTP server on 127.0.0.1 for benchmarks and CLI runs. Every request is
recorded (``fake.requests``) so tests can count uploads.

The spec layer: every request a route receives is checked against the
platform's official spec (the in-repo subset in ``tests/fakes/specs/``, see
``spec_check``) before the route runs, and the answer the route gives is
checked against the response schema of its status code. A request outside
the spec is answered 400 "spec violation"; either kind of violation is kept
in ``fake.violations``. Every fake is registered when it is built, and the
autouse fixture in ``tests/conftest.py`` fails the test during which a fake
recorded a violation (a test that sends a bad request on purpose clears
``fake.violations`` after asserting on it).

``Faults`` injects what real APIs do under load: latency, bursts of 429
with ``Retry-After``, random 429/503 answers on chosen paths.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx

Handler = Callable[..., httpx.Response]

_LIVE: weakref.WeakSet[FakeApi] = weakref.WeakSet()  # every fake built in this process


@dataclass
class Recorded:
    method: str
    path: str  # decoded path without the API base path
    raw_path: str  # as sent, percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ctype(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def authorization(self) -> str:
        return self.headers.get("authorization", "")


@dataclass
class Faults:
    """Trouble to inject on requests whose path matches ``paths`` (regexes)."""

    latency: float = 0.0  # seconds added to every request
    rate_429: float = 0.0  # share of matching requests answered 429
    rate_503: float = 0.0  # share of matching requests answered 503
    burst_429: int = 0  # the next N matching requests are answered 429
    retry_after: int = 1
    paths: tuple[str, ...] = ()
    seed: int = 1234

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.injected = 0

    def pick(self, path: str) -> int | None:
        """The status to answer instead of serving ``path``, or ``None``."""
        if not self.paths or not any(re.search(p, path) for p in self.paths):
            return None
        with self._lock:
            if self.burst_429 > 0:
                self.burst_429 -= 1
                self.injected += 1
                return 429
            roll = self._rng.random()
            if roll < self.rate_429:
                self.injected += 1
                return 429
            if roll < self.rate_429 + self.rate_503:
                self.injected += 1
                return 503
        return None


def json_response(status: int, data: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if data is None and status == 204:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=data, headers=headers)


class ApiError(Exception):
    """Raised by a route to answer ``self.error(status, code, message)``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeApi:
    """Routing, auth, recording, faults and the spec layer shared by the platform fakes."""

    base_path = ""  # e.g. "/api/v1" for Netlify
    label = "fake"  # the platform: its spec is tests/fakes/specs/<label>.json
    check_spec = True  # every test checks; bench/ turns it off so only the client is measured

    def __init__(self, *, tokens: tuple[str, ...] = ("test-token",), faults: Faults | None = None) -> None:
        self.tokens = set(tokens)
        self.faults = faults or Faults()
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.templates: list[tuple[str, str]] = []  # (method, path template) of each route, for the spec coverage test
        self.raw_answer: tuple[int, bytes, str] | None = None  # (status, body, content-type) for the next request
        self.violations: list[str] = []
        _LIVE.add(self)

    @property
    def spec(self) -> Any:
        from .spec_check import load

        return load(self.label)

    @property
    def calls(self) -> list[Recorded]:
        return self.requests

    # -- routing -------------------------------------------------------------
    def route(self, method: str, pattern: str, fn: Handler) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern).replace("{path}", "(?P<path>.+)") + "$"
        self.routes.append((method, re.compile(regex), fn))
        self.templates.append((method, pattern))

    def route_tail(self, method: str, pattern: str, fn: Handler) -> None:
        """Like ``route`` but the last ``{name}`` swallows slashes (file paths)."""
        head, _, last = pattern.rpartition("{")
        name = last.rstrip("}")
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", head) + f"(?P<{name}>.+)$"
        self.routes.append((method, re.compile(regex), fn))
        self.templates.append((method, pattern))

    def error(self, status: int, code: str, message: str, **extra: Any) -> httpx.Response:
        return json_response(status, {"error": {"code": code, "message": message, **extra}})

    def handle(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        path = request.url.path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path):]
        query = parse_qs(request.url.query.decode("ascii"), keep_blank_values=True)
        rec = Recorded(request.method, path, raw_path, query, dict(request.headers), request.read())
        with self.lock:
            self.requests.append(rec)
        if self.faults.latency:
            time.sleep(self.faults.latency)
        response = self._dispatch(rec, request)
        rec.status = response.status_code
        return response

    def _dispatch(self, rec: Recorded, request: httpx.Request) -> httpx.Response:
        if self.raw_answer is not None:
            status, body, ctype = self.raw_answer
            self.raw_answer = None
            return httpx.Response(status, content=body, headers={"content-type": ctype})
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.tokens:
            return self.error(401 if auth else 403, "forbidden", "Not authorized: the token is missing, invalid or revoked.")
        fault = self.faults.pick(rec.path)
        if fault == 429:
            return httpx.Response(429, json={"error": {"code": "rate_limited", "message": "Too many requests"}},
                                  headers={"Retry-After": str(self.faults.retry_after)})
        if fault == 503:
            return self.error(503, "unavailable", "Service unavailable, try again")
        return self.call_route(rec)

    # -- the spec layer ------------------------------------------------------
    def call_route(self, rec: Recorded) -> httpx.Response:
        """Check ``rec`` against the spec, run its route, check the answer against the spec."""
        if not self.check_spec:  # benchmarks only: the fake's own checking would be timed with the client
            return self._route(rec)
        op_id, problems = self.spec.check_request(rec)
        if problems:
            self.violate([f"request {p}" for p in problems])
            return self.error(400, "bad_request", "spec violation: " + "; ".join(problems))
        response = self._route(rec)
        if op_id is not None:
            problems = self.spec.check_response(op_id, response.status_code, response.headers.get("content-type", ""),
                                                response.content)
            self.violate([f"answer of the {self.label} fake: {p}" for p in problems])
        return response

    def violate(self, problems: list[str]) -> None:
        with self.lock:
            self.violations.extend(problems)

    def _route(self, rec: Recorded) -> httpx.Response:
        for method, regex, fn in self.routes:
            if method != rec.method:
                continue
            m = regex.match(rec.path)
            if m:
                with self.lock:
                    try:
                        return fn(rec, **m.groupdict())
                    except ApiError as e:
                        return self.error(e.status, e.code, e.message)
        return self.error(404, "not_found", f"No route {rec.method} {rec.path}")

    # -- serving -------------------------------------------------------------
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def count(self, method: str, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for r in self.requests if r.method == method and regex.search(r.path))

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve this fake on a real loopback port; yields the base URL (with the base path)."""
        with serve_handler(self.handle) as url:
            yield url + self.base_path


@contextmanager
def serve_handler(handle: Callable[[httpx.Request], httpx.Response]) -> Iterator[str]:
    """Put a fake's ``handle(request) -> response`` behind a real HTTP server on
    127.0.0.1 (one thread per connection); yields ``http://127.0.0.1:<port>``."""

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # answer at once, no 40 ms delayed-ACK stalls

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"http://{self.headers.get('host', '127.0.0.1')}{self.path}"
            req = httpx.Request(self.command, url, headers=list(self.headers.items()), content=body)
            resp = handle(req)
            data = resp.read()
            self.send_response(resp.status_code)
            for k, v in resp.headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    class _Server(ThreadingHTTPServer):
        request_queue_size = 128  # many clients connect at once; the default 5 drops SYNs (1 s stalls)

    server = _Server(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def take_violations() -> list[str]:
    """The violations every live fake recorded since the last call (and forget them)."""
    out: list[str] = []
    for fake in list(_LIVE):
        with fake.lock:
            out += [f"{type(fake).__name__}: {v}" for v in fake.violations]
            fake.violations.clear()
    return out


def new_id(prefix: str, n: int = 16) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(random.choice(alphabet) for _ in range(n))
