"""Edge serving over real HTTP: routing, files, caching headers, ranges, compression."""

from __future__ import annotations

import gzip
import hashlib

import brotli
import httpx
import pytest

from tests.conftest import RunningPlatform, start_platform
from tests.platform.conftest import start_granian

BIG_TEXT = ("<p>" + "moai platform serving test " * 200 + "</p>\n").encode()
FILES = {
    "index.html": b"<h1>home</h1>",
    "about.html": b"<h1>about</h1>",
    "docs/index.html": b"<h1>docs</h1>",
    "404.html": b"<h1>custom missing</h1>",
    "big.html": BIG_TEXT,
    "app.js": b"console.log(1)" * 100,
    "style.css": b"body{color:red}" * 100,
    "data.json": b'{"a": 1}',
    "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "font.woff2": b"wOF2" + bytes(100),
    "bytes.bin": bytes(range(100)),
    "space name.txt": b"spaced",
}


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    """Every test of this module runs on uvicorn (ASGI) and on granian (RSGI)."""
    return each_server


@pytest.fixture(scope="module")
def served(local_platform):
    site = local_platform.new_site("serve")
    deploy_id = local_platform.deploy(site, FILES)
    return site, deploy_id


def get(local_platform, path: str, host: str | None = None, **headers: str) -> httpx.Response:
    hdrs = dict(headers)
    if host:
        hdrs["host"] = f"{host}:{local_platform.port}"
    hdrs.setdefault("accept-encoding", "identity")
    return httpx.get(local_platform.url + path, headers=hdrs)


def test_host_and_path_routing(local_platform, served) -> None:
    site, deploy_id = served
    assert get(local_platform, "/", host=f"{site}.localhost").content == FILES["index.html"]
    assert get(local_platform, "/", host=f"{deploy_id}.{site}.localhost").content == FILES["index.html"]
    assert get(local_platform, f"/_sites/{site}/").content == FILES["index.html"]
    assert get(local_platform, f"/_deploys/{deploy_id}/about").content == FILES["about.html"]
    r = get(local_platform, f"/_sites/{site}")
    assert r.status_code == 308 and r.headers["location"] == f"/_sites/{site}/"
    assert get(local_platform, "/", host="nosite.localhost").status_code == 404
    assert get(local_platform, "/", host=f"{deploy_id}.othersite.localhost").status_code == 404
    assert get(local_platform, "/_deploys/zzzzzzzzzz/").status_code == 404
    assert get(local_platform, "/").status_code == 404  # bare 127.0.0.1 host
    assert get(local_platform, "/", host=f"{site}.localhost").headers["x-moai-deploy"] == deploy_id


def test_index_clean_urls_and_404(local_platform, served) -> None:
    site, _ = served
    base = f"/_sites/{site}"
    assert get(local_platform, f"{base}/about").content == FILES["about.html"]
    assert get(local_platform, f"{base}/about.html").content == FILES["about.html"]
    assert get(local_platform, f"{base}/docs/").content == FILES["docs/index.html"]
    assert get(local_platform, f"{base}/docs").content == FILES["docs/index.html"]
    assert get(local_platform, f"{base}/space%20name.txt").content == b"spaced"
    r = get(local_platform, f"{base}/nope/nothing")
    assert r.status_code == 404 and r.content == FILES["404.html"]
    assert r.headers["content-type"].startswith("text/html")


def test_content_types(local_platform, served) -> None:
    site, _ = served
    expected = {"index.html": "text/html; charset=utf-8", "app.js": "application/javascript; charset=utf-8",
                "style.css": "text/css; charset=utf-8", "data.json": "application/json; charset=utf-8",
                "logo.png": "image/png", "font.woff2": "font/woff2", "bytes.bin": "application/octet-stream"}
    for path, ctype in expected.items():
        assert get(local_platform, f"/_sites/{site}/{path}").headers["content-type"] == ctype, path


