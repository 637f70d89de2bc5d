"""The platform's ASGI application: ``/_api/...`` goes to the Starlette deploy
API, everything else to the raw serving callable."""

from __future__ import annotations

import os
from pathlib import Path

from .api import build_api
from .service import Platform
from .serving import Receive, Scope, Send, Server, send_simple
from .uploads import BATCH_PATH, BLOB_PREFIX, post_batch, put_blob

DATA_ENV = "MOAI_PLATFORM_DATA"
CACHE_ENV = "MOAI_PLATFORM_CACHE_MB"
DOMAIN_ENV = "MOAI_PLATFORM_DOMAIN"


class PlatformApp:
    """ASGI entry point wrapping one ``Platform``."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.api = build_api(platform)
        self.edge = Server(platform)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if path.startswith("/_api/"):
                if scope["method"] == "PUT" and path.startswith(BLOB_PREFIX):
                    await put_blob(self.platform, scope, receive, send)
                elif scope["method"] == "POST" and path == BATCH_PATH:
                    await post_batch(self.platform, scope, receive, send)
                else:
                    await self.api(scope, receive, send)
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


def create_app(data_dir: Path, *, cache_bytes: int = 64 << 20, domain: str = "localhost") -> PlatformApp:
    return PlatformApp(Platform(data_dir, cache_bytes=cache_bytes, domain=domain))


def app_from_env() -> PlatformApp:
    """Factory for server processes (granian imports it by name): settings come
    from the variables ``platform.server.run`` sets before starting workers."""
    data = os.environ.get(DATA_ENV)
    if not data:
        raise RuntimeError(f"{DATA_ENV} is not set; start the platform with `moai-adk platform serve`")
    cache_mb = int(os.environ.get(CACHE_ENV, "64"))
    return create_app(Path(data), cache_bytes=cache_mb << 20, domain=os.environ.get(DOMAIN_ENV, "localhost"))
