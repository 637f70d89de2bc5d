"""Rules that could hurt other sites or the platform, on uvicorn (ASGI) and granian (RSGI):
framing headers, regex DoS, open redirects, rules that used to pass finalize and then 500,
and header values or substituted paths that broke responses."""

from __future__ import annotations

import hashlib
import json
import socket
import statistics
import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import RunningPlatform

PAGES = {"index.html": b"home", "about.html": b"about", "404.html": b"custom 404"}


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


def attempt(p: RunningPlatform, site: str, files: dict[str, bytes]) -> httpx.Response:
    """Create a deployment of ``files`` on ``site``, upload it and answer the finalize response."""
    manifest = {path: hashlib.sha256(body).hexdigest() for path, body in files.items()}
    with p.client() as c:
        c.post("/_api/v1/sites", json={"name": site}).raise_for_status()
        created = c.post(f"/_api/v1/sites/{site}/deploys", json={"files": manifest})
        created.raise_for_status()
        by_hash = {manifest[path]: body for path, body in files.items()}
        for sha in created.json()["required"]:
            c.put(f"/_api/v1/blobs/{sha}", content=by_hash[sha]).raise_for_status()
        deploy_id = created.json()["id"]
        final = c.post(f"/_api/v1/deploys/{deploy_id}/finalize")
        state = c.get(f"/_api/v1/deploys/{deploy_id}").json()["state"]
    final.state = state  # type: ignore[attr-defined]
    return final


def refused(p: RunningPlatform, files: dict[str, bytes]) -> dict[str, Any]:
    """Finalize ``files`` and return the 422 ``bad_rules`` error (the deployment stays unready)."""
    r = attempt(p, p.new_site("bad"), {**PAGES, **files})
    assert r.status_code == 422, r.text
    assert r.state != "ready"  # type: ignore[attr-defined]
    err: dict[str, Any] = r.json()["error"]
    assert err["code"] == "bad_rules"
    return err


def on_host(p: RunningPlatform, site: str, path: str, **kwargs: Any) -> httpx.Response:
    """GET ``path`` on the site's own host (``<site>.localhost``), where no path prefix applies."""
    return httpx.get(p.url + path, headers={"host": f"{site}.localhost:{p.port}", "accept-encoding": "identity"},
                     **kwargs)


# -- 2: framing and hop-by-hop headers --------------------------------------------------------------
@pytest.mark.parametrize("name", ["Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade",
                                  "TE", "Trailer", "Host", "Content-Encoding", "content-length"])
def test_framing_header_rules_refused(local_platform: RunningPlatform, name: str) -> None:
    err = refused(local_platform, {"_headers": f"/*\n  X-Fine: yes\n  {name}: 0\n".encode()})
    assert (err["file"], err["line"], err["header"]) == ("_headers", 3, name)
    assert err["message"].startswith(f"_headers line 3: header '{name}'")


def test_framing_header_in_vercel_json_names_its_line(local_platform: RunningPlatform) -> None:
    conf = b'{\n  "headers": [\n    {"source": "/(.*)", "headers": [\n      {"key": "X-A", "value": "1"},\n' \
           b'      {"key": "Transfer-Encoding", "value": "chunked"}\n    ]}\n  ]\n}\n'
    err = refused(local_platform, {"vercel.json": conf})
    assert (err["file"], err["line"], err["header"]) == ("vercel.json", 5, "Transfer-Encoding")


def _read_response(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes, bytes]:
    """One HTTP/1.1 response framed by its Content-Length: (head, body, what is left over)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-head: {buf!r}"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lengths = [int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
               if line.lower().startswith(b"content-length:")]
    assert len(lengths) == 1, head
    while len(rest) < lengths[0]:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        rest += chunk
    return head, rest[:lengths[0]], rest[lengths[0]:]


def test_header_rules_cannot_smuggle_a_response_into_another_site(local_platform: RunningPlatform) -> None:
    """Over one keep-alive connection, the answer for the victim site is the victim's own bytes."""
    p = local_platform
    smuggled = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5\r\n\r\nowned"
    attacker, victim = p.new_site("attacker"), p.new_site("victim")
    r = attempt(p, attacker, {"index.html": smuggled, "_headers": b"/*\n  Content-Length: 0\n"})
    if r.state == "ready":  # type: ignore[attr-defined]  # the rule was let through: put it live
        with p.client() as c:
            c.post(f"/_api/v1/sites/{attacker}/promote", json={"deploy_id": r.json()["id"]}).raise_for_status()
    else:
        p.deploy(attacker, {"index.html": smuggled})
    p.deploy(victim, {"index.html": b"victim page"})
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as sock:
        left = b""
        for site, expected in ((attacker, smuggled), (victim, b"victim page"), (attacker, smuggled)):
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {site}.localhost\r\nAccept-Encoding: identity\r\n\r\n".encode())
            head, body, left = _read_response(sock, left)
            assert head.startswith(b"HTTP/1.1 200"), head
            assert body == expected
            assert left == b""
    assert r.status_code == 422 and r.json()["error"]["header"] == "Content-Length"


