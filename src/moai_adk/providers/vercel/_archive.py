"""Vercel's archive deploy (``vercel deploy --archive=tgz``), built deterministically.

What Vercel's client does (packages/client create-deployment.ts, utils/archive.ts):
the files go into one tar stream (regular-file entries only, each with its
permission bits, no directory entries), gzip-compressed at zlib's default
level, cut into 100 MB chunks named ``.vercel/source.tgz.part1``, ``.part2``...
Each chunk is one ``files`` entry of the deployment (``sha`` = SHA-1 of the
chunk, ``mode`` 0o666) and is uploaded like any file (``POST /v2/files``); the
API joins the chunks in order and unpacks them. ``--archive=split-tgz`` is a
deprecated spelling of the same thing.

What this module adds, so an unchanged output gives the same chunks:

* entries sorted by path; mtime 0, uid/gid 0, no owner names; ustar
  headers (a pax header only for a name ustar cannot hold);
* gzip with mtime 0, no file name, OS "Unix" (what Node's zlib writes);
* the deflate stream is compressed in 1 MiB blocks on a thread pool, each
  primed with the 32 KiB before it (as pigz does), so the output depends on
  the input only, never on the number of threads;
* the chunks are written to ``.moai/cache/vercel/`` with their SHA-1s computed
  on the way, and described in ``archive.json`` under a fingerprint of what
  went in (paths, SHA-1s, sizes, modes, format), so a redeploy of the same
  output neither rebuilds nor uploads, and a re-run after an interrupted
  upload sends only the chunks Vercel still lacks.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat as statmod
import struct
import tarfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ...errors import IntegrityError
from ...fsutil import atomic_write

PART_NAME = ".vercel/source.tgz.part"  # the names Vercel's API recognises as archive chunks
PART_MODE = 0o666  # the mode Vercel's client gives each chunk
PART_SIZE = 100 * 1024 * 1024  # the client's chunk size (build-utils streamToBufferChunks)
LEVEL = 6  # zlib's default level: Node's createGzip(), `gzip -6`, `tar czf`
BLOCK = 1 << 20  # deflate block compressed by one worker
WINDOW = 32 * 1024  # deflate's window: each block is primed with the 32 KiB before it
READ_CHUNK = 4 << 20
FORMAT = 1  # bump when the bytes produced for the same input change
CACHE_DIR = Path(".moai") / "cache" / "vercel"
INDEX = "archive.json"
_GZIP_HEADER = b"\x1f\x8b\x08\x00" + b"\x00\x00\x00\x00" + b"\x00\x03"  # deflate, no name, mtime 0, Unix
_ZERO = bytes(512)
_USTAR_TAIL = b"0" + bytes(100) + b"ustar\x0000" + bytes(64) + b"0000000\x00" * 2


class Entry(Protocol):
    """One file of the deployment (``_deploy.ManifestEntry``)."""

    file: str
    sha: str
    size: int
    mode: int
    abspath: str | None
    data: bytes | None


@dataclass(frozen=True)
class Part:
    index: int
    sha: str
    size: int

    @property
    def name(self) -> str:
        return f"{PART_NAME}{self.index}"


@dataclass
class Archive:
    fingerprint: str
    parts: list[Part]
    files: int  # entries in the tarball
    folder: Path

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    def path(self, part: Part) -> Path:
        return self.folder / f"source.tgz.part{part.index}"

    def body(self) -> list[dict[str, Any]]:
        """The deployment's ``files``: one entry per chunk."""
        return [{"file": p.name, "sha": p.sha, "size": p.size, "mode": PART_MODE} for p in self.parts]

    def on_disk(self, part: Part) -> bool:
        """The chunk file is there with the bytes its digest names."""
        path = self.path(part)
        try:
            if path.stat().st_size != part.size:
                return False
        except FileNotFoundError:
            return False
        digest = hashlib.sha1(usedforsecurity=False)
        with open(path, "rb") as fh:
            while chunk := fh.read(READ_CHUNK):
                digest.update(chunk)
        return digest.hexdigest() == part.sha


