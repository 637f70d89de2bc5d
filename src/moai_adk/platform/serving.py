"""The serving path: a raw ASGI callable (no routing framework per request).

Which deployment answers:

* ``Host: <site>.<domain>`` -> the site's production (or its weighted split);
* ``Host: <deploy>.<site>.<domain>`` -> that deployment;
* ``/_sites/<site>/...`` and ``/_deploys/<deploy>/...`` on any host.

A request resolves its deployment once, then its path once per deployment
(cached), so one response always comes from one complete deployment. Bytes
come from the in-memory LRU (``BlobCache``); gzip/brotli variants were made at
finalize time. ETag/If-None-Match -> 304, single byte ranges -> 206/416.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .service import Platform
from .views import DeployView, FileEntry, Resolved

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

COOKIE = "moai_bucket"
CACHE_CONTROL = (b"cache-control", b"public, max-age=0, must-revalidate")
STREAM_ABOVE = 8 << 20
CHUNK = 256 << 10


async def send_simple(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None,
                      head: bool = False) -> None:
    hdrs = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if headers:
        hdrs.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": b"" if head else body})


def parse_range(value: str, size: int) -> tuple[int, int] | None | bool:
    """``(start, end)`` inclusive; ``None`` to ignore the header; ``False`` when unsatisfiable."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return False
            return (max(0, size - n), size - 1) if size else False
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or start > end:
        return False
    return start, min(end, size - 1)


