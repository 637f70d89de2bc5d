"""The byte-level pieces of serving shared by the ASGI and RSGI adapters: header pairs, file slices
streamed off the event loop, plain replies, ``Range`` parsing and the path forms' scope cookie."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]

SCOPE_COOKIE = "moai_scope_"  # + the port of the Host header
STREAM_ABOVE = 8 << 20
CHUNK = 256 << 10


def text(value: bytes) -> str:
    """A header byte string as the str granian writes back as the same bytes (UTF-8, else latin-1)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


class Headers:
    """Response headers: ``raw`` for ASGI; ``text`` (RSGI) is made on first use and kept."""

    __slots__ = ("raw", "_text")

    def __init__(self, raw: RawHeaders) -> None:
        self.raw = raw
        self._text: list[tuple[str, str]] | None = None

    @property
    def text(self) -> list[tuple[str, str]]:
        made = self._text
        if made is None:
            made = self._text = [(k.decode("latin-1"), text(v)) for k, v in self.raw]
        return made


class FileSlice:
    """``length`` bytes of a blob file from ``start``, read in ``CHUNK`` pieces off the event loop."""

    __slots__ = ("path", "start", "length")

    def __init__(self, path: str, start: int, length: int) -> None:
        self.path, self.start, self.length = path, start, length

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        loop = asyncio.get_running_loop()
        with open(self.path, "rb") as fh:
            fh.seek(self.start)
            left = self.length
            while left > 0:
                chunk = await loop.run_in_executor(None, fh.read, min(CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk


Reply = tuple[int, Headers, bytes, FileSlice | None]


def simple(status: int, body: bytes, headers: RawHeaders | None = None, head: bool = False) -> Reply:
    hdrs = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if headers:
        hdrs.extend(headers)
    return status, Headers(hdrs), b"" if head else body, None


async def send_simple(send: Send, status: int, body: bytes, headers: RawHeaders | None = None,
                      head: bool = False) -> None:
    _, hdrs, body, _ = simple(status, body, headers, head)
    await send({"type": "http.response.start", "status": status, "headers": hdrs.raw})
    await send({"type": "http.response.body", "body": body})


def parse_range(value: str, size: int) -> tuple[int, int] | None | bool:
    """``(start, end)`` inclusive; ``None`` to ignore the header; ``False`` when unsatisfiable."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return False
            return (max(0, size - n), size - 1) if size else False
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or start > end:
        return False
    return start, min(end, size - 1)


def _query(raw: str | bytes) -> str:
    return raw.decode("latin-1") if isinstance(raw, bytes) else raw


def cookie_value(cookie: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header, or None."""
    if cookie is None:
        return None
    for part in cookie.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def scope_cookie_name(host: str | bytes) -> str:
    """``moai_scope_<port>``: one scope per host:port (browsers share a host's cookies across ports)."""
    name = host.decode("latin-1") if isinstance(host, bytes) else host
    _, colon, port = name.rpartition(":")
    return SCOPE_COOKIE + (port if colon and port.isdigit() else "80")
