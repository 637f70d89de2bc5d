"""What the per-request role check costs a promote on the local platform API.

In one run, in one process (no network: the ASGI app is called directly through httpx's ASGI
transport, and the time is taken around the app, i.e. server-side):

* the whole ``POST /sites/<site>/promote`` request with a scoped deployer token (the check, the
  switch, its audit entry with fsync), alternating between two ready deployments;
* the check alone, as the API runs it for that request: the token from the lookup cache, where
  the request acts (site, environment ``production``) and the role matrix.

Prints both and their ratio; the target is < 5%.

    python bench/bench_rbac.py [--rounds 400]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request

from moai_adk.platform.app import PlatformApp
from moai_adk.platform.auth import CHANGE, Rule, identify_cached, permit
from moai_adk.platform.guard import where
from moai_adk.platform.service import Platform

API = "/_api/v1"


class Timed:
    """An ASGI wrapper that records how long the app spends on each request."""

    def __init__(self, app: PlatformApp) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        t0 = time.perf_counter()
        await self.app(scope, receive, send)  # type: ignore[arg-type]
        self.times.append(time.perf_counter() - t0)


async def ready(c: httpx.AsyncClient, site: str, body: bytes) -> str:
    sha = hashlib.sha256(body).hexdigest()
    created = (await c.post(f"{API}/sites/{site}/deploys", json={"files": {"index.html": sha}})).json()
    await c.put(f"{API}/blobs/{sha}", content=body)
    await c.post(f"{API}/deploys/{created['id']}/finalize")
    return str(created["id"])


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Path(tmp))
        admin = platform.create_token("admin", "bench")
        app = PlatformApp(platform)
        timed = Timed(app)
        transport = httpx.ASGITransport(app=timed)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"authorization": f"Bearer {admin}"}) as c:
            await c.post(f"{API}/sites", json={"name": "bench"})
            ids = [await ready(c, "bench", b"a"), await ready(c, "bench", b"b")]
            minted = (await c.post(f"{API}/tokens", json={"role": "deployer", "name": "release", "sites": ["bench"],
                                                          "environments": ["production"]})).json()["token"]
            headers = {"authorization": f"Bearer {minted}"}
            for i in range(20):  # warm up: caches, indexes
                await c.post(f"{API}/sites/bench/promote", json={"deploy_id": ids[i % 2]}, headers=headers)
            timed.times.clear()
            for i in range(rounds):
                r = await c.post(f"{API}/sites/bench/promote", json={"deploy_id": ids[i % 2]}, headers=headers)
                assert r.status_code == 200, r.text
            request_times = list(timed.times)

        rule = Rule(CHANGE, "promote a deployment", env="production", audit="promote")
        scope = {"type": "http", "method": "POST", "path": "/_api/v1/sites/bench/promote", "headers":
                 [(b"authorization", f"Bearer {minted}".encode())], "path_params": {"site": "bench"},
                 "query_string": b""}

        async def no_body(_: Request) -> dict[str, Any]:
            return {}

        check_times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            request = Request(scope)
            row = identify_cached(platform.tokens, request.headers.get("authorization", ""))
            assert row is not None
            site, environment = await where(platform, request, rule, no_body)
            permit(row.grant, rule, site, environment)
            check_times.append(time.perf_counter() - t0)
        platform.close()

    req = statistics.median(request_times)
    chk = statistics.median(check_times)
    print(f"promote request, server-side: median {req * 1e3:.3f} ms, p95 "
          f"{sorted(request_times)[int(len(request_times) * 0.95)] * 1e3:.3f} ms ({rounds} requests)")
    print(f"role check alone:             median {chk * 1e6:.1f} µs")
    print(f"check / promote: {chk / req * 100:.2f}% (target < 5%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=400)
    asyncio.run(main(parser.parse_args().rounds))