def fingerprint(entries: Sequence[Entry], part_size: int) -> str:
    """What determines the archive's bytes: every entry's path, SHA-1, size and mode, and the format."""
    digest = hashlib.sha1(f"moai-vercel-tgz {FORMAT} {LEVEL} {zlib.ZLIB_VERSION} {part_size}\n".encode(),
                          usedforsecurity=False)
    digest.update("".join(f"{e.file}\0{e.sha}\0{e.size}\0{e.mode & 0o7777:o}\n"
                          for e in sorted(entries, key=_name)).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _name(e: Entry) -> str:
    return e.file


def cached(root: Path, fp: str) -> Archive | None:
    """The archive last built for fingerprint ``fp`` (its chunks may since have been removed)."""
    try:
        data = json.loads((root / CACHE_DIR / INDEX).read_text(encoding="utf-8"))
        if data.get("fingerprint") != fp:
            return None
        parts = [Part(int(p["index"]), str(p["sha"]), int(p["size"])) for p in data["parts"]]
        return Archive(fp, parts, int(data["files"]), root / CACHE_DIR)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember(archive: Archive) -> None:
    atomic_write(archive.folder / INDEX, json.dumps({
        "format": FORMAT, "fingerprint": archive.fingerprint, "files": archive.files,
        "parts": [{"index": p.index, "sha": p.sha, "size": p.size} for p in archive.parts],
    }, indent=1) + "\n", durable=False)


def discard_chunks(root: Path) -> None:
    """Remove the chunk files (the index stays: the digests still tell Vercel what to look for)."""
    folder = root / CACHE_DIR
    if folder.is_dir():
        for path in folder.glob("source.tgz.part*"):
            path.unlink(missing_ok=True)


def _header(name: str, size: int, mode: int) -> bytes:
    """A ustar header (mtime 0, uid/gid 0, no owner names); pax for a name ustar cannot hold."""
    raw = name.encode("utf-8", "surrogateescape")
    prefix = b""
    if len(raw) > 100:
        cut = raw.rfind(b"/", 0, 156)  # the longest prefix ustar holds leaves the shortest name
        if cut <= 0 or not 0 < len(raw) - cut - 1 <= 100:
            return _pax_header(name, size, mode)
        prefix, raw = raw[:cut], raw[cut + 1:]
    if size >= 8 ** 11:
        return _pax_header(name, size, mode)
    head = (raw.ljust(100, b"\0") + b"%07o\x00" % (mode & 0o7777) + b"0000000\x00" * 2
            + b"%011o\x00" % size + b"00000000000\x00")
    tail = _USTAR_TAIL + prefix.ljust(155, b"\0") + bytes(12)
    check = sum(head) + sum(tail) + 8 * 32
    return head + b"%06o\x00 " % check + tail


def _pax_header(name: str, size: int, mode: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = size, mode & 0o7777, 0, 0, 0, "", ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _deflate(block: bytes, primer: bytes, final: bool) -> bytes:
    if primer:
        comp = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, primer)
    else:
        comp = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return comp.compress(block) + comp.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


class _PartWriter:
    """Writes the gzip stream into chunk files of ``part_size`` bytes, hashing each on the way."""

    def __init__(self, folder: Path, part_size: int) -> None:
        self.folder, self.part_size = folder, part_size
        self.parts: list[Part] = []
        self._fh: Any = None
        self._digest: Any = None
        self._size = 0

    def _tmp(self, index: int) -> Path:
        return self.folder / f"source.tgz.part{index}.tmp"

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._fh is None:
                self._fh = open(self._tmp(len(self.parts) + 1), "wb")  # noqa: SIM115 - closed in _close_part
                self._digest, self._size = hashlib.sha1(usedforsecurity=False), 0
            piece = view[:self.part_size - self._size]
            self._fh.write(piece)
            self._digest.update(piece)
            self._size += len(piece)
            view = view[len(piece):]
            if self._size == self.part_size:
                self._close_part()

    def _close_part(self) -> None:
        self._fh.close()
        self._fh = None
        index = len(self.parts) + 1
        os.replace(self._tmp(index), self.folder / f"source.tgz.part{index}")
        self.parts.append(Part(index, self._digest.hexdigest(), self._size))

    def finish(self) -> list[Part]:
        if self._fh is not None:
            self._close_part()
        return self.parts

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._tmp(len(self.parts) + 1).unlink(missing_ok=True)


def _changed(path: str) -> IntegrityError:
    return IntegrityError(
        f"{path} changed while deploying (it is no longer the file the snapshot hashed).",
        hint="Do not rebuild during a deploy; run the deploy again.",
    )


def _file_chunks(e: Entry) -> Iterator[bytes]:
    """The entry's bytes, checked against its size and SHA-1; only a regular file is read."""
    if e.data is not None:
        data = e.data
        if len(data) != e.size or hashlib.sha1(data, usedforsecurity=False).hexdigest() != e.sha:
            raise _changed(e.file)
        yield data
        return
    assert e.abspath is not None
    try:
        fd = os.open(e.abspath, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP):
            raise _changed(e.abspath) from exc
        raise
    try:
        st = os.fstat(fd)
        if not statmod.S_ISREG(st.st_mode) or st.st_size != e.size:
            raise _changed(e.abspath)
        digest = hashlib.sha1(usedforsecurity=False)
        left = e.size
        while left > 0:
            chunk = os.read(fd, min(left, READ_CHUNK))
            if not chunk:
                raise _changed(e.abspath)
            digest.update(chunk)
            left -= len(chunk)
            yield chunk
        if digest.hexdigest() != e.sha:
            raise _changed(e.abspath)
    finally:
        os.close(fd)


def build(entries: Sequence[Entry], root: Path, part_size: int = PART_SIZE, *,
          progress: Callable[[int], None] | None = None, workers: int | None = None) -> Archive:
    """Pack ``entries`` into ``root/.moai/cache/vercel/source.tgz.part*`` and describe the result.

    Memory stays bounded (a few MiB per worker): files are read in chunks and
    the compressed stream goes straight to the chunk files. ``progress`` is
    called with the input bytes each file added.
    """
    folder = root / CACHE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    discard_chunks(root)
    for stale in folder.glob("source.tgz.part*.tmp"):
        stale.unlink(missing_ok=True)
    ordered = sorted(entries, key=_name)
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    writer = _PartWriter(folder, part_size)
    writer.write(_GZIP_HEADER)
    pending: deque[Future[bytes]] = deque()
    crc, total = 0, 0
    primer = b""
    buf = bytearray()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="moai-gzip") as pool:
        def submit(block: bytes, final: bool) -> None:
            nonlocal crc, total, primer
            crc = zlib.crc32(block, crc)
            total += len(block)
            pending.append(pool.submit(_deflate, block, primer, final))
            primer = block[-WINDOW:]
            while len(pending) > 2 * workers or (pending and pending[0].done()):
                writer.write(pending.popleft().result())

        try:
            for e in ordered:
                buf += _header(e.file, e.size, e.mode)
                for chunk in _file_chunks(e):
                    buf += chunk
                    while len(buf) >= BLOCK:
                        submit(bytes(memoryview(buf)[:BLOCK]), False)
                        del buf[:BLOCK]
                pad = -e.size % 512
                if pad:
                    buf += _ZERO[:pad]
                if progress is not None:
                    progress(e.size)
            buf += _ZERO + _ZERO  # end of archive
            while len(buf) > BLOCK:
                submit(bytes(memoryview(buf)[:BLOCK]), False)
                del buf[:BLOCK]
            submit(bytes(buf), True)
            while pending:
                writer.write(pending.popleft().result())
            writer.write(struct.pack("<II", crc, total & 0xFFFFFFFF))
            parts = writer.finish()
        except BaseException:
            for fut in pending:
                fut.cancel()
            writer.abort()
            raise
    archive = Archive(fingerprint(entries, part_size), parts, len(ordered), folder)
    _remember(archive)
    return archive
