"""The platform's application: ``/_api/...`` goes to the blob upload handlers
or the Starlette deploy API, everything else to the serving path. One object
speaks ASGI (uvicorn) and RSGI (granian: ``__rsgi__`` and its init/del hooks)."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from .api import build_api
from .indexes import DEFAULT_BUDGET
from .rsgi import RsgiScope, call_asgi, serve
from .service import UPLOAD_TTL, Platform
from .serving import Server
from .uploads import BATCH_PATH, BLOB_PREFIX, Limits, post_batch, put_blob
from .wire import Receive, Scope, Send, send_simple

DATA_ENV = "MOAI_PLATFORM_DATA"
CACHE_ENV = "MOAI_PLATFORM_CACHE_MB"
INDEX_ENV = "MOAI_PLATFORM_INDEX_MB"  # memory for deployment indexes (platform/indexes.py)
DOMAIN_ENV = "MOAI_PLATFORM_DOMAIN"
UPLOAD_TTL_ENV = "MOAI_PLATFORM_UPLOAD_TTL"  # seconds before an unfinished deployment expires (default 24 h)
EDGE_ENV = "MOAI_PLATFORM_EDGE"  # "nginx": keep the nginx edge's trees and symlinks (platform/edge.py)


class PlatformApp:
    """ASGI and RSGI entry point wrapping one ``Platform``."""

    def __init__(self, platform: Platform, limits: Limits | None = None) -> None:
        self.platform = platform
        self.limits = limits or Limits.from_env()
        self.api = build_api(platform)
        self.edge = Server(platform)

    async def api_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Everything under ``/_api/``."""
        path = scope["path"]
        if scope["method"] == "PUT" and path.startswith(BLOB_PREFIX):
            await put_blob(self.platform, self.limits, scope, receive, send)
        elif scope["method"] == "POST" and path == BATCH_PATH:
            await post_batch(self.platform, self.limits, scope, receive, send)
        else:
            await self.api(scope, receive, send)

    def __rsgi__(self, scope: RsgiScope, proto: Any) -> Awaitable[None]:
        # a plain function handing back the coroutine: one frame less on the hot path
        if scope.proto != "http":
            return _refuse_websocket(proto)
        if scope.path.startswith("/_api/"):
            return call_asgi(self.api_asgi, scope, proto)
        return serve(self.edge, scope, proto)

    def __rsgi_init__(self, loop: Any) -> None:
        """Granian calls this in the worker before serving (the ASGI lifespan startup)."""

    def __rsgi_del__(self, loop: Any) -> None:
        """Granian calls this in the worker after serving (the ASGI lifespan shutdown)."""
        self.platform.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["path"].startswith("/_api/"):
                await self.api_asgi(scope, receive, send)
            else:
                await self.edge(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.platform.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})
        else:  # pragma: no cover - unknown scope types
            await send_simple(send, 400, b"unsupported\n")


async def _refuse_websocket(proto: Any) -> None:
    proto.close(403)  # an HTTP status: the upgrade is refused, as ASGI close-before-accept does


def create_app(data_dir: Path, *, cache_bytes: int = 64 << 20, domain: str = "localhost",
               edge: bool = False, upload_ttl: int = UPLOAD_TTL, index_bytes: int = DEFAULT_BUDGET) -> PlatformApp:
    return PlatformApp(Platform(data_dir, cache_bytes=cache_bytes, domain=domain, edge=edge, upload_ttl=upload_ttl,
                                index_bytes=index_bytes))


def app_from_env() -> PlatformApp:
    """Factory for server processes (granian imports it by name): settings come
    from the variables ``platform.server.run`` sets before starting workers."""
    data = os.environ.get(DATA_ENV)
    if not data:
        raise RuntimeError(f"{DATA_ENV} is not set; start the platform with `moai-adk platform serve`")
    cache_mb = int(os.environ.get(CACHE_ENV, "64"))
    ttl = os.environ.get(UPLOAD_TTL_ENV, "")
    index_mb = os.environ.get(INDEX_ENV, "")
    return create_app(Path(data), cache_bytes=cache_mb << 20, domain=os.environ.get(DOMAIN_ENV, "localhost"),
                      edge=os.environ.get(EDGE_ENV) == "nginx", upload_ttl=int(ttl) if ttl.isdigit() else UPLOAD_TTL,
                      index_bytes=int(index_mb) << 20 if index_mb.isdigit() else DEFAULT_BUDGET)