# -- 3: regex DoS ---------------------------------------------------------------------------------
def test_pathological_pattern_does_not_stall_other_sites(local_platform: RunningPlatform) -> None:
    p = local_platform
    slow = p.new_site("redos")
    conf = {"redirects": [{"source": "/re/:x(a*a*a*a*a*a*a*a*a*a*b)", "destination": "/about"}]}
    p.deploy(slow, {**PAGES, "vercel.json": json.dumps(conf).encode()})
    other = p.new_site("calm")
    p.deploy(other, PAGES)
    assert on_host(p, slow, "/re/aaab").headers["location"] == "/about"  # the rule itself works
    done, started = threading.Event(), threading.Event()
    answers: list[tuple[int, float]] = []

    def attack() -> None:
        with httpx.Client(timeout=60) as c:
            for i in range(10_000):  # a new path each time: nothing comes from the per-path cache
                if done.is_set():
                    return
                started.set()
                start = time.perf_counter()
                r = c.get(f"{p.url}/re/{'a' * (26 + i % 5)}{i}", headers={"host": f"{slow}.localhost"})
                answers.append((r.status_code, time.perf_counter() - start))

    thread = threading.Thread(target=attack)
    thread.start()
    latencies = []
    try:
        assert started.wait(10)
        time.sleep(0.02)  # the first pathological request is on its way
        with httpx.Client(timeout=60) as c:
            for _ in range(15):
                start = time.perf_counter()
                assert c.get(f"{p.url}/", headers={"host": f"{other}.localhost"}).content == b"home"
                latencies.append(time.perf_counter() - start)
    finally:
        done.set()
        thread.join()
    assert answers and all(status == 404 for status, _ in answers)
    assert max(t for _, t in answers) < 1.0, answers
    assert statistics.median(latencies) < 0.05, latencies


# -- 4: open redirects ----------------------------------------------------------------------------
def test_substituted_redirects_stay_on_the_site(local_platform: RunningPlatform) -> None:
    p = local_platform
    site = p.new_site("redir")
    conf = {"redirects": [{"source": "/v/:path(.*)", "destination": "/:path", "permanent": False}]}
    p.deploy(site, {**PAGES, "vercel.json": json.dumps(conf).encode(),
                    "_redirects": b"/r/*  /:splat  301\n/go/*  https://docs.example/:splat  302\n"})
    cases = {
        "/r//evil.example/x": "/evil.example/x",
        "/r/%2F%2Fevil.example/x": "/evil.example/x",
        "/r/%5Cevil.example": "/%5Cevil.example",
        "/r/%09/evil.example": "/%09/evil.example",
        "/v//evil.example/x": "/evil.example/x",
        "/v/%5C%5Cevil.example": "/%5C%5Cevil.example",
        "/r/https://evil.example": "/https://evil.example",
        "/go//evil.example": "https://docs.example//evil.example",  # the rule names that origin itself
    }
    for path, location in cases.items():
        r = on_host(p, site, path)
        assert (r.status_code in (301, 302, 307), r.headers.get("location")) == (True, location), path


