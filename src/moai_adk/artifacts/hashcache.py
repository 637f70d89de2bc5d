"""Persistent hash cache: an unchanged file costs one ``stat``.

Keyed by relative path; an entry is valid while (size, mtime_ns, inode) are
unchanged. An entry is one flat tuple ``(size, mtime_ns, inode, secret,
algo1, hash1, algo2, hash2, ...)`` (flat tuples load about twice as fast as
nested dicts). ``secret`` is why the secret scan flagged the file, or "".

Storage: a base file (magic header + ``marshal`` of the whole map, written
atomically with temp file + rename) and a journal beside it to which small
changes are appended, so redeploying after editing one file does not rewrite
the whole cache. The journal is folded into the base when it grows past an
eighth of the entries. A cache that cannot be read is a cache miss, never an
error: it is rebuilt.
"""

from __future__ import annotations

import marshal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write

# 3: the secret scan learned token formats and more file names; older verdicts are not reused
MAGIC = b"MOAIHC3" + bytes([sys.version_info[0], sys.version_info[1]])

Entry = tuple[Any, ...]


class HashCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.journal = path.with_name(path.name + ".log") if path is not None else None
        self.entries: dict[str, Entry] = {}
        self.changed: dict[str, Entry | None] = {}
        self.journal_len = 0
        self.corrupt = False
        self.stale = False  # a cache of an older format: read as empty, rewritten whole on save
        if path is not None:
            self._load()

    @property
    def dirty(self) -> bool:
        return bool(self.changed)

    def _load(self) -> None:
        assert self.path is not None and self.journal is not None
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError:
            self.corrupt = True
            return
        if raw.startswith(MAGIC[:6]) and not raw.startswith(MAGIC):
            self.stale = True  # written by another version (or Python): start empty, rewrite it whole on save
            return
        try:
            if not raw.startswith(MAGIC):
                raise ValueError("bad header")
            data = marshal.loads(raw[len(MAGIC):])
            if not isinstance(data, dict):
                raise ValueError("not a map")
        except (EOFError, ValueError, TypeError):
            self.corrupt = True
            return
        self.entries = data
        try:
            with open(self.journal, "rb") as fh:
                if fh.read(len(MAGIC)) != MAGIC:
                    raise ValueError("bad journal header")
                while True:
                    try:
                        rel, entry = marshal.load(fh)
                    except EOFError:
                        break
                    self.journal_len += 1
                    if entry is None:
                        self.entries.pop(rel, None)
                    else:
                        self.entries[rel] = entry
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError):
            # a torn journal write: keep what was read, fold it into a new base
            self.changed.update({k: v for k, v in self.entries.items()})
            self.journal_len = len(self.entries)

    def get(self, rel: str, size: int, mtime_ns: int, ino: int, algorithms: tuple[str, ...]) -> tuple[dict[str, str], str] | None:
        entry = self.entries.get(rel)
        if entry is None or entry[0] != size or entry[1] != mtime_ns or entry[2] != ino:
            return None
        if len(entry) == 6 and len(algorithms) == 1:  # the common case: one algorithm
            if entry[4] != algorithms[0]:
                return None
            return {entry[4]: entry[5]}, entry[3]
        pairs = dict(zip(entry[4::2], entry[5::2], strict=True))
        for algo in algorithms:
            if algo not in pairs:
                return None
        return pairs, entry[3]

    def put(self, rel: str, size: int, mtime_ns: int, ino: int, hashes: Mapping[str, str], secret: str) -> None:
        old = self.entries.get(rel)
        if old is not None and old[0] == size and old[1] == mtime_ns and old[2] == ino:
            merged = dict(zip(old[4::2], old[5::2], strict=True))
            merged.update(hashes)
            hashes = merged
        flat: list[Any] = [size, mtime_ns, ino, secret]
        for algo, value in hashes.items():
            flat += (algo, value)
        entry = tuple(flat)
        self.entries[rel] = entry
        self.changed[rel] = entry

    def prune(self, keep: set[str]) -> None:
        for rel in [k for k in self.entries if k not in keep]:
            del self.entries[rel]
            self.changed[rel] = None

    def save(self) -> None:
        if self.path is None or self.journal is None or not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        small = not self.corrupt and not self.stale and len(self.changed) + self.journal_len <= max(64, len(self.entries) // 8)
        if small and self.path.exists():
            new = not self.journal.exists()
            with open(self.journal, "ab") as fh:
                if new:
                    fh.write(MAGIC)
                for rel, entry in self.changed.items():
                    marshal.dump((rel, entry), fh)
            self.journal_len += len(self.changed)
        else:
            atomic_write(self.path, MAGIC + marshal.dumps(self.entries), durable=False)
            self.journal.unlink(missing_ok=True)
            self.journal_len = 0
            self.corrupt = self.stale = False
        self.changed.clear()
