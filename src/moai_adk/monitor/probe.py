"""``moai-adk monitor probe``: fetch a URL N times with the standard library's sockets and report each
phase's timings (DNS, TCP connect, TLS handshake, first byte, total) with percentiles.

Timings are cumulative milliseconds from the start of the run, so ``dns <= connect <= tls <= ttfb <=
total`` always holds (``tls`` is ``None`` on plain http). A run fails on a DNS, connect, TLS or read
error, or a status of 500 or more.
"""

from __future__ import annotations

import math
import socket
import ssl
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from ..errors import UsageError

MAX_BYTES = 10 * 1024 * 1024  # the response is read up to this much, then the run ends
PHASES = ("dns", "connect", "tls", "ttfb", "total")
PERCENTILES = (50, 95, 99)


@dataclass
class ProbeRun:
    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    ttfb: float | None = None
    total: float | None = None
    status: int | None = None
    bytes: int = 0
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or self.status is None or self.status >= 500


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"monitor probe: {url!r} is not an http:// or https:// URL with a host",
                         hint="Pass a full URL such as https://example.com/health, or --env ENV.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UsageError(f"monitor probe: {url!r} has a bad port ({exc})", hint="Fix the port in the URL.") from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, parts.scheme, parts.hostname, port, path)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def probe_once(target: Target, *, ca_file: Path | None = None, timeout: float = 10.0) -> ProbeRun:
    run = ProbeRun()
    start = time.perf_counter()
    step = "DNS"
    sock: socket.socket | None = None
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        run.dns = _ms(start)
        step = "connect"
        last: OSError | None = None
        for family, kind, proto, _, address in infos:
            candidate = socket.socket(family, kind, proto)
            candidate.settimeout(timeout)
            try:
                candidate.connect(address)
            except OSError as exc:
                candidate.close()
                last = exc
                continue
            sock = candidate
            break
        if sock is None:
            raise last or OSError("no address")
        run.connect = _ms(start)
        if target.scheme == "https":
            step = "TLS"
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            sock = context.wrap_socket(sock, server_hostname=target.host)
            run.tls = _ms(start)
        step = "request"
        default = 443 if target.scheme == "https" else 80
        host = f"[{target.host}]" if ":" in target.host else target.host
        host = host if target.port == default else f"{host}:{target.port}"
        sock.sendall((f"GET {target.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: moai-adk/{__version__} probe\r\n"
                      "Accept: */*\r\nConnection: close\r\n\r\n").encode("latin-1"))
        step = "response"
        head = sock.recv(65536)
        if not head:
            raise OSError("the server closed the connection without answering")
        run.ttfb = _ms(start)
        received = len(head)
        while b"\r\n" not in head and received < MAX_BYTES and (chunk := sock.recv(65536)):
            head += chunk
            received += len(chunk)
        line = head.split(b"\r\n", 1)[0].split()
        if len(line) < 2 or not line[0].startswith(b"HTTP/") or not line[1].isdigit():
            raise OSError(f"not an HTTP status line: {head[:60]!r}")
        run.status = int(line[1])
        while received < MAX_BYTES and (chunk := sock.recv(65536)):
            received += len(chunk)
        run.bytes = received
        run.total = _ms(start)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        run.error = f"{step}: {reason}"
    finally:
        if sock is not None:
            sock.close()
    return run


def probe(url: str, *, runs: int = 5, ca_file: Path | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """Probe ``url`` ``runs`` times, one after another; the report of every run and each phase's summary."""
    if runs < 1:
        raise UsageError(f"monitor probe: --runs {runs} must be at least 1", hint="Pass --runs 1 or more.")
    target = parse_url(url)
    results = [probe_once(target, ca_file=ca_file, timeout=timeout) for _ in range(runs)]
    phases: dict[str, dict[str, float] | None] = {}
    for phase in PHASES:
        values = [v for r in results if (v := getattr(r, phase)) is not None]
        phases[phase] = None if not values else {
            **{f"p{p}": percentile(values, p) for p in PERCENTILES}, "min": min(values), "max": max(values),
            "count": len(values)}
    statuses: dict[str, int] = {}
    for r in results:
        key = str(r.status) if r.status is not None else "error"
        statuses[key] = statuses.get(key, 0) + 1
    failures = [f"run {i}: {r.error or f'status {r.status}'}" for i, r in enumerate(results, 1) if r.failed]
    return {"url": url, "runs": [asdict(r) for r in results], "phases": phases, "statuses": statuses,
            "failures": failures, "ok": not failures, "timings": "cumulative ms from the start of each run"}
