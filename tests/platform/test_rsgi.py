"""The RSGI side on a real granian: the ASGI bridge (``call_asgi``) and what only RSGI has.

The serving and API behaviour on RSGI is covered by running test_serving,
test_rules, test_api and test_switching on both servers (``each_server``)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.platform.conftest import start_granian

BRIDGED_APP = '''
import json
from moai_adk.platform.rsgi import call_asgi


async def asgi(scope, receive, send):
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(5):
            await send({"type": "http.response.body", "body": f"part{i};".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["path"] == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": [(b"x-empty", b"yes")]})
        await send({"type": "http.response.body", "body": b""})
        return
    messages = [await receive()]
    while messages[-1]["more_body"]:
        messages.append(await receive())
    data = b"".join(m["body"] for m in messages)
    info = {k: scope[k] for k in ("type", "method", "path", "scheme", "http_version", "root_path")}
    info.update(query=scope["query_string"].decode(), client=scope["client"], server=scope["server"],
                headers=[[k.decode("latin-1"), v.decode("utf-8")] for k, v in scope["headers"]],
                kinds=sorted({m["type"] for m in messages}), more=messages[-1]["more_body"], length=len(data),
                pieces=len([m for m in messages if m["body"]]), body=data[:32].decode("latin-1"))
    body = json.dumps(info).encode()
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json"), (b"x-name", "caf\\u00e9".encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class App:
    def __rsgi__(self, scope, proto):
        return call_asgi(asgi, scope, proto)


app = App()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def bridged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small ASGI app behind ``call_asgi`` on a granian RSGI subprocess; yields its URL."""
    folder = tmp_path_factory.mktemp("bridged")
    (folder / "bridged_app.py").write_text(BRIDGED_APP)
    port = _free_port()
    granian = str(Path(sys.executable).with_name("granian"))
    proc = subprocess.Popen([granian, "--interface", "rsgi", "--port", str(port), "--workers", "1", "--no-ws",
                             "--log-level", "warning", "bridged_app:app"], cwd=folder, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/empty", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_bridge_builds_the_asgi_scope_and_hands_over_the_body(bridged: str) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    r = httpx.post(f"{bridged}/a%20b/c?x=%20y&z=1", content=body,
                   headers={"x-token": "Bearer t", "cookie": "moai_bucket=3"})
    assert r.status_code == 201 and r.headers["x-name"] == "café"
    info = r.json()
    assert info["type"] == "http" and info["method"] == "POST" and info["scheme"] == "http"
    assert info["path"] == "/a b/c" and info["root_path"] == "" and info["query"] == "x=%20y&z=1"
    assert info["http_version"] == "1.1"
    assert info["client"][0] == "127.0.0.1" and isinstance(info["client"][1], int)
    assert info["server"] == ["127.0.0.1", int(bridged.rsplit(":", 1)[1])]
    headers = dict(info["headers"])
    assert headers["x-token"] == "Bearer t" and headers["cookie"] == "moai_bucket=3"
    assert headers["content-length"] == str(len(body))
    assert info["kinds"] == ["http.request"] and info["more"] is False and info["length"] == len(body)
    assert info["pieces"] > 1  # handed over as granian reads it, never buffered whole
    assert info["body"] == body[:32].decode("latin-1")


def test_bridge_streams_more_body_and_sends_empty_answers(bridged: str) -> None:
    with httpx.stream("GET", f"{bridged}/stream") as r:
        assert r.status_code == 200 and r.headers["content-type"] == "text/plain"
        assert b"".join(r.iter_raw()) == b"part0;part1;part2;part3;part4;"
    empty = httpx.get(f"{bridged}/empty")
    assert empty.status_code == 204 and empty.content == b"" and empty.headers["x-empty"] == "yes"


def test_websocket_upgrade_is_refused_and_the_worker_keeps_serving(tmp_path: Path) -> None:
    upgrade = (b"GET /_sites/x/ HTTP/1.1\r\nHost: x.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    with start_granian(tmp_path) as running:
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
                sock.sendall(upgrade)
                assert sock.recv(200).startswith(b"HTTP/1.1 403 ")
        assert httpx.get(f"{running.url}/_api/v1/health").status_code == 200


def test_blob_upload_and_batch_through_rsgi(tmp_path: Path) -> None:
    """The raw upload handlers and the finalize/promote steps on granian, end to end."""
    files = {"index.html": b"<h1>rsgi</h1>", "big.bin": os.urandom(300_000), "a.txt": b"a", "b.txt": b"bb"}
    digests = {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}
    with start_granian(tmp_path) as running, running.client() as c:
        site = running.new_site("rsgi")
        assert c.post("/_api/v1/sites", json={"name": site}).status_code == 201
        created = c.post(f"/_api/v1/sites/{site}/deploys", json={"files": digests})
        assert created.status_code == 201 and sorted(created.json()["required"]) == sorted(digests.values())
        put = c.put(f"/_api/v1/blobs/{digests['big.bin']}", content=files["big.bin"])
        assert put.status_code == 201 and put.json()["size"] == 300_000
        small = ["index.html", "a.txt", "b.txt"]
        index = json.dumps([[digests[p], len(files[p])] for p in small]).encode()
        batch = c.post("/_api/v1/blobs", content=index + b"\n" + b"".join(files[p] for p in small))
        assert batch.status_code == 200 and batch.json() == {"stored": 3, "created": 3}
        bad = c.put(f"/_api/v1/blobs/{'0' * 64}", content=b"not that")
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "hash_mismatch"
        assert c.head(f"/_api/v1/blobs/{digests['a.txt']}").status_code == 200
        deploy_id = created.json()["id"]
        assert c.post(f"/_api/v1/deploys/{deploy_id}/finalize").json()["state"] == "ready"
        assert c.post(f"/_api/v1/sites/{site}/promote", json={"deploy_id": deploy_id}).status_code == 200
        for path, data in files.items():
            r = httpx.get(f"{running.url}/_sites/{site}/{path}", headers={"accept-encoding": "identity"})
            assert r.status_code == 200 and r.content == data and r.headers["x-moai-deploy"] == deploy_id
