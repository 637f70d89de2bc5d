"""File hashes per provider, computed from one read of each file.

``ALGORITHMS`` maps a name to a function of the file's bytes (and path):

- ``sha1``        SHA-1 of the raw bytes (Vercel, Netlify)
- ``sha256``      SHA-256 of the raw bytes (local platform)
- ``md5``         MD5 of the raw bytes (Amplify's fileMap)
- ``gzip-sha256`` SHA-256 of the deterministic gzip (level 9, mtime 0) of the
                  bytes (Firebase Hosting uploads exactly those gzip bytes)
- ``blake3-pages`` BLAKE3(base64(bytes) + extension)[:32] (Cloudflare Pages)
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
from collections.abc import Callable

HashFn = Callable[[bytes, str], str]


def deterministic_gzip(data: bytes) -> bytes:
    """gzip with a fixed header (mtime 0, no name) so the same bytes always
    compress to the same output: what Firebase hashes is what we upload."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def _sha1(data: bytes, _path: str) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _sha256(data: bytes, _path: str) -> str:
    return hashlib.sha256(data).hexdigest()


def _md5(data: bytes, _path: str) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _gzip_sha256(data: bytes, _path: str) -> str:
    return hashlib.sha256(deterministic_gzip(data)).hexdigest()


def _blake3_pages(data: bytes, path: str) -> str:
    try:
        from blake3 import blake3
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on install
        from ..errors import UsageError

        raise UsageError(
            "Cloudflare Pages hashes need the blake3 package.",
            hint="pip install 'moai-adk[cloudflare]'",
        ) from exc
    ext = os.path.splitext(path)[1].lstrip(".")
    return blake3(base64.b64encode(data) + ext.encode()).hexdigest()[:32]


ALGORITHMS: dict[str, HashFn] = {
    "sha1": _sha1,
    "sha256": _sha256,
    "md5": _md5,
    "gzip-sha256": _gzip_sha256,
    "blake3-pages": _blake3_pages,
}


def hash_bytes(data: bytes, path: str, algorithms: tuple[str, ...]) -> dict[str, str]:
    return {algo: ALGORITHMS[algo](data, path) for algo in algorithms}