def test_etag_and_304(local_platform, served) -> None:
    site, _ = served
    r = get(local_platform, f"/_sites/{site}/about")
    etag = r.headers["etag"]
    assert etag == '"' + hashlib.sha256(FILES["about.html"]).hexdigest()[:32] + '"'
    again = get(local_platform, f"/_sites/{site}/about", **{"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert get(local_platform, f"/_sites/{site}/about", **{"if-none-match": f'"x", W/{etag}'}).status_code == 304
    assert get(local_platform, f"/_sites/{site}/about", **{"if-none-match": '"other"'}).status_code == 200


def test_ranges(local_platform, served) -> None:
    site, _ = served
    url = f"/_sites/{site}/bytes.bin"
    r = get(local_platform, url, range="bytes=10-19")
    assert r.status_code == 206 and r.content == bytes(range(10, 20))
    assert r.headers["content-range"] == "bytes 10-19/100" and r.headers["content-length"] == "10"
    assert get(local_platform, url, range="bytes=-5").content == bytes(range(95, 100))
    assert get(local_platform, url, range="bytes=90-").content == bytes(range(90, 100))
    assert get(local_platform, url, range="bytes=90-500").content == bytes(range(90, 100))
    bad = get(local_platform, url, range="bytes=100-200")
    assert bad.status_code == 416 and bad.headers["content-range"] == "bytes */100"
    assert get(local_platform, url, range="items=1-2").status_code == 200
    assert get(local_platform, url).headers["accept-ranges"] == "bytes"


def test_compression_negotiation(local_platform, served) -> None:
    site, _ = served
    url = local_platform.url + f"/_sites/{site}/big.html"
    with httpx.Client() as c:  # raw bytes: no automatic decoding
        br = c.get(url, headers={"accept-encoding": "gzip, br"})
        assert br.headers["content-encoding"] == "br" and br.headers["vary"] == "Accept-Encoding"
        with c.stream("GET", url, headers={"accept-encoding": "gzip, br"}) as s:
            raw = b"".join(s.iter_raw())
        assert brotli.decompress(raw) == BIG_TEXT and len(raw) < len(BIG_TEXT) // 4
        with c.stream("GET", url, headers={"accept-encoding": "gzip"}) as s:
            assert s.headers["content-encoding"] == "gzip"
            assert gzip.decompress(b"".join(s.iter_raw())) == BIG_TEXT
            gz_etag = s.headers["etag"]
        plain = c.get(url, headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == BIG_TEXT
        assert gz_etag != plain.headers["etag"] and gz_etag != br.headers["etag"]
        # images and tiny files are never compressed
        assert "content-encoding" not in c.get(url.replace("big.html", "logo.png"),
                                               headers={"accept-encoding": "gzip, br"}).headers
        assert "content-encoding" not in c.get(url.replace("big.html", "data.json"),
                                               headers={"accept-encoding": "gzip, br"}).headers


def test_variants_are_stored_once_at_finalize(local_platform, served) -> None:
    store = local_platform.platform.store
    digest = hashlib.sha256(BIG_TEXT).hexdigest()
    assert store.path(digest, "gz").exists() and store.path(digest, "br").exists()
    png = hashlib.sha256(FILES["logo.png"]).hexdigest()
    assert not store.path(png, "gz").exists()


def test_head_and_methods(local_platform, served) -> None:
    site, _ = served
    r = httpx.head(local_platform.url + f"/_sites/{site}/about", headers={"accept-encoding": "identity"})
    assert r.status_code == 200 and r.content == b"" and r.headers["content-length"] == str(len(FILES["about.html"]))
    assert httpx.post(local_platform.url + f"/_sites/{site}/about").status_code == 405


def test_rule_files_are_not_served(local_platform) -> None:
    site = local_platform.new_site()
    local_platform.deploy(site, {"index.html": b"i", "_redirects": b"/x /index.html 200\n",
                                 "_headers": b"/*\n  X-A: b\n", "vercel.json": b"{}"})
    for name in ("_redirects", "_headers", "vercel.json"):
        assert get(local_platform, f"/_sites/{site}/{name}").status_code == 404


def test_large_file_streams(local_platform) -> None:
    site = local_platform.new_site()
    blob = bytes(range(256)) * (40 * 1024)  # 10 MiB: above the streaming threshold
    local_platform.deploy(site, {"big.bin": blob})
    r = get(local_platform, f"/_sites/{site}/big.bin")
    assert r.status_code == 200 and r.content == blob
    part = get(local_platform, f"/_sites/{site}/big.bin", range="bytes=5000000-5000009")
    assert part.content == blob[5000000:5000010]


def test_percent_escapes_are_decoded_once(local_platform) -> None:
    site = local_platform.new_site()
    local_platform.deploy(site, {"a%41.txt": b"literal percent", "aA.txt": b"decoded twice"})
    assert get(local_platform, f"/_sites/{site}/a%2541.txt").content == b"literal percent"


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_files_above_the_cache_item_limit_are_read_from_disk(tmp_path, server: str) -> None:
    """A 1 MB cache keeps items up to 128 KB: larger files take the disk path, same answers."""
    text = (b"<p>" + b"read from disk, not from the blob cache " * 8000 + b"</p>")[:300_000]
    binary = bytes(range(256)) * 1200
    with (start_granian(tmp_path, "--cache-mb", "1") if server == "granian"
          else start_platform(tmp_path, cache_bytes=1 << 20)) as running:
        site = running.new_site()
        deploy_id = running.deploy(site, {"page.html": text, "blob.bin": binary, "small.html": b"<p>s</p>"})
        base = f"{running.url}/_sites/{site}"
        with httpx.Client() as c:
            for _ in range(2):  # the second time through the resolved-path cache
                r = c.get(f"{base}/page.html", headers={"accept-encoding": "identity"})
                assert r.status_code == 200 and r.content == text and r.headers["x-moai-deploy"] == deploy_id
                small = c.get(f"{base}/small.html", headers={"accept-encoding": "identity"})
                assert list(r.headers.keys()) == list(small.headers.keys())  # same headers, same order
                assert r.headers["content-length"] == str(len(text)) and r.headers["accept-ranges"] == "bytes"
                with c.stream("GET", f"{base}/page.html", headers={"accept-encoding": "gzip"}) as s:
                    assert s.headers["content-encoding"] == "gzip"
                    assert gzip.decompress(b"".join(s.iter_raw())) == text
                assert c.get(f"{base}/blob.bin").content == binary
                part = c.get(f"{base}/blob.bin", headers={"range": "bytes=200000-200009"})
                assert part.status_code == 206 and part.content == binary[200000:200010]
        if server == "uvicorn":  # in-process: the cache really stayed out of it
            assert running.platform.blobs.used < 1000
