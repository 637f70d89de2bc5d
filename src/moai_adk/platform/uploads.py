"""Blob uploads as raw ASGI handlers (the API calls made thousands of times per deploy).

* ``PUT /_api/v1/blobs/<sha256>``: one blob, the raw bytes as the body;
* ``POST /_api/v1/blobs``: a batch of small blobs in one request. Body: one
  line of JSON ``[[sha256, size], ...]``, a newline, then the blobs' bytes
  concatenated in that order. Every blob is verified and stored on its own;
  the answer lists what was stored, and a 422 names the ones whose bytes did
  not match (the others are kept).

Both skip the Starlette routing and response objects: check the token
(cached), read the body, verify + store on a worker thread, answer a small JSON.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .auth import check
from .service import ApiError, Platform
from .serving import Receive, Scope, Send

BLOB_PREFIX = "/_api/v1/blobs/"
BATCH_PATH = "/_api/v1/blobs"
MAX_BLOB = 1 << 30
MAX_BATCH = 64 << 20


async def send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def error_payload(exc: ApiError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message, **exc.extra}}


async def _authorized_body(platform: Platform, scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when the client went away; ApiError on auth/size."""
    auth = b""
    length = -1
    for k, v in scope["headers"]:
        if k == b"authorization":
            auth = v
        elif k == b"content-length" and v.isdigit():
            length = int(v)
    check(platform, auth.decode("latin-1"), "deployer")
    if length > limit:
        raise ApiError(413, "too_large", f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))
    return b"".join(chunks)


async def put_blob(platform: Platform, scope: Scope, receive: Receive, send: Send) -> None:
    sha = scope["path"][len(BLOB_PREFIX):]
    try:
        data = await _authorized_body(platform, scope, receive, MAX_BLOB)
        if data is None:
            return
        created = await asyncio.get_running_loop().run_in_executor(None, platform.put_blob, sha, data)
    except ApiError as exc:
        await send_json(send, exc.status, error_payload(exc))
        return
    await send_json(send, 201 if created else 200, {"sha256": sha, "size": len(data), "created": created})


def parse_batch(body: bytes) -> list[tuple[str, bytes]]:
    """Split a batch body into (sha256, bytes) pairs; ApiError 400 when malformed."""
    head, sep, rest = body.partition(b"\n")
    try:
        index = json.loads(head) if sep else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        index = None
    if not isinstance(index, list) or not all(
            isinstance(i, list) and len(i) == 2 and isinstance(i[0], str) and isinstance(i[1], int) and i[1] >= 0
            for i in index):
        raise ApiError(400, "bad_batch", "a blob batch starts with one line of JSON [[sha256, size], ...] "
                       "followed by a newline and the blobs' bytes")
    total = sum(size for _, size in index)
    if total != len(rest):
        raise ApiError(400, "bad_batch", f"the batch index announces {total} bytes but {len(rest)} follow it")
    out: list[tuple[str, bytes]] = []
    view = memoryview(rest)
    pos = 0
    for sha, size in index:
        out.append((sha, bytes(view[pos:pos + size])))
        pos += size
    return out


def store_batch(platform: Platform, blobs: list[tuple[str, bytes]]) -> dict[str, Any]:
    created, mismatched = 0, []
    for sha, data in blobs:
        try:
            created += platform.put_blob(sha, data)
        except ApiError as exc:
            if exc.code != "hash_mismatch":
                raise
            mismatched.append({"sha256": sha, "actual": exc.extra.get("actual")})
    if mismatched:
        raise ApiError(422, "hash_mismatch", f"{len(mismatched)} blob(s) of the batch do not hash to their name "
                       f"(first: {mismatched[0]['sha256']}); the others were stored", mismatched=mismatched)
    return {"stored": len(blobs), "created": created}


async def post_batch(platform: Platform, scope: Scope, receive: Receive, send: Send) -> None:
    try:
        body = await _authorized_body(platform, scope, receive, MAX_BATCH)
        if body is None:
            return
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, lambda: store_batch(platform, parse_batch(body)))
    except ApiError as exc:
        await send_json(send, exc.status, error_payload(exc))
        return
    await send_json(send, 200, result)
