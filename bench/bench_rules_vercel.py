"""Benchmark vercel.json routing on the local platform.

1. agreement with Vercel's own engine (``@vercel/routing-utils``, tests/vendor-vercel/): the
   differential test's cases (routing-utils' published fixtures and common site configurations),
   answered by a real platform on loopback and by the vendor engine;
2. resolve time per request (in process, no HTTP) of a vercel.json with 2,000 redirects, 200 header
   rules with ``has`` conditions and a look-ahead rewrite, over fresh paths (no per-path cache):
   p50/p99;
3. the look-ahead guard: another site's latency (median of 30 requests) while a client hammers a
   deployment of 200 look-ahead rewrites with 5,000-character paths.

Needs node/npm (``scripts/test`` installs tests/vendor-vercel). Run:

    .venv/bin/python bench/bench_rules_vercel.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moai_adk.platform.rules import parse_rules  # noqa: E402
from moai_adk.platform.rules_vercel import Request  # noqa: E402
from moai_adk.platform.views import DeployView  # noqa: E402
from tests.conftest import start_platform  # noqa: E402
from tests.platform.test_rules_vercel_diff import _actual, _expected, _request, vercel_answers  # noqa: E402
from tests.platform.vercel_cases import FILES, common, published  # noqa: E402


def agreement(p) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    cases = [{"name": n, "config": c, "files": FILES, "requests": [_request(r) for r in reqs]}
             for n, c, reqs in [*published(), *common()]]
    agree = applicable = 0
    for case, answer in zip(cases, vercel_answers(cases), strict=True):
        site = p.new_site("bench")
        try:
            p.deploy(site, {**{f: f.encode() for f in FILES}, "vercel.json": json.dumps(case["config"]).encode()})
            refused = False
        except httpx.HTTPStatusError:
            refused = True
        if "error" in answer or refused:
            applicable += 1
            agree += ("error" in answer) == refused
            continue
        names = {h["key"].lower() for e in case["config"].get("headers", []) for h in e["headers"]}
        for req, vercel in zip(case["requests"], answer["answers"], strict=True):
            if vercel["status"] == "proxy":
                continue
            applicable += 1
            agree += _expected(vercel, req) == _actual(p, site, req, names)
    return agree, applicable


def resolve_times() -> tuple[float, float]:
    conf = {"redirects": [{"source": f"/old/{i}/:rest*", "destination": f"/new/{i}/:rest*"} for i in range(2000)],
            "headers": [{"source": f"/h{i}/(.*)", "has": [{"type": "cookie", "key": "team", "value": "(?<t>[a-z]+)"}],
                         "headers": [{"key": "X-Team", "value": ":t"}]} for i in range(200)],
            "rewrites": [{"source": "/feedback/((?!general).*)", "destination": "/index.html"}]}
    rules = parse_rules({"vercel.json": json.dumps(conf).encode()}.get)
    view = DeployView("bench", "bench", {"index.html": ["0" * 64, 10, 0, 0]}, rules)
    req = Request("bench.localhost", "", {"cookie": "team=core"}.get)
    times = []
    for i in range(20_000):
        path = f"/feedback/x{i}" if i % 2 else f"/old/{i % 2000}/a/b{i}"
        start = time.perf_counter()
        view._resolve(path, req)
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99)]


def guard(p) -> float:  # type: ignore[no-untyped-def]
    slow, other = p.new_site("la"), p.new_site("calm")
    conf = {"rewrites": [{"source": f"/l{i}/((?!(?:a*a*a*a*a*a*a*a*b)).*)", "destination": "/index.html"}
                         for i in range(200)]}
    p.deploy(slow, {"index.html": b"i", "vercel.json": json.dumps(conf).encode()})
    p.deploy(other, {"index.html": b"home"})
    stop = threading.Event()

    def attack() -> None:
        with httpx.Client(timeout=60) as c:
            i = 0
            while not stop.is_set():
                c.get(f"{p.url}/_sites/{slow}/l199/{'a' * 5000}{i}c")
                i += 1

    thread = threading.Thread(target=attack)
    thread.start()
    latencies = []
    try:
        time.sleep(0.1)
        with httpx.Client(timeout=60) as c:
            for _ in range(30):
                start = time.perf_counter()
                c.get(f"{p.url}/_sites/{other}/")
                latencies.append(time.perf_counter() - start)
    finally:
        stop.set()
        thread.join()
    return statistics.median(latencies)


def main() -> None:
    p50, p99 = resolve_times()
    print(f"resolve, 2,000 redirects + 200 conditional header rules + a look-ahead: "
          f"p50 {p50 * 1e6:.1f} µs, p99 {p99 * 1e6:.1f} µs")
    with tempfile.TemporaryDirectory() as tmp, start_platform(Path(tmp)) as p:
        agree, applicable = agreement(p)
        print(f"agreement with @vercel/routing-utils: {agree}/{applicable} = {agree / applicable:.2%}")
        print(f"another site's median latency under a look-ahead flood: {guard(p) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
