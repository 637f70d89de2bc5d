"""Blob uploads as raw ASGI handlers (the API calls made thousands of times per deploy).

* ``PUT /_api/v1/blobs/<sha256>``: one blob, the raw bytes as the body;
* ``POST /_api/v1/blobs``: a batch of blobs in one request. Body: one line of
  JSON ``[[sha256, size], ...]``, a newline, then the blobs' bytes
  concatenated in that order. Every blob is verified and stored on its own;
  the answer lists what was stored, and a 422 names the ones whose bytes did
  not match (the others are kept). The verified blobs of a batch are made
  durable together (one filesystem sync) and only then get their names.

Both stream: the body goes to disk as it arrives (``store.BlobWriter``: a
running hash and byte count), handed to a worker thread in pieces of about
``FLUSH`` bytes, so memory stays flat whatever the size or framing (chunked
or Content-Length). A body past the limit is answered 413 as soon as the
limit is passed; one that ends early (the client half-closed or went away)
400 ``truncated``; a full disk 507 ``no_space``. Every answer is JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .auth import check
from .faults import api_error, truncated
from .service import ApiError, Platform
from .store import SHA256_RE, BlobHashMismatch, BlobWriter, PendingBlobs
from .wire import Receive, Scope, Send

BLOB_PREFIX = "/_api/v1/blobs/"
BATCH_PATH = "/_api/v1/blobs"
MAX_UPLOAD_ENV = "MOAI_PLATFORM_MAX_UPLOAD_MB"
MAX_UPLOAD = 1 << 30  # one blob, or one batch request
MAX_INDEX = 4 << 20  # the JSON line that starts a batch
FLUSH = 1 << 20  # bytes handed to the worker thread at once


@dataclass(frozen=True)
class Limits:
    """The largest upload body (a blob, or a whole batch) the platform accepts."""

    upload: int = MAX_UPLOAD

    @classmethod
    def from_env(cls) -> Limits:
        value = os.environ.get(MAX_UPLOAD_ENV, "")
        return cls(int(value) << 20) if value.isdigit() and int(value) > 0 else cls()


async def send_json(send: Send, status: int, payload: dict[str, Any], *, close: bool = False) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # answered before the body's end: closing stops the client from sending the rest
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_payload(exc: ApiError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message, **exc.extra}}


async def send_error(send: Send, exc: BaseException, *, close: bool) -> None:
    err = api_error(exc)
    try:
        await send_json(send, err.status, error_payload(err), close=close)
    except Exception:  # noqa: BLE001 - the client is gone: nobody to answer
        pass


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"the request body is larger than the upload limit of {limit} bytes "
                    f"(the platform's {MAX_UPLOAD_ENV} setting)", limit=limit)


def authorize(platform: Platform, scope: Scope, limit: int) -> int | None:
    """Check the token and the announced length; returns the Content-Length (None when chunked)."""
    auth = b""
    length: int | None = None
    for k, v in scope["headers"]:
        if k == b"authorization":
            auth = v
        elif k == b"content-length" and v.isdigit():
            length = int(v)
    try:
        check(platform.tokens, auth.decode("latin-1"), "developer")
    except ApiError as exc:  # refusals go to the audit log, off the event loop
        client = scope.get("client")
        platform.audit.record_soon(action=f"{scope['method']} {scope['path']}"[:120], result="refused",
                                   status=exc.status, code=exc.code, token=exc.extra.get("token_id"),
                                   client=str(client[0]) if client else None)
        raise
    if length is not None and length > limit:
        raise too_large(limit)
    return length


class _Feeder:
    """Hands received pieces to ``feed`` on a worker thread, one call at a time: what arrives while
    a piece is being written is joined and written next, so a slow body goes to disk as it comes
    and a fast one in large pieces."""

    def __init__(self, feed: Callable[[bytes], None]) -> None:
        self.feed = feed
        self.held: list[bytes] = []
        self.size = 0
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    def add(self, body: bytes) -> None:
        self.held.append(body)
        self.size += len(body)
        if self.task is None and self.error is None:
            self.task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.held:
                data = self.held[0] if len(self.held) == 1 else b"".join(self.held)
                self.held, self.size = [], 0
                await loop.run_in_executor(None, self.feed, data)
        except Exception as exc:  # noqa: BLE001 - raised by ``check`` in the request's task
            self.error = exc
            self.held, self.size = [], 0
        finally:
            self.task = None

    async def check(self, *, wait: bool = False) -> None:
        """Raise what writing raised; wait while ``FLUSH`` bytes are already waiting (back-pressure),
        or until everything is written (``wait``)."""
        while self.task is not None and (wait or self.size >= FLUSH):
            await asyncio.wait([self.task])
        if self.error is not None:
            raise self.error

    async def settle(self) -> None:
        """After a failure: let a write in progress end before the caller cleans up."""
        self.held.clear()
        if self.task is not None:
            await asyncio.wait([self.task])


async def pump(receive: Receive, feed: Callable[[bytes], None], limit: int, length: int | None) -> int:
    """Hand the request body to ``feed`` (``_Feeder``); returns the bytes received. 413 once past
    ``limit``; 400 ``truncated`` when the body ends early."""
    feeder = _Feeder(feed)
    total = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise truncated(total, length)
            body = message.get("body", b"")
            if body:
                total += len(body)
                if total > limit:
                    raise too_large(limit)
                feeder.add(body)
            await feeder.check()
            if not message.get("more_body", False):
                await feeder.check(wait=True)
                if length is not None and total != length:
                    raise truncated(total, length)
                return total
    except BaseException:
        await feeder.settle()
        raise


async def put_blob(platform: Platform, limits: Limits, scope: Scope, receive: Receive, send: Send) -> None:
    sha = scope["path"][len(BLOB_PREFIX):]
    loop = asyncio.get_running_loop()
    writer: BlobWriter | None = None
    size = -1
    try:
        length = authorize(platform, scope, limits.upload)
        if not SHA256_RE.match(sha):
            raise ApiError(400, "bad_hash", f"blob name {sha!r} is not a lowercase hex sha256")
        writer = await loop.run_in_executor(None, platform.store.writer, sha, limits.upload)
        size = await pump(receive, writer.write, limits.upload, length)
        created = await loop.run_in_executor(None, platform.commit_blob, writer)
    except Exception as exc:  # noqa: BLE001 - every failure answers JSON
        if writer is not None:
            writer.abort()
        await send_error(send, exc, close=size < 0)
        return
    await send_json(send, 201 if created else 200, {"sha256": sha, "size": size, "created": created})


def bad_batch(why: str) -> ApiError:
    return ApiError(400, "bad_batch", f"{why}; a blob batch starts with one line of JSON [[sha256, size], ...] "
                    "followed by a newline and the blobs' bytes in that order")


class BatchReceiver:
    """Parses a batch body as it streams in (``feed``, on a worker thread) and stores each blob
    through its own ``BlobWriter`` as its bytes arrive."""

    def __init__(self, platform: Platform, limit: int) -> None:
        self.platform = platform
        self.limit = limit
        self.head = bytearray()
        self.index: list[tuple[str, int]] | None = None
        self.pos = 0  # the entry being received
        self.left = 0  # its bytes still to come
        self.writer: BlobWriter | None = None
        self.pending = PendingBlobs(platform.store)  # verified, made durable together at the end
        self.received = self.created = 0
        self.mismatched: list[dict[str, Any]] = []

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        if self.index is None:
            nl = data.find(b"\n")
            if nl < 0:
                self.head += data
                if len(self.head) > MAX_INDEX:
                    raise bad_batch(f"the index line is longer than {MAX_INDEX} bytes")
                return
            self.head += view[:nl]
            self.index = self._parse(bytes(self.head))
            view = view[nl + 1:]
            self._next()
        while view:
            if self.writer is None:
                raise bad_batch("more bytes follow the blobs the index announces")
            n = min(self.left, len(view))
            self.writer.write(view[:n])
            self.left -= n
            view = view[n:]
            if self.left == 0:
                self._commit()
                self._next()

    def _parse(self, head: bytes) -> list[tuple[str, int]]:
        try:
            index = json.loads(head)
        except (ValueError, RecursionError):
            index = None
        if not isinstance(index, list) or not all(
                isinstance(i, list) and len(i) == 2 and isinstance(i[0], str) and type(i[1]) is int and i[1] >= 0
                for i in index):
            raise bad_batch("the index is not a JSON list of [sha256, size]")
        for sha, _ in index:
            if not SHA256_RE.match(sha):
                raise ApiError(400, "bad_hash", f"blob name {sha!r} in the batch index is not a lowercase hex sha256")
        total = len(head) + 1 + sum(size for _, size in index)
        if total > self.limit:
            raise too_large(self.limit)
        return [(sha, size) for sha, size in index]

    def _next(self) -> None:
        """Open the writer of the next entry (blobs of size 0 are stored right away)."""
        assert self.index is not None
        while self.pos < len(self.index):
            sha, size = self.index[self.pos]
            self.writer, self.left = self.platform.store.writer(sha, size), size
            if size:
                return
            self._commit()
        self.writer = None

    def _commit(self) -> None:
        assert self.index is not None and self.writer is not None
        writer, self.writer = self.writer, None
        self.pos += 1
        self.received += 1
        try:
            self.created += self.pending.add(writer)
        except BlobHashMismatch as exc:
            self.mismatched.append({"sha256": exc.expected, "actual": exc.actual})

    def finish(self, received: int) -> dict[str, Any]:
        if self.index is None:
            raise bad_batch("the body has no index line")
        if self.writer is not None or self.pos < len(self.index):
            announced = len(self.head) + 1 + sum(size for _, size in self.index)
            raise truncated(received, announced)
        self.pending.place()
        if self.mismatched:
            first = self.mismatched[0]["sha256"]
            raise ApiError(422, "hash_mismatch", f"{len(self.mismatched)} blob(s) of the batch do not hash to "
                           f"their name (first: {first}); the others were stored", mismatched=self.mismatched)
        return {"stored": self.received, "created": self.created}

    def abort(self) -> None:
        """After a failure (the client went away, the disk filled, ...): drop the blob being
        received, keep the ones already verified (a resumed deploy need not send them again)."""
        if self.writer is not None:
            self.writer.abort()
            self.writer = None
        try:
            self.pending.place()
        except OSError:
            self.pending.abort()


async def post_batch(platform: Platform, limits: Limits, scope: Scope, receive: Receive, send: Send) -> None:
    receiver = BatchReceiver(platform, limits.upload)
    loop = asyncio.get_running_loop()
    received = -1
    try:
        length = authorize(platform, scope, limits.upload)
        received = await pump(receive, receiver.feed, limits.upload, length)
        result = await loop.run_in_executor(None, receiver.finish, received)
    except Exception as exc:  # noqa: BLE001 - every failure answers JSON
        await loop.run_in_executor(None, receiver.abort)
        await send_error(send, exc, close=received < 0)
        return
    await send_json(send, 200, result)
