"""``PUT /_api/v1/blobs/<sha256>`` as a raw ASGI handler.

Blob uploads are the one API call made thousands of times per deploy, so they
skip the Starlette routing and response objects: check the token (cached),
read the body, verify + store it on a worker thread, answer a small JSON.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .auth import check
from .service import ApiError, Platform
from .serving import Receive, Scope, Send

BLOB_PREFIX = "/_api/v1/blobs/"
MAX_BLOB = 1 << 30


async def send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def error_payload(exc: ApiError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message, **exc.extra}}


async def put_blob(platform: Platform, scope: Scope, receive: Receive, send: Send) -> None:
    auth = b""
    length = -1
    for k, v in scope["headers"]:
        if k == b"authorization":
            auth = v
        elif k == b"content-length" and v.isdigit():
            length = int(v)
    sha = scope["path"][len(BLOB_PREFIX):]
    try:
        check(platform, auth.decode("latin-1"), "deployer")
        if length > MAX_BLOB:
            raise ApiError(413, "too_large", f"blob is larger than {MAX_BLOB} bytes")
    except ApiError as exc:
        await send_json(send, exc.status, error_payload(exc))
        return
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))
    data = b"".join(chunks)
    try:
        created = await asyncio.get_running_loop().run_in_executor(None, platform.put_blob, sha, data)
    except ApiError as exc:
        await send_json(send, exc.status, error_payload(exc))
        return
    await send_json(send, 201 if created else 200, {"sha256": sha, "size": len(data), "created": created})
