"""Upload limits hold whatever the framing, and bad bodies answer JSON 4xx (both servers).

The platform here runs with ``MOAI_PLATFORM_MAX_UPLOAD_MB=8``."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_adk.platform.uploads import MAX_UPLOAD_ENV
from tests.conftest import RunningPlatform, start_platform
from tests.platform.conftest import start_granian

API = "/_api/v1"
LIMIT = 8 << 20


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def local_platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    tmp = tmp_path_factory.mktemp(f"limits-{request.param}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MAX_UPLOAD_ENV, str(LIMIT >> 20))
        starter = start_granian if request.param == "granian" else start_platform
        with starter(tmp) as running:
            mp.delenv(MAX_UPLOAD_ENV)
            yield running


def no_temp_files(running: RunningPlatform) -> bool:
    return not any((running.data_dir / "blobs" / ".tmp").iterdir())


class Counting:
    """A chunked body of ``total`` bytes that counts what the client got to send."""

    def __init__(self, total: int, chunk: int = 256 << 10) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            self.sent += self.chunk
            yield b"x" * self.chunk


def test_a_chunked_blob_past_the_limit_is_413_while_it_is_sent(local_platform: RunningPlatform) -> None:
    body = Counting(200 << 20)
    with local_platform.client() as c:
        r = c.put(f"{API}/blobs/{'a' * 64}", content=iter(body))
    assert r.status_code == 413, r.text
    err = r.json()["error"]
    assert err["code"] == "too_large" and str(LIMIT) in err["message"]
    assert body.sent < 64 << 20, f"the client sent {body.sent >> 20} MB before the answer"
    assert no_temp_files(local_platform)


def test_a_chunked_batch_past_the_limit_is_413(local_platform: RunningPlatform) -> None:
    one = hashlib.sha256(b"x" * (4 << 20)).hexdigest()

    def body() -> Iterator[bytes]:  # 3 x 4 MB announced: more than the limit before any blob byte
        yield json.dumps([[one, 4 << 20]] * 3).encode() + b"\n"
        yield from Counting(12 << 20)

    with local_platform.client() as c:
        r = c.post(f"{API}/blobs", content=body())
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        sneaky = Counting(100 << 20)  # an index announcing little, then far more bytes than it said

        def lying() -> Iterator[bytes]:
            yield json.dumps([[one, 10]]).encode() + b"\n"
            yield from sneaky

        r = c.post(f"{API}/blobs", content=lying())
    assert r.status_code in (400, 413) and r.json()["error"]["code"] in ("bad_batch", "too_large")
    assert sneaky.sent < 64 << 20
    assert no_temp_files(local_platform)


def test_a_content_length_past_the_limit_is_413_before_reading(local_platform: RunningPlatform) -> None:
    with socket.create_connection(("127.0.0.1", local_platform.port), timeout=10) as sock:
        sock.sendall(f"PUT {API}/blobs/{'b' * 64} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {local_platform.token}"
                     f"\r\nContent-Length: {LIMIT + 1}\r\n\r\n".encode())
        status, payload = read_response(sock)
    assert status == 413 and payload["error"]["code"] == "too_large"


def read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(v) for k, _, v in (line.partition(": ") for line in lines[1:]) if k.lower() == "content-length")
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), json.loads(rest[:length])


def half_closed(running: RunningPlatform, method: str, path: str, sent: bytes, announced: int) -> tuple[int, dict[str, object]]:
    """Announce ``announced`` bytes, send ``sent``, close our side for writing, read the answer."""
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {running.token}\r\n"
                     f"Content-Type: application/octet-stream\r\nContent-Length: {announced}\r\n\r\n".encode() + sent)
        sock.shutdown(socket.SHUT_WR)
        return read_response(sock)


def test_a_half_closed_truncated_blob_is_400(local_platform: RunningPlatform) -> None:
    data = b"y" * 300_000
    status, payload = half_closed(local_platform, "PUT", f"{API}/blobs/{hashlib.sha256(data).hexdigest()}",
                                  data[:100_000], len(data))
    assert status == 400, payload
    err = payload["error"]
    assert isinstance(err, dict) and err["code"] == "truncated" and "300000" in str(err["message"])
    assert not local_platform.platform.store.exists(hashlib.sha256(data).hexdigest())
    assert no_temp_files(local_platform)


def test_a_half_closed_truncated_batch_is_400(local_platform: RunningPlatform) -> None:
    blobs = [b"first blob", b"second blob" * 1000]
    index = json.dumps([[hashlib.sha256(b).hexdigest(), len(b)] for b in blobs]).encode() + b"\n"
    body = index + b"".join(blobs)
    status, payload = half_closed(local_platform, "POST", f"{API}/blobs", body[:-500], len(body))
    assert status == 400 and payload["error"]["code"] == "truncated", payload  # type: ignore[index]
    assert no_temp_files(local_platform)
    store = local_platform.platform.store  # the whole, verified first blob is kept for a resumed deploy
    assert store.exists(hashlib.sha256(blobs[0]).hexdigest()) and not store.exists(hashlib.sha256(blobs[1]).hexdigest())


def test_a_half_closed_truncated_json_body_is_400(local_platform: RunningPlatform) -> None:
    status, payload = half_closed(local_platform, "POST", f"{API}/sites", b'{"name": "abc', 200)
    assert status == 400 and payload["error"]["code"] == "truncated", payload  # type: ignore[index]


@pytest.mark.parametrize("body", [b"9" * 5000, b'{"name": ' + b"1" * 5000 + b"}", b"[" * 100_000 + b"]" * 100_000])
def test_json_that_python_cannot_hold_is_400(local_platform: RunningPlatform, body: bytes) -> None:
    with local_platform.client() as c:
        r = c.post(f"{API}/sites", content=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json", r.text


def test_a_json_body_past_its_limit_is_413(local_platform: RunningPlatform) -> None:
    with local_platform.client() as c:
        r = c.post(f"{API}/sites", content=iter([b" " * (1 << 20)] * 70))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_the_limit_is_the_configured_one(local_platform: RunningPlatform, tmp_path: Path) -> None:
    data = b"z" * (LIMIT - 1000)
    digest = hashlib.sha256(data).hexdigest()
    with local_platform.client() as c:
        r = c.put(f"{API}/blobs/{digest}", content=iter([data[: LIMIT // 2], data[LIMIT // 2:]]))
    assert r.status_code == 201 and r.json()["size"] == len(data)
