"""uvicorn's HTTP/1.1 protocol as the platform runs it (the ASGI path).

One difference from uvicorn's own h11 protocol: a client that closes its
sending side (a half-close, ``shutdown(SHUT_WR)``) before the end of its body
still gets an answer. uvicorn drops such a connection without a word; here
the app sees the body end where the client stopped, so the upload handlers
answer 400 ``truncated`` as they do on granian.
"""

from __future__ import annotations

from uvicorn.protocols.http.h11_impl import H11Protocol


class HalfCloseH11Protocol(H11Protocol):
    def eof_received(self) -> bool | None:  # type: ignore[override]  # True keeps the socket half-open
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.more_body:
            return None  # between requests, or the answer is out: close as uvicorn does
        cycle.more_body = False  # the body ends here; the app compares it with what was announced
        cycle.message_event.set()
        return True  # keep our sending side open for the answer
