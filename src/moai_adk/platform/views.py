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
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .rules import RULE_FILES, CompiledRules
from .store import BlobStore, is_compressible

TEXT_LIKE = ("application/javascript", "application/json", "application/xml", "image/svg+xml",
             "application/manifest+json")
_EXTRA_TYPES = {".js": "application/javascript", ".mjs": "application/javascript", ".json": "application/json",
                ".webmanifest": "application/manifest+json", ".wasm": "application/wasm",
                ".svg": "image/svg+xml", ".woff2": "font/woff2", ".woff": "font/woff", ".avif": "image/avif",
                ".webp": "image/webp", ".map": "application/json", ".txt": "text/plain", ".md": "text/markdown",
                ".ico": "image/x-icon", ".ttf": "font/ttf", ".otf": "font/otf", ".xml": "application/xml"}
RESOLVE_CACHE_MAX = 4096


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

    def resolve(self, path: str) -> Resolved:
        hit = self._resolved.get(path)
        if hit is None:
            hit = self._resolve(path)
            if len(self._resolved) >= RESOLVE_CACHE_MAX:
                self._resolved.clear()
            self._resolved[path] = hit
        return hit

    def _resolve(self, path: str) -> Resolved:
        rules = self.rules
        if rules.empty:
            entry = self.lookup(path)
            return Resolved("file", 200, entry) if entry is not None else self._missing(path)
        found = rules.first(rules.vredirects, path)
        if found is not None:
            return Resolved("redirect", found[0].status, location=found[1])
        canonical = self._canonical(path)
        if canonical is not None:
            return Resolved("redirect", 308, location=canonical)
        entry = self.lookup(path)
        if entry is not None:
            forced = rules.first(rules.netlify, path, forced_only=True)
            return self._apply(forced, path) if forced else self._file(entry, 200, path)
        found = rules.first(rules.netlify, path)
        if found is None:
            found = rules.first(rules.vrewrites, path)
        return self._apply(found, path) if found else self._missing(path)

    def _canonical(self, path: str) -> str | None:
        rules = self.rules
        if rules.clean_urls and path.endswith(".html") and path.lstrip("/") in self.files:
            bare = path[:-5]
            return (bare[:-6] or "/") if bare.endswith("/index") else bare
        last = path.rsplit("/", 1)[-1]
        if rules.trailing_slash is True and path != "/" and not path.endswith("/") and "." not in last:
            return path + "/"
        if rules.trailing_slash is False and path != "/" and path.endswith("/"):
            return path.rstrip("/") or "/"
        return None

    def _apply(self, found: tuple[Any, str], path: str) -> Resolved:
        rule, dest = found
        if 300 <= rule.status < 400:
            return Resolved("redirect", rule.status, location=dest)
        target = self.lookup(dest.split("?", 1)[0])
        if target is None:
            return self._missing(path)
        return self._file(target, rule.status, path)

    def _file(self, entry: FileEntry, status: int, path: str) -> Resolved:
        return Resolved("file", status, entry, headers=self._headers(path))

    def _missing(self, path: str) -> Resolved:
        entry = self.files.get("404.html")
        return Resolved("missing", 404, entry, headers=self._headers(path))

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.rules.extra_headers(path)]
