"""``moai-adk monitor probe`` against real loopback servers (plain HTTP and HTTPS with a certificate made here)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from moai_adk.monitor.probe import parse_url, percentile, probe, probe_once
from tests.conftest import RunningPlatform

from .conftest import Run


class Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        Handler.seen.append({"path": self.path, **{k: v for k, v in self.headers.items()}})
        code = 503 if self.path == "/down" else 200
        body = b"x" * 50_000
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(context: ssl.SSLContext | None) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_url() -> Iterator[str]:
    yield from _serve(None)


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "moai probe test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return tmp_path / "cert.pem"


@pytest.fixture
def https_url(ca_file: Path) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca_file, ca_file.parent / "key.pem")
    yield from _serve(context)


def test_percentile_nearest_rank_on_known_lists() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert [percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert percentile([7.0], 50) == 7.0 and percentile([7.0], 99) == 7.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 20.0 and percentile([10.0, 20.0, 30.0, 40.0], 95) == 40.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_http_phases_are_positive_and_ordered(http_url: str) -> None:
    Handler.seen.clear()
    run = probe_once(parse_url(http_url + "/health?x=1"))
    assert run.error is None and run.status == 200 and run.tls is None
    assert run.dns is not None and run.connect is not None and run.ttfb is not None and run.total is not None
    assert 0 < run.dns <= run.connect <= run.ttfb <= run.total
    assert run.bytes > 50_000  # headers and the whole body were read
    request = Handler.seen[-1]
    assert request["path"] == "/health?x=1" and request["Connection"] == "close"
    assert request["Host"] == http_url.removeprefix("http://") and request["User-Agent"].startswith("moai-adk/")


def test_https_with_the_ca_file_times_the_handshake(https_url: str, ca_file: Path) -> None:
    report = probe(https_url + "/", runs=3, ca_file=ca_file)
    assert report["ok"] and report["statuses"] == {"200": 3}
    for run in report["runs"]:
        assert 0 < run["dns"] <= run["connect"] <= run["tls"] <= run["ttfb"] <= run["total"]
    for phase in ("dns", "connect", "tls", "ttfb", "total"):
        s = report["phases"][phase]
        values = [r[phase] for r in report["runs"]]
        assert s["min"] == min(values) and s["max"] == max(values) and s["p50"] == sorted(values)[1]
        assert s["p99"] == s["max"] and s["count"] == 3


def test_https_without_the_ca_file_fails_at_tls(https_url: str) -> None:
    report = probe(https_url, runs=1)
    assert not report["ok"] and report["runs"][0]["error"].startswith("TLS: ")
    assert report["runs"][0]["tls"] is None and report["statuses"] == {"error": 1}


def test_cli_json_shape(moai: Run, http_url: str) -> None:
    r = moai("monitor", "probe", http_url, "--runs", "4", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == {"url", "runs", "phases", "statuses", "failures", "ok", "timings"}
    assert len(data["runs"]) == 4 and data["statuses"] == {"200": 4} and data["ok"] is True
    assert data["phases"]["tls"] is None
    assert set(data["phases"]["ttfb"]) == {"p50", "p95", "p99", "min", "max", "count"}
    assert set(data["runs"][0]) == {"dns", "connect", "tls", "ttfb", "total", "status", "bytes", "error"}


def test_cli_table(moai: Run, https_url: str, ca_file: Path) -> None:
    r = moai("monitor", "probe", https_url, "--runs", "2", "--ca-file", str(ca_file))
    assert r.returncode == 0, r.stderr
    assert "tls" in r.stdout and "p95" in r.stdout and "200 x2" in r.stdout


def test_refused_port_exits_1_naming_the_url(moai: Run) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    r = moai("monitor", "probe", url, "--runs", "2")
    assert r.returncode == 1
    assert url in r.stderr and "2 of 2 runs" in r.stderr and "connect: Connection refused" in r.stderr


def test_503_exits_1(moai: Run, http_url: str) -> None:
    r = moai("monitor", "probe", http_url + "/down", "--runs", "2", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["statuses"] == {"503": 2} and "status 503" in r.stderr


def test_bad_usage_exits_2(moai: Run) -> None:
    assert moai("monitor", "probe").returncode == 2
    assert moai("monitor", "probe", "http://x", "--env", "production").returncode == 2
    r = moai("monitor", "probe", "ftp://example.com/")
    assert r.returncode == 2 and "ftp://example.com/" in r.stderr


def test_env_probes_what_production_serves(moai: Run, tmp_path: Path, local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("probeenv")
    root = tmp_path / "p"
    (root / "out").mkdir(parents=True)
    (root / "out" / "index.html").write_text("<h1>probed</h1>")
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n[deploy]\nplatform = "local"\n[build]\noutput = "out"\n')
    env = local_platform.environ()
    r = moai("monitor", "probe", "--env", "production", cwd=root, env=env)
    assert r.returncode == 1 and "no deployment serves the production environment" in r.stderr
    assert moai("deploy", "--prod", "--skip-build", cwd=root, env=env).returncode == 0
    r = moai("monitor", "probe", "--env", "production", "--runs", "2", "--json", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["statuses"] == {"200": 2} and data["url"].startswith(f"http://127.0.0.1:{local_platform.port}/")