# -- 5: invalid rules are refused at finalize, never served as 500 -----------------------------------
@pytest.mark.parametrize("files,where,reason", [
    ({"vercel.json": b'{\n  "rewrites": [\n    {"source": "/x/:id([)", "destination": "/about"}\n  ]\n}'},
     ("vercel.json", 3), "not a valid pattern"),
    ({"_redirects": b"# rules\n/a/*  /x  Country=us\n"}, ("_redirects", 2), "is not a status code"),
    ({"_redirects": b"/p\n"}, ("_redirects", 1), "needs a destination"),
    ({"_redirects": b"/p  x.html  200\n"}, ("_redirects", 1), "must start with '/'"),
    ({"_redirects": b"/p  https://:host/  302\n"}, ("_redirects", 1), "host of an external destination"),
    ({"_headers": b"/a/*/b/*\n  : 1\n"}, ("_headers", 2), "needs a name"),
    ({"vercel.json": b'{"redirects": [{"source": "/(?!api).*", "destination": "/"}]}'},
     ("vercel.json", 1), "may not start with '?'"),
    ({"vercel.json": b'{"redirects": [{"source": "/a/(.*(?!x))", "destination": "/"}]}'},
     ("vercel.json", 1), "RE2 syntax"),
])
def test_invalid_rules_refused_at_finalize(local_platform: RunningPlatform, files: dict[str, bytes],
                                           where: tuple[str, int], reason: str) -> None:
    err = refused(local_platform, files)
    assert (err["file"], err["line"]) == where
    assert err["message"].startswith(f"{where[0]} line {where[1]}: ") and reason in err["message"]


# -- 6: header values and substituted values ------------------------------------------------------
@pytest.mark.parametrize("files,header,reason", [
    ({"_headers": "/*\n  X-Name: café\n".encode()}, "X-Name", "non-ASCII character 'é'"),
    ({"vercel.json": b'{"headers": [{"source": "/(.*)", "headers": [{"key": "X-A", "value": "a\\r\\nb"}]}]}'},
     "X-A", "control character (U+000D)"),
    ({"_headers": b"/*\n  X Bad: 1\n"}, "X Bad", "not a valid header name"),
    ({"_headers": b"/*\n  X-Moai-Deploy: forged\n"}, "X-Moai-Deploy", "reserved for the platform"),
])
def test_unusable_header_values_refused(local_platform: RunningPlatform, files: dict[str, bytes], header: str,
                                        reason: str) -> None:
    err = refused(local_platform, files)
    assert err["header"] == header and reason in err["message"]


def test_substituted_values_are_percent_encoded_in_location(local_platform: RunningPlatform) -> None:
    p = local_platform
    site = p.new_site("enc")
    p.deploy(site, {**PAGES, "_redirects": b"/u/:id  /users/:id  301\n/s/*  /search?q=:splat  302\n"})
    cases = {
        "/u/a%0D%0ASet-Cookie:%20x=1": "/users/a%0D%0ASet-Cookie:%20x=1",
        "/u/%C3%A9t%C3%A9": "/users/%C3%A9t%C3%A9",
        "/u/100%25": "/users/100%25",
        "/u/a%3Fb%23c": "/users/a%3Fb%23c",
        "/s/a&b=c": "/search?q=a%26b=c",
    }
    for path, location in cases.items():
        r = on_host(p, site, path)
        assert r.status_code in (301, 302) and r.headers.get("location") == location, (path, r.headers)
        assert "set-cookie" not in r.headers
    # rewrites still look files up by the decoded path
    p.deploy(site, {**PAGES, "café.html": b"accents", "_redirects": b"/r/:name  /:name.html  200\n"})
    assert on_host(p, site, "/r/caf%C3%A9").content == b"accents"


@pytest.mark.parametrize("conf,path,location", [
    ({"trailingSlash": False}, "//evil.example/", "/evil.example"),
    ({"cleanUrls": True}, "//evil/index", "/evil"),
    ({"trailingSlash": True}, "/a%0D%0Ab", "/a%0D%0Ab/"),
    ({"trailingSlash": True}, "/%5Cevil", "/%5Cevil/"),
    ({"cleanUrls": True}, "//about.html", "/about"),
])
def test_canonical_redirects_stay_on_the_site(local_platform: RunningPlatform, conf: dict[str, bool], path: str,
                                              location: str) -> None:
    """``cleanUrls``/``trailingSlash`` redirect to the request's own path: still never another host."""
    p = local_platform
    site = p.new_site("canon")
    p.deploy(site, {**PAGES, "vercel.json": json.dumps(conf).encode()})
    r = on_host(p, site, path)
    assert r.status_code == 308 and r.headers.get("location") == location, r.headers
