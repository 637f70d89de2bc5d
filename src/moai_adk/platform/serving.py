"""The serving path: which deployment and file answer a request, as an
interface-neutral decision plus thin ASGI (here) and RSGI (``rsgi.py``) adapters.

Which deployment answers:

* ``Host: <site>.<domain>`` -> the site's production (or its weighted split);
* ``Host: <deploy>.<site>.<domain>`` -> that deployment;
* ``Host: <environment>.env.<site>.<domain>`` -> the deployment that environment alias
  of the site points at (``environments.py``);
* ``/_sites/<site>/...``, ``/_deploys/<deploy>/...`` and ``/_envs/<site>/<environment>/...``
  on any host (the path forms);
* any other path on a host that names no site, when the request carries the
  path forms' scope cookie: the site or deployment last visited in a path form
  on that host:port (so a page's root-absolute ``/css/style.css`` resolves).

The scope cookie (``moai_scope_<port>``, ``Path=/; HttpOnly; SameSite=Lax``)
is set by a path-form answer to a page visit (``Accept`` names ``text/html``,
as browsers' navigations do; curl, scripts and health checks get no cookie)
that finds a site or deployment, unless the request carries that scope
already; cookies are shared across ports, so its name carries the port of the
Host header.

A request resolves its deployment once, then its path once per deployment
(cached), so one response always comes from one complete deployment. Bytes
come from the in-memory LRU (``BlobCache``); gzip/brotli variants were made at
finalize time. ETag/If-None-Match -> 304, single byte ranges -> 206/416.

``Server.respond`` returns a ``Reply``: ``(status, headers, body, stream)``
(or an awaitable of one when bytes come from disk).
``headers`` is a ``Headers`` holding the ASGI byte pairs and, made once on
first use, the RSGI str pairs; the 200 headers of a path are built once per
encoding and kept on its ``Resolved``. ``stream`` is a ``FileSlice`` for files
above ``STREAM_ABOVE`` (then ``body`` is empty), else None.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

from .environments import ALIAS_LABEL
from .environments import PATH_PREFIX as ENV_PREFIX
from .indexes import IndexNotLoaded
from .rules import Request
from .rules_patterns import safe_location, with_query
from .service import Platform
from .views import DeployView, FileEntry, Resolved
from .wire import (
    STREAM_ABOVE,
    FileSlice,
    Headers,
    RawHeaders,
    Receive,
    Reply,
    Scope,
    Send,
    _query,
    cookie_value,
    parse_range,
    scope_cookie_name,
    simple,
)

COOKIE = "moai_bucket"
CACHE_CONTROL = (b"cache-control", b"public, max-age=0, must-revalidate")
HOSTS_MAX = 1024

NOT_ALLOWED = simple(405, b"Method Not Allowed\n", [(b"allow", b"GET, HEAD")])
_NO_HOST = b"moai-adk platform: use http://<site>.localhost:<port>/ or /_sites/<site>/\n"
_NO_SITE = b"No such site or deployment on this moai-adk platform.\n"
NO_HOST = (simple(404, _NO_HOST), simple(404, _NO_HOST, head=True))  # [head]
NO_SITE = (simple(404, _NO_SITE), simple(404, _NO_SITE, head=True))


class Server:
    """The edge: maps a request to a deployment and a file (``respond``); ASGI callable."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.suffix = "." + platform.domain
        self._hosts: dict[str | bytes, tuple[str, ...] | None] = {}  # Host header -> labels below the domain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = b""
        inm = accept = rng = cookie = wants = None
        for k, v in scope["headers"]:
            if k == b"host":
                host = v
            elif k == b"accept":
                wants = v.decode("latin-1")
            elif k == b"if-none-match":
                inm = v.decode("latin-1")
            elif k == b"accept-encoding":
                accept = v.decode("latin-1")
            elif k == b"range":
                rng = v.decode("latin-1")
            elif k == b"cookie":
                cookie = v.decode("latin-1")
        raw = scope["headers"]

        def header(name: str) -> str | None:
            key = name.encode("latin-1")
            return next((v.decode("latin-1") for k, v in raw if k == key), None)

        reply = self.respond(scope["method"], host, scope["path"], scope.get("query_string", b""), inm, accept,
                             rng, cookie, wants, header)
        if not isinstance(reply, tuple):
            reply = await reply
        status, headers, body, stream = reply
        await send({"type": "http.response.start", "status": status, "headers": headers.raw})
        if stream is None:
            await send({"type": "http.response.body", "body": body})
            return
        async with aclosing(stream.chunks()) as chunks:
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def _labels(self, host: str | bytes) -> tuple[str, ...] | None:
        labels = self._hosts.get(host, ())
        if labels == ():
            name = host.decode("latin-1") if isinstance(host, bytes) else host
            hostname = name.rsplit(":", 1)[0].lower() if name else ""
            labels = (tuple(hostname[: -len(self.suffix)].split(".")) if hostname.endswith(self.suffix)
                      else None)
            if len(self._hosts) >= HOSTS_MAX:
                self._hosts.clear()
            self._hosts[host] = labels
        return labels

    def respond(self, method: str, host: str | bytes, path: str, query: str | bytes, inm: str | None,
                accept: str | None, rng: str | None, cookie: str | None,
                wants: str | None = None,
                header: Callable[[str], str | None] | None = None) -> Reply | Awaitable[Reply]:
        """The whole answer to one request (``query``: the raw query string; ``wants``: its ``Accept``
        header, which tells a browser's page visit from other requests; ``header(name)``: any request
        header, for rules with conditions): a ``Reply``,
        or an awaitable of it when the answer needs more than the in-memory blob cache
        (a coroutine less on the hot path), or the deployment's index is not loaded yet
        (it is built on a worker thread, never on the event loop)."""
        try:
            return self._respond(method, host, path, query, inm, accept, rng, cookie, wants, header)
        except IndexNotLoaded as missing:
            return self._after_loading(missing.deploy_id, method, host, path, query, inm, accept, rng, cookie,
                                       wants, header)

    async def _after_loading(self, deploy_id: str, *request: Any) -> Reply:
        loop = asyncio.get_running_loop()
        for _ in range(3):  # evicted again before this request used it: load once more
            await loop.run_in_executor(None, self.p.load_view, deploy_id)
            try:
                reply = self._respond(*request)
            except IndexNotLoaded as missing:
                deploy_id = missing.deploy_id
                continue
            return reply if isinstance(reply, tuple) else await reply
        return simple(503, b"Deployment index cache too small for this request; retry.\n",
                      [(b"retry-after", b"1")], request[0] == "HEAD")

    def _respond(self, method: str, host: str | bytes, path: str, query: str | bytes, inm: str | None,
                 accept: str | None, rng: str | None, cookie: str | None, wants: str | None = None,
                 header: Callable[[str], str | None] | None = None) -> Reply | Awaitable[Reply]:
        head = method == "HEAD"
        if method != "GET" and not head:
            return NOT_ALLOWED
        prefix = ""
        set_cookie: bytes | None = None
        scope_cookie: bytes | None = None
        view: DeployView | None
        if path.startswith(ENV_PREFIX):  # /_envs/<site>/<environment>/... (environments.py)
            site, _, rest = path[len(ENV_PREFIX):].partition("/")
            env, slash, tail = rest.partition("/")
            prefix = f"{ENV_PREFIX}{site}/{env}"
            if site and env and not slash:
                qs = _query(query)
                return simple(308, b"", [(b"location", (prefix + "/" + ("?" + qs if qs else "")).encode())], head)
            path = "/" + tail
            view, set_cookie = self._env_view(site, env, cookie)
            if view is not None and wants is not None and "text/html" in wants:
                scope_cookie = self._scope_cookie(host, f"e.{site}.{env}", cookie)
        elif path.startswith(("/_sites/", "/_deploys/")):
            kind, _, rest = path[1:].partition("/")
            name, slash, tail = rest.partition("/")
            prefix = f"/{kind}/{name}"
            if not slash:
                qs = _query(query)
                loc = prefix + "/" + ("?" + qs if qs else "")
                return simple(308, b"", [(b"location", loc.encode())], head)
            path = "/" + tail
            view, set_cookie = self._scoped_view(kind[1], name, cookie)
            if view is not None and wants is not None and "text/html" in wants:
                scope_cookie = self._scope_cookie(host, kind[1] + "." + name, cookie)
        else:
            labels = self._labels(host)
            if labels is None:  # no site in the Host: the path forms' scope cookie may name one
                scope = cookie_value(cookie, scope_cookie_name(host)) if cookie is not None else None
                if scope is None:
                    return NO_HOST[head]
                kind, _, name = scope.partition(".")
                view, set_cookie = self._scoped_view(kind, name, cookie)
                if set_cookie is None:
                    set_cookie = b""  # the answer depends on the cookie: Vary, nothing to set
            elif len(labels) == 1:
                view, set_cookie = self._site_view(labels[0], cookie)
            elif len(labels) == 2:
                view = self.p.ready_view(labels[0])
                if view is not None and view.site != labels[1]:
                    view = None
            elif len(labels) == 3 and labels[1] == ALIAS_LABEL:  # <environment>.env.<site>
                view, set_cookie = self._env_view(labels[2], labels[0], cookie)
            else:
                view = None
        if view is None:
            return NO_SITE[head]
        if view.rules.conditional:
            hostname = host.decode("latin-1") if isinstance(host, bytes) else host
            res = view.resolve(path, query, Request(hostname, _query(query), header))
        else:
            res = view.resolve(path, query)
        entry = res.entry
        if (res.kind == "file" and inm is None and rng is None and set_cookie is None and scope_cookie is None
                and not head
                and res.status == 200 and entry is not None and entry.size <= STREAM_ABOVE):
            # hot path: a full 200 with headers built once per (path, encoding)
            variant = ""
            if entry.compressible and accept is not None:
                if entry.br and "br" in accept:
                    variant = "br"
                elif entry.gz and "gzip" in accept:
                    variant = "gz"
            size = entry.gz if variant == "gz" else entry.br if variant == "br" else entry.size
            blobs = self.p.blobs
            if blobs.cacheable(size):  # else (or a damaged variant) ``_file`` below reads it from disk
                body = blobs.get(entry.sha, variant)
                if len(body) == size:
                    headers = res.prebuilt.get(variant)
                    if headers is None:
                        headers = res.prebuilt[variant] = Headers(
                            self._headers(res, entry, variant, view.id_header, size))
                    return 200, headers, body, None
        extra: RawHeaders = [(b"x-moai-deploy", view.id_header)]
        if set_cookie is not None:
            extra.append((b"vary", b"Cookie"))
            if set_cookie:
                extra.append((b"set-cookie", set_cookie))
        if scope_cookie is not None:
            extra.append((b"set-cookie", scope_cookie))
        if res.kind == "redirect":
            loc = safe_location(res.location)
            if prefix and loc.startswith("/"):
                loc = prefix + loc
            loc = with_query(loc, _query(query))
            return simple(res.status, b"", extra + [(b"location", loc.encode("utf-8"))], head)
        if entry is None:
            return simple(404, b"Not Found\n", extra + res.headers, head)
        return self._file(res, entry, inm, accept, rng, extra, head)

    @staticmethod
    def _headers(res: Resolved, entry: FileEntry, variant: str, deploy: bytes, size: int) -> RawHeaders:
        headers = [(b"content-type", entry.ctype), (b"etag", entry.etag_for(variant)), *_cache_control(res),
                   (b"x-moai-deploy", deploy), *res.headers]
        if entry.compressible:
            headers.append((b"vary", b"Accept-Encoding"))
        if variant:
            headers.append((b"content-encoding", b"gzip" if variant == "gz" else b"br"))
        else:
            headers.append((b"accept-ranges", b"bytes"))
        headers.append((b"content-length", str(size).encode()))
        return headers

    def _scoped_view(self, kind: str, name: str, cookie: str | None) -> tuple[DeployView | None, bytes | None]:
        """The view of a path form or scope: ``kind`` "s" (a site, with its split) or "d" (a deployment)."""
        if kind == "s":
            return self._site_view(name, cookie)
        if kind == "d" and name:
            return self.p.ready_view(name), None
        if kind == "e":
            site, _, env = name.partition(".")
            return self._env_view(site, env, cookie)
        return None, None

    def _env_view(self, site: str, env: str, cookie: str | None) -> tuple[DeployView | None, bytes | None]:
        """The view of an environment alias of ``site`` (``production``: the site itself, split and all)."""
        if env == "production":
            return self._site_view(site, cookie)
        deploy_id = self.p.envs.deploy_for(site, env)
        if deploy_id is None:
            return None, None
        view = self.p.views.peek(deploy_id)
        if view is None:
            view = self.p.ready_view(deploy_id)
        return view, None

    @staticmethod
    def _scope_cookie(host: str | bytes, scope: str, cookie: str | None) -> bytes | None:
        """The ``Set-Cookie`` that scopes later root-absolute paths on this host:port, unless already sent."""
        name = scope_cookie_name(host)
        if cookie is not None and cookie_value(cookie, name) == scope:
            return None
        return f"{name}={scope}; Path=/; HttpOnly; SameSite=Lax".encode()

    def _site_view(self, site: str, cookie: str | None) -> tuple[DeployView | None, bytes | None]:
        state = self.p.sites.get(site)
        if state is None:
            return None, None
        set_cookie = None
        bucket = 0
        if state.split is not None:
            found = -1
            if cookie is not None:
                for part in cookie.split(";"):
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

    async def _file(self, res: Resolved, entry: FileEntry, inm: str | None, accept: str | None, rng: str | None,
                    extra: RawHeaders, head: bool) -> Reply:
        variant = ""
        if entry.compressible and accept is not None and rng is None:
            if entry.br and "br" in accept:
                variant = "br"
            elif entry.gz and "gzip" in accept:
                variant = "gz"
        if inm is not None and res.status == 200 and _etag_matches(inm, entry):
            headers = [(b"content-type", entry.ctype), (b"etag", entry.etag_for(variant)), *_cache_control(res),
                       *extra, *res.headers]
            if entry.compressible:
                headers.append((b"vary", b"Accept-Encoding"))
            return 304, Headers(headers), b"", None
        size = entry.gz if variant == "gz" else entry.br if variant == "br" else entry.size
        body = b""
        if not head and size <= STREAM_ABOVE:
            body = await self._read(entry.sha, variant, size)
            if len(body) != size and variant:  # a variant damaged on disk: serve the original bytes
                variant, size = "", entry.size
                body = await self._read(entry.sha, "", size)
        headers = [(b"content-type", entry.ctype), (b"etag", entry.etag_for(variant)), *_cache_control(res),
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
                parsed = parse_range(rng, size)
                if parsed is False:
                    return simple(416, b"Range Not Satisfiable\n", [(b"content-range", f"bytes */{size}".encode())],
                                  head)
                if parsed is not None:
                    start, end = parsed  # type: ignore[misc]
                    status = 206
                    headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
        length = end - start + 1 if size else 0
        headers.append((b"content-length", str(length).encode()))
        if head:
            return status, Headers(headers), b"", None
        if size > STREAM_ABOVE:
            return status, Headers(headers), b"", FileSlice(str(self.p.store.path(entry.sha, variant)), start, length)
        return status, Headers(headers), body if status != 206 else body[start:end + 1], None

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


def _cache_control(res: Resolved) -> tuple[tuple[bytes, bytes], ...]:
    """The platform's default ``Cache-Control``, unless a rule sets one for this path (it replaces it)."""
    return () if any(k == b"cache-control" for k, _ in res.headers) else (CACHE_CONTROL,)


def _etag_matches(header: str, entry: FileEntry) -> bool:
    if header.strip() == "*":
        return True
    base = entry.etag[1:-1].decode("latin-1")
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"').split("-", 1)[0] == base:
            return True
    return False
