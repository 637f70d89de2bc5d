"""The platform on granian's native interface (RSGI).

* ``serve``: the serving path: ``Server.respond`` answered with
  ``proto.response_bytes`` / ``response_empty``, or ``response_stream`` for
  large files;
* ``call_asgi``: runs an ASGI callable (the deploy API and the blob upload
  handlers) on an RSGI request: the ASGI scope is built from the RSGI one,
  ``receive`` hands over the body chunk by chunk as ``async for`` over
  ``proto`` yields it (flat memory for any upload), ``send`` maps
  the response messages back to RSGI.

RSGI header names and values are str (granian writes values as UTF-8).
Nothing here imports granian, so the module loads where only uvicorn is
installed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import aclosing
from typing import Any, Protocol

from .serving import Server
from .wire import text

AsgiApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]
TextHeaders = list[tuple[str, str]]


class RsgiHeaders(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def items(self) -> list[tuple[str, str]]: ...


class RsgiScope(Protocol):
    proto: str
    http_version: str
    scheme: str
    method: str
    path: str
    query_string: str
    server: str
    client: str

    @property
    def headers(self) -> RsgiHeaders: ...


async def serve(server: Server, scope: RsgiScope, proto: Any) -> None:
    get = scope.headers.get
    reply = server.respond(scope.method, get("host", ""), scope.path, scope.query_string, get("if-none-match"),
                           get("accept-encoding"), get("range"), get("cookie"), get("accept"), get)
    if not isinstance(reply, tuple):
        reply = await reply
    status, headers, body, stream = reply
    hdrs = headers._text or headers.text
    if stream is not None:
        transport = proto.response_stream(status, hdrs)
        async with aclosing(stream.chunks()) as chunks:
            try:
                async for chunk in chunks:
                    await transport.send_bytes(chunk)
            except RuntimeError:  # granian's ProtocolClosed: the client went away
                return
    elif body:
        proto.response_bytes(status, hdrs, body)
    else:
        proto.response_empty(status, hdrs)


def _address(value: str) -> tuple[str, int] | None:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def asgi_scope(scope: RsgiScope) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": scope.http_version, "method": scope.method, "scheme": scope.scheme,
        "path": scope.path, "query_string": scope.query_string.encode("utf-8"), "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("utf-8")) for k, v in scope.headers.items()],
        "client": _address(scope.client), "server": _address(scope.server), "state": {},
    }


class _Exchange:
    """``receive`` and ``send`` of one ASGI call over one RSGI request."""

    __slots__ = ("proto", "body", "done", "status", "headers", "transport")

    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.body: Any = None  # the request body's async iterator, opened on the first receive
        self.done = False
        self.status = 500
        self.headers: TextHeaders = []
        self.transport: Any = None

    async def receive(self) -> dict[str, Any]:
        """The body chunk by chunk as granian reads it (never the whole body at once)."""
        if not self.done:
            if self.body is None:
                self.body = self.proto.__aiter__()
            try:
                chunk = await self.body.__anext__()
            except StopAsyncIteration:
                self.done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            except RuntimeError:  # the client went away (or half-closed) while sending the body
                self.done = True
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": chunk, "more_body": True}
        await self.proto.client_disconnect()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = [(k.decode("latin-1"), text(v)) for k, v in message.get("headers", ())]
        elif kind == "http.response.body":
            body = message.get("body", b"")
            if self.transport is None:
                if not message.get("more_body", False):
                    if body:
                        self.proto.response_bytes(self.status, self.headers, body)
                    else:
                        self.proto.response_empty(self.status, self.headers)
                    return
                self.transport = self.proto.response_stream(self.status, self.headers)
            if body:
                await self.transport.send_bytes(body)


async def call_asgi(app: AsgiApp, scope: RsgiScope, proto: Any) -> None:
    exchange = _Exchange(proto)
    await app(asgi_scope(scope), exchange.receive, exchange.send)
