"""Content-addressed blob store on the filesystem.

Layout under ``<data>/blobs``: ``ab/cd/abcd...<sha256>`` for the bytes, plus
optional ``<sha256>.gz`` and ``<sha256>.br`` compressed variants written once
when a deployment is finalized. Every write goes to a temp file in
``blobs/.tmp`` (same filesystem) and is renamed into place, so a killed upload
never leaves a half-written blob under its final name; blobs are fsynced
before the rename. Uploads arrive through a ``BlobWriter``: the bytes go to
disk as they come, hashed and counted on the way, so a blob of any size costs
the same memory. Temp files of processes that no longer run (a ``kill -9``
mid-upload) are removed when the store is opened.
Variants are derived data: they skip the fsync, their sizes are recorded in
the metadata DB, and the server falls back to the original bytes when a
variant on disk does not have its recorded size. Blobs are shared by all
deployments.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import brotli

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
VARIANTS = ("gz", "br")
# Compress only when it saves at least this fraction of the bytes.
MIN_SAVING = 0.9
MIN_COMPRESS_SIZE = 1024  # below this a variant saves less than its headers cost; half a site's files
MAX_COMPRESS_SIZE = 8 << 20  # larger files are streamed from disk, uncompressed
TMP_DIR = ".tmp"
STALE_TMP_SECONDS = 3600  # a temp file nobody wrote to for an hour is abandoned, whatever its pid

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


class BlobTooLarge(ValueError):
    """An upload passed the size limit it was received under."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the blob is larger than the limit of {limit} bytes")
        self.limit = limit


def _pid_alive(pid: int) -> bool:
    """Is ``pid`` a running process? A zombie is not (a killed worker whose parent died too may
    stay one where nothing reaps it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BlobStore:
    """Filesystem blobs addressed by lowercase hex SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / TMP_DIR
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._base = str(root)
        self._tmp = str(self.tmp)
        self.swept = self.sweep()

    def sweep(self) -> int:
        """Remove temp files left by processes that died mid-write; returns how many."""
        removed = 0
        now = time.time()
        with os.scandir(self._tmp) as entries:
            for entry in entries:
                pid_text = entry.name.split("-", 2)[1] if entry.name.startswith("tmp-") else ""
                try:
                    stale = (not pid_text.isdigit() or not _pid_alive(int(pid_text))
                             or now - entry.stat().st_mtime > STALE_TMP_SECONDS)
                    if stale:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def temp_path(self, name: str) -> str:
        return f"{self._tmp}/tmp-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}-{name}"

    def writer(self, sha: str, limit: int) -> BlobWriter:
        """A ``BlobWriter`` receiving the bytes of ``sha`` (at most ``limit`` of them)."""
        return BlobWriter(self, sha, limit)

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

    def place(self, tmp: str, final: str) -> None:
        """Rename a finished temp file to its final name (creating the folders)."""
        try:
            os.replace(tmp, final)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(tmp, final)

    def _write(self, final: str, data: bytes, *, durable: bool = True) -> None:
        """Write to a temp file in ``blobs/.tmp``, then rename."""
        tmp = self.temp_path(os.path.basename(final))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            self.place(tmp, final)
        except BaseException:
            _unlink(tmp)
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


class BlobWriter:
    """The bytes of one blob as they arrive: written to a temp file, hashed and
    counted on the way. ``commit`` verifies the hash and renames the file into
    place; ``abort`` (or any failure) removes the temp file."""

    def __init__(self, store: BlobStore, sha: str, limit: int) -> None:
        self.store = store
        self.sha = sha
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
        self._tmp = store.temp_path(sha)
        self._fd: int | None = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``; ``BlobTooLarge`` (temp file removed) once past the limit."""
        self.size += len(data)
        if self.size > self.limit:
            self.abort()
            raise BlobTooLarge(self.limit)
        self._hash.update(data)
        view = memoryview(data)
        try:
            while view:
                assert self._fd is not None
                view = view[os.write(self._fd, view):]
        except BaseException:
            self.abort()
            raise

    def commit(self) -> bool:
        """Verify, fsync and store; False when the store already had the blob. ``BlobHashMismatch``
        when the bytes hash differently (nothing stored)."""
        try:
            if not self.verify():
                return False
            assert self._fd is not None
            os.fsync(self._fd)
            self._close()
            self.store.place(self._tmp, self.store.fspath(self.sha))
            return True
        finally:
            self.abort()

    def verify(self) -> bool:
        """Check the hash (``BlobHashMismatch``, temp file removed); False (temp file removed) when
        the store already has the blob, else True with the bytes complete in the temp file."""
        actual = self._hash.hexdigest()
        if actual != self.sha:
            self.abort()
            raise BlobHashMismatch(self.sha, actual, self.size)
        if os.path.exists(self.store.fspath(self.sha)):
            self.abort()
            return False
        return True

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def abort(self) -> None:
        self._close()
        _unlink(self._tmp)


class PendingBlobs:
    """Verified blobs of one batch waiting in their temp files: ``place`` makes them durable with
    one filesystem sync (Linux ``syncfs``: one journal commit instead of one fsync per blob), then
    renames them into place. Until then none has its final name."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.writers: list[BlobWriter] = []

    def add(self, writer: BlobWriter) -> bool:
        """Verify ``writer`` (``BlobHashMismatch``) and keep it; False when the store has the blob."""
        if not writer.verify():
            return False
        writer._close()
        self.writers.append(writer)
        return True

    def place(self) -> None:
        if not self.writers:
            return
        try:
            sync_tree(self.store, [w._tmp for w in self.writers])
            for w in self.writers:
                self.store.place(w._tmp, self.store.fspath(w.sha))
        finally:
            self.abort()

    def abort(self) -> None:
        for w in self.writers:
            w.abort()
        self.writers = []


def _syncfs() -> Callable[[int], int] | None:
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_SYNCFS = _syncfs()


def sync_tree(store: BlobStore, paths: list[str]) -> None:
    """Make the bytes of ``paths`` durable: one ``syncfs`` of the store's filesystem where there
    is one, else an fsync per file."""
    if _SYNCFS is not None and len(paths) > 1:
        fd = os.open(store._tmp, os.O_RDONLY)
        try:
            if _SYNCFS(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        finally:
            os.close(fd)
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def is_no_space(exc: BaseException) -> bool:
    """Did the filesystem run out of space (or quota)?"""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def compress(data: bytes, variant: str) -> bytes:
    if variant == "gz":  # gzip container (wbits 31), mtime 0: deterministic bytes
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        return packer.compress(data) + packer.flush()
    if variant == "br":
        packed: bytes = brotli.compress(data, quality=9 if len(data) < 1 << 20 else 5)
        return packed
    raise ValueError(variant)
