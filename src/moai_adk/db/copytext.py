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
    """Applies ``fns`` (column index -> function of the value) to rows; other fields pass as they are.

    Rows are gathered into chunks: :meth:`feed` takes one row and returns a chunk of about
    ``chunk_size`` bytes when one is ready, :meth:`flush` returns the rest. With no function the
    rows are only gathered (the bytes pass through untouched)."""

    def __init__(self, fns: dict[int, FieldFn], chunk_size: int = 1 << 20) -> None:
        self.items = sorted(fns.items())
        self.chunk_size = chunk_size
        self.rows: list[bytes] = []
        self.size = 0
        self.count = 0
        # one column: split only up to it (maxsplit) and leave the rest of the row alone
        self._single = self.items[0] if len(self.items) == 1 else None

    def transform(self, row: bytes) -> bytes:
        if self._single is not None:
            index, fn = self._single
            parts = row.split(b"\t", index + 1)
            if index >= len(parts):
                return row
            last = index == len(parts) - 1
            field = parts[index][:-1] if last else parts[index]
            new = encode(fn(decode(field)))
            parts[index] = new + b"\n" if last else new
            return b"\t".join(parts)
        fields = row[:-1].split(b"\t")
        for index, fn in self.items:
            if index < len(fields):
                fields[index] = encode(fn(decode(fields[index])))
        return b"\t".join(fields) + b"\n"

    def feed(self, row: bytes) -> bytes | None:
        if self.items:
            row = self.transform(row)
        self.rows.append(row)
        self.size += len(row)
        self.count += 1
        if self.size >= self.chunk_size:
            return self.flush()
        return None

    def flush(self) -> bytes:
        chunk = b"".join(self.rows)
        self.rows.clear()
        self.size = 0
        return chunk