class Server:
    """The edge: maps a request to a deployment and a file, and sends it."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.suffix = "." + platform.domain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        head = method == "HEAD"
        if method != "GET" and not head:
            await send_simple(send, 405, b"Method Not Allowed\n", [(b"allow", b"GET, HEAD")])
            return
        host = b""
        inm = accept = rng = cookie = None
        for k, v in scope["headers"]:
            if k == b"host":
                host = v
            elif k == b"if-none-match":
                inm = v
            elif k == b"accept-encoding":
                accept = v
            elif k == b"range":
                rng = v
            elif k == b"cookie":
                cookie = v
        path: str = scope["path"]
        prefix = ""
        set_cookie: bytes | None = None
        view: DeployView | None
        if path.startswith("/_sites/") or path.startswith("/_deploys/"):
            kind, _, rest = path[1:].partition("/")
            name, slash, tail = rest.partition("/")
            prefix = f"/{kind}/{name}"
            if not slash:
                qs = scope.get("query_string", b"")
                loc = prefix + "/" + ("?" + qs.decode("latin-1") if qs else "")
                await send_simple(send, 308, b"", [(b"location", loc.encode())], head)
                return
            path = "/" + tail
            if kind == "_sites":
                view, set_cookie = self._site_view(name, cookie)
            else:
                view = self.p.ready_view(name)
        else:
            hostname = host.decode("latin-1").rsplit(":", 1)[0].lower() if host else ""
            if not hostname.endswith(self.suffix):
                await send_simple(send, 404, b"moai-adk platform: use http://<site>.localhost:<port>/ "
                                  b"or /_sites/<site>/\n", None, head)
                return
            labels = hostname[: -len(self.suffix)].split(".")
            if len(labels) == 1:
                view, set_cookie = self._site_view(labels[0], cookie)
            elif len(labels) == 2:
                view = self.p.ready_view(labels[0])
                if view is not None and view.site != labels[1]:
                    view = None
            else:
                view = None
        if view is None:
            await send_simple(send, 404, b"No such site or deployment on this moai-adk platform.\n", None, head)
            return
        res = view.resolve(path)
        entry = res.entry
        if (res.kind == "file" and inm is None and rng is None and set_cookie is None and not head
                and res.status == 200 and entry is not None and entry.size <= STREAM_ABOVE):
            # hot path: a full 200 with headers built once per (path, encoding)
            variant = ""
            if entry.compressible and accept is not None:
                if entry.br and b"br" in accept:
                    variant = "br"
                elif entry.gz and b"gzip" in accept:
                    variant = "gz"
            size = entry.gz if variant == "gz" else entry.br if variant == "br" else entry.size
            body = await self._read(entry.sha, variant, size)
            if len(body) == size:
                headers = res.prebuilt.get(variant)
                if headers is None:
                    headers = res.prebuilt[variant] = self._headers(res, entry, variant, view.id_header, size)
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        extra: list[tuple[bytes, bytes]] = [(b"x-moai-deploy", view.id_header)]
        if set_cookie is not None:
            extra.append((b"vary", b"Cookie"))
            if set_cookie:
                extra.append((b"set-cookie", set_cookie))
        if res.kind == "redirect":
            await self._redirect(send, res, prefix, scope, extra, head)
            return
        if entry is None:
            await send_simple(send, 404, b"Not Found\n", extra + res.headers, head)
            return
        await self._file(send, res, entry, inm, accept, rng, extra, head)

    @staticmethod
    def _headers(res: Resolved, entry: FileEntry, variant: str, deploy: bytes, size: int) -> list[tuple[bytes, bytes]]:
        headers = [(b"content-type", entry.ctype), (b"etag", entry.etag_for(variant)), CACHE_CONTROL,
                   (b"x-moai-deploy", deploy), *res.headers]
        if entry.compressible:
            headers.append((b"vary", b"Accept-Encoding"))
        if variant:
            headers.append((b"content-encoding", b"gzip" if variant == "gz" else b"br"))
        else:
            headers.append((b"accept-ranges", b"bytes"))
        headers.append((b"content-length", str(size).encode()))
        return headers

    def _site_view(self, site: str, cookie: bytes | None) -> tuple[DeployView | None, bytes | None]:
        state = self.p.sites.get(site)
        if state is None:
            return None, None
        set_cookie = None
        bucket = 0
        if state.split is not None:
            found = -1
            if cookie is not None:
                text = cookie.decode("latin-1")
                for part in text.split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == COOKIE and v.isdigit():
                        found = int(v)
                        break
            if not 0 <= found < 100:
                found = random.randrange(100)
                set_cookie = f"{COOKIE}={found}; Path=/; Max-Age=86400; SameSite=Lax".encode()
            else:
                set_cookie = b""  # split traffic: the answer depends on the cookie (Vary), nothing to set
            bucket = found
        deploy_id = state.pick(bucket)
        if deploy_id is None:
            return None, None
        view = self.p.views.peek(deploy_id)
        if view is None:
            view = self.p.ready_view(deploy_id)
        return view, set_cookie

    async def _redirect(self, send: Send, res: Resolved, prefix: str, scope: Scope,
                        extra: list[tuple[bytes, bytes]], head: bool) -> None:
        loc = res.location
        if prefix and loc.startswith("/"):
            loc = prefix + loc
        qs = scope.get("query_string", b"")
        if qs and "?" not in loc:
            loc += "?" + qs.decode("latin-1")
        await send_simple(send, res.status, b"", extra + [(b"location", loc.encode("utf-8"))], head)

    async def _file(self, send: Send, res: Resolved, entry: FileEntry, inm: bytes | None, accept: bytes | None,
                    rng: bytes | None, extra: list[tuple[bytes, bytes]], head: bool) -> None:
        variant = ""
        if entry.compressible and accept is not None and rng is None:
            if entry.br and b"br" in accept:
                variant = "br"
            elif entry.gz and b"gzip" in accept:
                variant = "gz"
        if inm is not None and res.status == 200 and _etag_matches(inm, entry):
            headers = [(b"content-type", entry.ctype), (b"etag", entry.etag_for(variant)), CACHE_CONTROL,
                       *extra, *res.headers]
            if entry.compressible:
                headers.append((b"vary", b"Accept-Encoding"))
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        size = entry.gz if variant == "gz" else entry.br if variant == "br" else entry.size
        body = b""
        if not head and size <= STREAM_ABOVE:
            body = await self._read(entry.sha, variant, size)
            if len(body) != size and variant:  # a variant damaged on disk: serve the original bytes
                variant, size = "", entry.size
                body = await self._read(entry.sha, "", size)
        headers = [(b"content-type", entry.ctype), (b"etag", entry.etag_for(variant)), CACHE_CONTROL,
                   *extra, *res.headers]
        if entry.compressible:
            headers.append((b"vary", b"Accept-Encoding"))
        status = res.status
        start, end = 0, size - 1
        if variant:
            headers.append((b"content-encoding", b"gzip" if variant == "gz" else b"br"))
        else:
            headers.append((b"accept-ranges", b"bytes"))
            if rng is not None and status == 200:
                parsed = parse_range(rng.decode("latin-1"), size)
                if parsed is False:
                    await send_simple(send, 416, b"Range Not Satisfiable\n",
                                      [(b"content-range", f"bytes */{size}".encode())], head)
                    return
                if parsed is not None:
                    start, end = parsed  # type: ignore[misc]
                    status = 206
                    headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
        length = end - start + 1 if size else 0
        headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if head:
            await send({"type": "http.response.body", "body": b""})
        elif size > STREAM_ABOVE:
            await self._stream(send, entry.sha, variant, start, length)
        else:
            await send({"type": "http.response.body", "body": body if status != 206 else body[start:end + 1]})

    async def _read(self, sha: str, variant: str, size: int) -> bytes:
        blobs = self.p.blobs
        if blobs.cacheable(size):
            return blobs.get(sha, variant)
        try:
            return await asyncio.get_running_loop().run_in_executor(None, self.p.store.read, sha, variant)
        except FileNotFoundError:
            if not variant:
                raise
            return b""

    async def _stream(self, send: Send, sha: str, variant: str, start: int, length: int) -> None:
        loop = asyncio.get_running_loop()
        path = self.p.store.path(sha, variant)
        with open(path, "rb") as fh:
            fh.seek(start)
            left = length
            while left > 0:
                chunk = await loop.run_in_executor(None, fh.read, min(CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
        if left > 0:
            await send({"type": "http.response.body", "body": b""})


def _etag_matches(header: bytes, entry: FileEntry) -> bool:
    if header.strip() == b"*":
        return True
    base = entry.etag[1:-1]
    for tag in header.split(b","):
        tag = tag.strip()
        if tag.startswith(b"W/"):
            tag = tag[2:]
        if tag.strip(b'"').split(b"-", 1)[0] == base:
            return True
    return False
