"""In-memory views used by the serving path.

* ``BlobCache``: a byte-budgeted LRU over the blob store (hot files never touch
  the filesystem);
* ``FileEntry``: one served file with its precomputed content type, ETags and
  compressed-variant sizes;
* ``DeployView``: a deployment's file map and compiled rules, plus a bounded
  cache of request path -> ``Resolved`` so a hot path costs one dict lookup
  (the cache of them is ``indexes.ViewCache``).
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .rules import MATCH_PATH_MAX, RULE_FILES, CompiledRules, Request
from .store import BlobStore, is_compressible

TEXT_LIKE = ("application/javascript", "application/json", "application/xml", "image/svg+xml",
             "application/manifest+json")
_EXTRA_TYPES = {".js": "application/javascript", ".mjs": "application/javascript", ".json": "application/json",
                ".webmanifest": "application/manifest+json", ".wasm": "application/wasm",
                ".svg": "image/svg+xml", ".woff2": "font/woff2", ".woff": "font/woff", ".avif": "image/avif",
                ".webp": "image/webp", ".map": "application/json", ".txt": "text/plain", ".md": "text/markdown",
                ".ico": "image/x-icon", ".ttf": "font/ttf", ".otf": "font/otf", ".xml": "application/xml"}
RESOLVE_CACHE_MAX = 4096
NO_REQUEST = Request()
_BAD_HEADER_CHAR = re.compile(r"[^\t\x20-\x7e]")


def _header_value(value: str) -> str:
    """A header value filled from the request, with what a header cannot carry percent-encoded."""
    return _BAD_HEADER_CHAR.sub(lambda m: quote(m.group(0)), value)[:8192]


def content_type(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    ctype = _EXTRA_TYPES.get(ext) or mimetypes.types_map.get(ext) or "application/octet-stream"
    if ctype.startswith("text/") or ctype in TEXT_LIKE:
        ctype += "; charset=utf-8"
    return ctype


class BlobCache:
    """LRU of blob bytes bounded by a byte budget (keys: sha or sha.variant)."""

    def __init__(self, store: BlobStore, budget: int = 64 << 20) -> None:
        self.store = store
        self.budget = budget
        self.max_item = max(1, budget // 8)
        self.used = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def cacheable(self, size: int) -> bool:
        return size <= self.max_item

    def get(self, sha: str, variant: str = "") -> bytes:
        key = f"{sha}.{variant}" if variant else sha
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
            self.hits += 1
            return data
        self.misses += 1
        try:
            data = self.store.read(sha, variant)
        except FileNotFoundError:
            if not variant:
                raise
            return b""  # a lost variant: the caller falls back to the original bytes
        if len(data) <= self.max_item:
            self._items[key] = data
            self.used += len(data)
            while self.used > self.budget and self._items:
                _, old = self._items.popitem(last=False)
                self.used -= len(old)
        return data


@dataclass(slots=True)
class FileEntry:
    path: str
    sha: str
    size: int
    gz: int
    br: int
    ctype: bytes
    compressible: bool
    etag: bytes  # identity ETag; variants append -gz / -br inside the quotes

    def etag_for(self, variant: str) -> bytes:
        return self.etag if not variant else self.etag[:-1] + b"-" + variant.encode() + b'"'


@dataclass(slots=True)
class Resolved:
    """What a request path of one deployment turns into."""

    kind: str  # "file" | "redirect" | "missing"
    status: int = 200
    entry: FileEntry | None = None
    location: str = ""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    prebuilt: dict[str, Any] = field(default_factory=dict)  # encoding -> 200 headers (serving.Headers)


def make_entry(path: str, info: list[Any]) -> FileEntry:
    sha, size, gz, br = info[0], int(info[1]), int(info[2]), int(info[3])
    ctype = content_type(path)
    return FileEntry(path=path, sha=sha, size=size, gz=gz, br=br, ctype=ctype.encode(),
                     compressible=is_compressible(ctype), etag=f'"{sha[:32]}"'.encode())


class DeployView:
    """A ready deployment as the serving path sees it."""

    def __init__(self, deploy_id: str, site: str, files: dict[str, list[Any]], rules: dict[str, Any] | None) -> None:
        self.id = deploy_id
        self.site = site
        self.id_header = deploy_id.encode()
        self.files: dict[str, FileEntry] = {p: make_entry(p, info) for p, info in files.items()
                                            if p not in RULE_FILES}
        self.rules = CompiledRules(rules)
        self._resolved: dict[str, Resolved] = {}

    def lookup(self, path: str) -> FileEntry | None:
        rel = path.lstrip("/")
        files = self.files
        if rel == "" or rel.endswith("/"):
            entry = files.get(rel + "index.html")
            if entry is None and rel:
                entry = files.get(rel[:-1] + ".html")
            return entry
        entry = files.get(rel)
        if entry is None:
            entry = files.get(rel + ".html") or files.get(rel + "/index.html")
        return entry

    def resolve(self, path: str, query: str | bytes = "", req: Request | None = None) -> Resolved:
        """What ``path`` turns into. ``query`` (the raw query string) counts only when a Netlify rule
        has query conditions (``/blog post=:id /blog/:id``), then it is part of the cache key; ``req``
        (host, query, headers) only matters to conditional vercel.json rules, whose answers are
        therefore not kept in the per-path cache."""
        if isinstance(query, bytes):
            query = query.decode("latin-1")
        if not self.rules.by_query:
            query = ""
        if self.rules.conditional:
            return self._resolve(path, query, req or NO_REQUEST)
        key = f"{path}?{query}" if query else path
        hit = self._resolved.get(key)
        if hit is None:
            hit = self._resolve(path, query, NO_REQUEST)
            if len(self._resolved) >= RESOLVE_CACHE_MAX:
                self._resolved.clear()
            self._resolved[key] = hit
        return hit

    def _resolve(self, path: str, query: str, req: Request) -> Resolved:
        rules = self.rules
        if rules.empty:
            entry = self.lookup(path)
            return Resolved("file", 200, entry) if entry is not None else self._missing(path)
        vercel = rules.vercel if len(path) <= MATCH_PATH_MAX else None
        found_headers: dict[str, tuple[str, str]] = {}
        lower = path.lower()
        if vercel is not None:
            for kind, route in vercel.before:
                params = route.match(path, req, lower)
                if params is None:
                    continue
                if kind == "redirect":
                    return Resolved("redirect", route.status, location=route.fill(route.dest, params, location=True))
                if kind == "stop":
                    break
                for key, value in route.headers:
                    found_headers[key.lower()] = (key, _header_value(route.fill(value, params, location=False)))
        headers = self._headers(path, list(found_headers.values()))
        entry = self.lookup_vercel(path) if rules.vercel is not None else self.lookup(path)
        if entry is not None:
            forced = rules.first(rules.netlify, path, query, forced_only=True)
            return self._apply(forced, path) if forced else Resolved("file", 200, entry, headers=headers)
        found = rules.first(rules.netlify, path, query)
        if found is not None:
            return self._apply(found, path)
        for route in vercel.rewrites if vercel is not None else ():
            params = route.match(path, req)  # the path changes with each rewrite
            if params is None:
                continue
            path = route.fill(route.dest, params, location=False).split("?", 1)[0].split("#", 1)[0]
            entry = self.lookup_vercel(path)
            if entry is not None:
                return Resolved("file", route.status or 200, entry, headers=headers)
        entry = self.files.get("404.html")
        return Resolved("missing", 404, entry, headers=headers)

    def lookup_vercel(self, path: str) -> FileEntry | None:
        """The file Vercel serves for ``path``: the file itself, ``index.html`` of a folder, and
        ``<path>.html`` only with ``cleanUrls``."""
        rel, files = path.lstrip("/"), self.files
        clean = self.rules.vercel is not None and self.rules.vercel.clean_urls
        if rel == "" or rel.endswith("/"):
            entry = files.get(rel + "index.html")
            if entry is None and rel and clean:
                entry = files.get(rel[:-1] + ".html")
            return entry
        entry = files.get(rel)
        if entry is None and clean:
            entry = files.get(rel + ".html")
        return entry if entry is not None else files.get(rel + "/index.html")

    def _apply(self, found: tuple[Any, str], path: str) -> Resolved:
        rule, dest = found
        if 300 <= rule.status < 400:
            return Resolved("redirect", rule.status, location=dest)
        target = self.lookup(dest.split("#", 1)[0].split("?", 1)[0])
        if target is None:
            return self._missing(path)
        return self._file(target, rule.status, path)

    def _file(self, entry: FileEntry, status: int, path: str) -> Resolved:
        return Resolved("file", status, entry, headers=self._headers(path))

    def _missing(self, path: str) -> Resolved:
        entry = self.files.get("404.html")
        return Resolved("missing", 404, entry, headers=self._headers(path))

    def _headers(self, path: str, more: list[tuple[str, str]] | None = None) -> list[tuple[bytes, bytes]]:
        """Rule headers for ``path``, lower-case, one per name (``more``: vercel.json's, which win)."""
        found = {k.lower(): v for k, v in self.rules.extra_headers(path)}
        found.update((k.lower(), v) for k, v in more or ())
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in found.items()]

