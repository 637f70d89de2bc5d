"""PostgreSQL's COPY text format, one field at a time, on bytes.

A row is its fields joined by a tab and ended by a newline. Inside a field a backslash starts an
escape: ``\\b \\f \\n \\r \\t \\v`` (control characters), ``\\\\`` (a backslash), ``\\ooo`` (one to three
octal digits), ``\\xhh`` (one or two hex digits), and any other character stands for itself. A field
that is exactly ``\\N`` is NULL. Raw tabs and newlines therefore only ever separate fields and rows,
so a row splits on ``b"\\t"`` without decoding, and only the fields that change are decoded
(:func:`decode`) and encoded again (:func:`encode`), the way the server writes them.

libpq hands COPY OUT data over one whole row at a time (``PQgetCopyData``), which is what
:class:`RowTransformer` relies on: each buffer it gets ends with the row's newline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

NULL = b"\\N"
Value = bytes | None
FieldFn = Callable[[Value], Value]

_SIMPLE = {b"b": b"\x08", b"f": b"\x0c", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\x0b"}
_ESCAPE_RE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.S)
_NEEDS_ESCAPE_RE = re.compile(rb"[\\\n\r\t\x08\x0c\x0b]")
_ENCODE = {b"\\": b"\\\\", b"\n": b"\\n", b"\r": b"\\r", b"\t": b"\\t", b"\x08": b"\\b", b"\x0c": b"\\f",
           b"\x0b": b"\\v"}


def _unescape(m: re.Match[bytes]) -> bytes:
    octal, hexa, char = m.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexa is not None:
        return bytes([int(hexa, 16)])
    return _SIMPLE.get(char, char)


def decode(field: bytes) -> Value:
    """One field as the server sent it -> its value (``None`` for NULL)."""
    if field == NULL:
        return None
    if b"\\" not in field:
        return field
    return _ESCAPE_RE.sub(_unescape, field)


def encode(value: Value) -> bytes:
    """A value -> one field as COPY FROM reads it."""
    if value is None:
        return NULL
    if _NEEDS_ESCAPE_RE.search(value) is None:
        return value
    return _NEEDS_ESCAPE_RE.sub(lambda m: _ENCODE[m.group(0)], value)


def split_row(row: bytes) -> list[Value]:
    """A whole row (with or without its newline) -> its values."""
    if row.endswith(b"\n"):
        row = row[:-1]
    return [decode(f) for f in row.split(b"\t")]


def join_row(values: Sequence[Value]) -> bytes:
    return b"\t".join(encode(v) for v in values) + b"\n"


class RowTransformer:
    """Applies ``fns`` (column index -> function of the value) to chunks of whole rows.

    :meth:`chunk` takes rows as the server sent them (each ending with its newline) and returns
    them as one ``bytes``, rewritten. Only the ruled fields are decoded and encoded again; with one
    ruled column a row is split no further than that column. Results are remembered per column for
    the last ``cache_size`` distinct values (a column of few distinct values costs one look-up per
    row); a column whose values rarely repeat (more than 3 misses in 4 look-ups, after 16,384 misses)
    stops being cached. With no function the rows pass through untouched."""

    def __init__(self, fns: dict[int, FieldFn], cache_size: int = 65536) -> None:
        self.items = sorted(fns.items())
        self.cache_size = cache_size
        self.caches: dict[int, dict[bytes, bytes]] = {index: {} for index, _ in self.items}
        self.misses = dict.fromkeys(self.caches, 0)
        self.count = 0

    def field(self, index: int, fn: FieldFn, raw: bytes) -> bytes:
        """One field rewritten, through the column's cache (the caller already missed it)."""
        new = encode(fn(decode(raw)))
        cache = self.caches[index]
        if self.misses[index] >= 0:
            self.misses[index] += 1
            if len(cache) >= self.cache_size:
                cache.clear()
            cache[raw] = new
        return new

    def _review_caches(self) -> None:
        """After a chunk: stop caching a column whose values rarely repeat (they only cost an insert)."""
        for index, misses in self.misses.items():
            if misses >= 16384 and misses * 4 > self.count * 3:
                self.misses[index] = -1
                self.caches[index].clear()

    def chunk(self, rows: Sequence[bytes | bytearray | memoryview]) -> bytes:
        data = b"".join(rows)
        if not self.items or not data:
            self.count += data.count(b"\n")
            return data
        lines = data.split(b"\n")
        lines.pop()  # after the last newline
        self.count += len(lines)
        if len(self.items) == 1:
            index, fn = self.items[0]
            cache = self.caches[index] if self.misses[index] >= 0 else None
            field = self.field
            safe = getattr(fn, "escape_free", False)  # its output never needs COPY escaping (hex, digits)
            split = bytes.split
            join = b"\t".join
            for i, line in enumerate(lines):
                parts = split(line, b"\t", index + 1)
                if index < len(parts):
                    raw = parts[index]
                    if cache is not None:
                        new = cache.get(raw)
                        parts[index] = new if new is not None else field(index, fn, raw)
                    elif raw == NULL:
                        parts[index] = encode(fn(None))
                    else:  # the hot path of a column of distinct values: no cache, no method call
                        value = fn(raw if b"\\" not in raw else decode(raw))
                        parts[index] = value if safe and value is not None else encode(value)
                    lines[i] = join(parts)
        else:
            for i, line in enumerate(lines):
                fields = line.split(b"\t")
                for index, fn in self.items:
                    if index < len(fields):
                        raw = fields[index]
                        new = self.caches[index].get(raw)
                        fields[index] = new if new is not None else self.field(index, fn, raw)
                lines[i] = b"\t".join(fields)
        lines.append(b"")
        self._review_caches()
        return b"\n".join(lines)
