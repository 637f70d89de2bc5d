"""The fast path of ``audit verify``: check the hash chain of an intact log at close to SHA-256 speed.

The log is read in blocks; each block is split on newlines, every line hashed by ``hashlib`` (a C
loop through ``map``), and all ``prev`` fields of the block (bytes 9..73 of each line) compared with
the previous lines' hashes in one comparison. No JSON is parsed. A large log is cut in two at a line
boundary and the second half is checked by a forked process on another CPU; the halves are joined by
comparing the first ``prev`` of the second half with the last hash of the first.

Any mismatch returns ``None``; the caller then reads the log line by line to say what is wrong.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import threading
from operator import itemgetter
from pathlib import Path

from .log import PREFIX, PREV_END, PREV_START, self_sum_ok

CHUNK = 4 << 20  # bytes checked at a time: few Python steps per block, and the block stays in the CPU cache
PARALLEL_FROM = 32 << 20  # logs at least this large are checked by two processes when two CPUs are there
ZERO = bytes(32)
_DIGEST = type(hashlib.sha256()).digest
_PREV = itemgetter(slice(PREV_START, PREV_END))
_SEQ = re.compile(rb'^\{"prev":"[0-9a-f]{64}","seq":(\d+),')

# (lines, {seq: sha256} for the wanted seqs, first line's prev, last line's sha256, last line)
Part = tuple[int, dict[int, bytes], bytes, bytes, bytes]


def line_seq(line: bytes) -> int | None:
    m = _SEQ.match(line)
    return int(m.group(1)) if m else None


def _scan(path: Path, start: int, end: int, wanted: set[int]) -> Part | None:
    """Check lines in bytes [start, end) of the log (both at line starts)."""
    prev: bytes | None = None
    n, base, carry, last, first_prev = 0, 0, b"", b"", ZERO
    found: dict[int, bytes] = {}
    with path.open("rb", buffering=0) as f:
        f.seek(start)
        pos = start
        while pos < end and (block := f.read(min(CHUNK, end - pos))):
            pos += len(block)
            if carry:
                block = carry + block
            cut = block.rfind(b"\n") + 1
            carry = block[cut:]
            if not cut:
                continue
            lines = block[:cut].split(b"\n")
            lines.pop()
            try:
                if prev is None:  # the first line of this part: where it says it is
                    first_prev = bytes.fromhex(lines[0][PREV_START:PREV_END].decode("ascii"))
                    prev, base = first_prev, (line_seq(lines[0]) or 1) - 1
                digests = list(map(_DIGEST, map(hashlib.sha256, lines)))
                prevs = b"".join(map(_PREV, lines))
                if len(prevs) != 64 * len(lines) or bytes.fromhex(prevs.decode("ascii")) != prev + b"".join(
                        digests[:-1]):
                    return None
            except (ValueError, UnicodeDecodeError):
                return None
            for seq in wanted:
                if base + n < seq <= base + n + len(lines):
                    found[seq] = digests[seq - base - n - 1]
            prev, n, last = digests[-1], n + len(lines), lines[-1]
    if carry or (n and line_seq(last) != base + n):
        return None
    return n, found, first_prev, prev or ZERO, last


def _split_point(path: Path, size: int) -> int:
    """The start of the first line at or after the middle of the log (``size`` when there is none)."""
    with path.open("rb") as f:
        f.seek(size // 2)
        while chunk := f.read(1 << 16):
            i = chunk.find(b"\n")
            if i >= 0:
                return f.tell() - len(chunk) + i + 1
    return size


def _in_child(path: Path, start: int, end: int, wanted: set[int]) -> tuple[int, int]:
    """Fork a process that checks [start, end) and pickles its Part to a pipe: (pid, read end)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            os.close(r)
            data = pickle.dumps(_scan(path, start, end, wanted))
            with os.fdopen(w, "wb") as out:
                out.write(data)
        except BaseException:  # noqa: BLE001 - the parent sees an empty answer and checks on its own
            code = 1
        os._exit(code)
    os.close(w)
    return pid, r


def fast_chain(path: Path, wanted: set[int]) -> tuple[int, dict[int, bytes]] | None:
    """(entries, {seq: SHA-256 of that line} for ``wanted``) of an intact log, or None at the first doubt."""
    size = path.stat().st_size
    mid = _split_point(path, size) if size >= PARALLEL_FROM and (os.cpu_count() or 1) > 1 \
        and threading.active_count() == 1 and hasattr(os, "fork") else size
    child = _in_child(path, mid, size, wanted) if mid < size else None
    parts = [_scan(path, 0, mid, wanted)]
    if child is not None:
        pid, fd = child
        with os.fdopen(fd, "rb") as f:
            answer = f.read()
        _, status = os.waitpid(pid, 0)
        parts.append(pickle.loads(answer) if answer and status == 0 else _scan(path, mid, size, wanted))
    n, found, prev, last = 0, {}, ZERO, b""
    for part in parts:
        if part is None:
            return None
        count, got, first, last_hash, last_line = part
        if not count:
            continue
        if first != prev:
            return None
        n, prev, last = n + count, last_hash, last_line
        found.update(got)
    if n and (not last.startswith(PREFIX) or line_seq(last) != n or not self_sum_ok(last)):
        return None
    return n, found
