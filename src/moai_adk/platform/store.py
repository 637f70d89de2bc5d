"""Content-addressed blob store on the filesystem.

Layout under ``<data>/blobs``: ``ab/cd/abcd...<sha256>`` for the bytes, plus
optional ``<sha256>.gz`` and ``<sha256>.br`` compressed variants written once
when a deployment is finalized. Every write goes to a temp file in the same
folder and is renamed into place, so a killed upload never leaves a
half-written blob under its final name; blobs are fsynced before the rename.
Variants are derived data: they skip the fsync, their sizes are recorded in
the metadata DB, and the server falls back to the original bytes when a
variant on disk does not have its recorded size. Blobs are shared by all
deployments.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import zlib
from pathlib import Path

import brotli

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
VARIANTS = ("gz", "br")
# Compress only when it saves at least this fraction of the bytes.
MIN_SAVING = 0.9
MIN_COMPRESS_SIZE = 128
MAX_COMPRESS_SIZE = 8 << 20  # larger files are streamed from disk, uncompressed

COMPRESSIBLE_PREFIXES = ("text/",)
COMPRESSIBLE_TYPES = frozenset({
    "application/javascript", "application/json", "application/xml", "application/manifest+json",
    "application/ld+json", "application/wasm", "application/xhtml+xml", "application/rss+xml",
    "application/atom+xml", "image/svg+xml", "application/vnd.ms-fontobject", "font/ttf", "font/otf",
    "application/x-font-ttf", "image/x-icon", "image/vnd.microsoft.icon", "application/x-javascript",
})


def is_compressible(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    return base.startswith(COMPRESSIBLE_PREFIXES) or base in COMPRESSIBLE_TYPES


class BlobHashMismatch(ValueError):
    """The uploaded bytes do not hash to the name they were sent under."""

    def __init__(self, expected: str, actual: str, size: int) -> None:
        super().__init__(f"sha256 of the {size} uploaded bytes is {actual}, not {expected}")
        self.expected = expected
        self.actual = actual
        self.size = size


class BlobStore:
    """Filesystem blobs addressed by lowercase hex SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._base = str(root)

    def path(self, sha: str, variant: str = "") -> Path:
        return Path(self.fspath(sha, variant))

    def fspath(self, sha: str, variant: str = "") -> str:
        name = f"{sha}.{variant}" if variant else sha
        return f"{self._base}/{sha[:2]}/{sha[2:4]}/{name}"

    def exists(self, sha: str) -> bool:
        return os.path.exists(self.fspath(sha))

    def missing(self, hashes: set[str]) -> list[str]:
        """The hashes the store lacks, sorted."""
        exists = os.path.exists
        return sorted(h for h in hashes if not exists(self.fspath(h)))

    def size(self, sha: str, variant: str = "") -> int | None:
        try:
            return os.stat(self.fspath(sha, variant)).st_size
        except FileNotFoundError:
            return None

    def read(self, sha: str, variant: str = "") -> bytes:
        with open(self.fspath(sha, variant), "rb") as fh:
            return fh.read()

    def put(self, sha: str, data: bytes) -> bool:
        """Verify and store ``data`` under ``sha``; False when it was already there."""
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise BlobHashMismatch(sha, actual, len(data))
        if self.exists(sha):
            return False
        self._write(self.fspath(sha), data)
        return True

    def _write(self, final: str, data: bytes, *, durable: bool = True) -> None:
        """Write to ``<final>.tmp-<pid>-<thread>`` in the same folder, then rename."""
        folder = os.path.dirname(final)
        tmp = f"{folder}/.tmp-{os.getpid()}-{threading.get_ident()}-{os.path.basename(final)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def make_variants(self, sha: str) -> tuple[int, int]:
        """Write gzip and brotli variants of a blob; returns their sizes.

        A size of 0 means "no variant": the blob is tiny, too large to hold
        in memory, or compressing did not save enough. The caller records the
        sizes (metadata DB and the deployment's file map), so this runs once
        per blob and serving never stats the filesystem.
        """
        size = self.size(sha) or 0
        if size < MIN_COMPRESS_SIZE or size > MAX_COMPRESS_SIZE:
            return 0, 0
        data = self.read(sha)
        sizes: list[int] = []
        for variant in VARIANTS:
            packed = compress(data, variant)
            if len(packed) > len(data) * MIN_SAVING:
                sizes.append(0)
                continue
            self._write(self.fspath(sha, variant), packed, durable=False)
            sizes.append(len(packed))
        return sizes[0], sizes[1]


def compress(data: bytes, variant: str) -> bytes:
    if variant == "gz":  # gzip container (wbits 31), mtime 0: deterministic bytes
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        return packer.compress(data) + packer.flush()
    if variant == "br":
        packed: bytes = brotli.compress(data, quality=9 if len(data) < 1 << 20 else 5)
        return packed
    raise ValueError(variant)
