"""Benchmark the local platform's Netlify rules.

1. agreement with Netlify's own engines (netlify-redirector, @netlify/redirect-parser and
   @netlify/headers-parser under node, installed by scripts/test into tests/vendor/node_modules):
   the differential cases of tests/platform/netlify_cases.py, per family (`_redirects`,
   `_headers`, `netlify.toml`), with every remaining difference listed;
2. a 45,000-line `_redirects` (42,000 literal old URLs, 1,000 `/section-N/*` splats, 1,000
   `/:lang/topic-N/:id` placeholders, 1,000 query-conditioned rules): deploy through the API
   (create, upload, finalize) and first request, timed on the platform running in this process;
3. matching one request against those rules: p50/p99 over 20,000 requests (hits of each kind and
   misses), cold (each rule's pattern compiled when first tried) and warm, and the same requests
   on a linear scan of the rules as the baseline.

Run from the repository root:

    .venv/bin/python bench/bench_rules.py [--lines 45000] [--requests 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moai_adk.platform.rules import CompiledRules, parse_rules  # noqa: E402
from tests.conftest import start_platform  # noqa: E402
from tests.platform.netlify_cases import CASES  # noqa: E402
from tests.platform.netlify_vendor import (  # noqa: E402
    compare,
    deploy_case,
    platform_answers,
    vendor_answers,
    vendor_ready,
)


def big_redirects(lines: int) -> str:
    out = []
    for i in range(lines):
        kind = i % 45
        if kind == 0:
            out.append(f"/section-{i}/* /s/{i}/:splat 301")
        elif kind == 1:
            out.append(f"/:lang/topic-{i}/:id /topics/{i}/:id?lang=:lang 302")
        elif kind == 2:
            out.append(f"/search-{i} q=:q /results/{i}/:q 302")
        else:
            out.append(f"/old/path/page-{i}.html /new/page-{i} 301")
    out.append("/* /index.html 200")
    return "\n".join(out) + "\n"


def requests_for(lines: int, n: int, rng: random.Random) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for j in range(n):
        i = 45 * rng.randrange(lines // 45)
        kind = j % 5
        if kind == 0:
            out.append((f"/old/path/page-{i + 3 + rng.randrange(40)}.html", ""))
        elif kind == 1:
            out.append((f"/section-{i}/a/b-{j}", ""))
        elif kind == 2:
            out.append((f"/{rng.choice(['en', 'fr', 'de'])}/topic-{i + 1}/{j}", ""))
        elif kind == 3:
            out.append((f"/search-{i + 2}", f"q=term{j}"))
        else:
            out.append((f"/nothing/here-{j}", ""))
    return out


def agreement(platform) -> None:
    why = vendor_ready()
    if why is not None:
        sys.exit(f"bench_rules: {why}")
    vendor = vendor_answers(CASES)
    total: dict[str, int] = defaultdict(int)
    agree: dict[str, int] = defaultdict(int)
    diffs: list[str] = []
    with httpx.Client(timeout=30) as client:
        for case, answer in zip(CASES, vendor, strict=True):
            site = platform.new_site("agree")
            deploy_case(platform, site, case)
            found = compare(case, answer["answers"], platform_answers(platform, site, case, client))
            total[case.family] += len(case.requests)
            agree[case.family] += len(case.requests) - len(found)
            diffs += found
    for family in total:
        print(f"agreement with Netlify, {family:<12} {agree[family]:>4}/{total[family]:<4} requests "
              f"= {agree[family] / total[family]:.1%}  (target >= 99%)")
    for line in diffs:
        print(f"  differs: {line}")


def big_deploy(platform, text: str) -> None:
    files = {"index.html": b"home", "_redirects": text.encode()}
    manifest = {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}
    site = platform.new_site("big")
    with platform.client() as c:
        c.post("/_api/v1/sites", json={"name": site}).raise_for_status()
        start = time.perf_counter()
        created = c.post(f"/_api/v1/sites/{site}/deploys", json={"files": manifest})
        created.raise_for_status()
        by_hash = {manifest[p]: b for p, b in files.items()}
        for sha in created.json()["required"]:
            c.put(f"/_api/v1/blobs/{sha}", content=by_hash[sha]).raise_for_status()
        uploaded = time.perf_counter()
        deploy_id = created.json()["id"]
        c.post(f"/_api/v1/deploys/{deploy_id}/finalize").raise_for_status()
        finalized = time.perf_counter()
    r = httpx.get(f"{platform.url}/_deploys/{deploy_id}/section-0/x")
    first = time.perf_counter()
    assert r.status_code == 301 and r.headers["location"].endswith("/s/0/x"), r
    print(f"45,000-line _redirects ({len(text) / 1e6:.1f} MB): create+upload {uploaded - start:.3f} s, "
          f"finalize {finalized - uploaded:.3f} s, first request {first - finalized:.3f} s; "
          f"total {first - start:.3f} s  (target < 1 s)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def matching(text: str, n: int) -> None:
    t0 = time.perf_counter()
    data = parse_rules({"_redirects": text.encode()}.get)
    t1 = time.perf_counter()
    rules = CompiledRules(data)
    t2 = time.perf_counter()
    print(f"  in-process: parse and check {t1 - t0:.3f} s, load and index {t2 - t1:.3f} s "
          f"({len(rules.netlify.rules):,} rules; {len(rules.netlify.exact):,} by path, "
          f"{sum(map(len, rules.netlify.keyed.values())):,} by segment, {len(rules.netlify.rest)} tried always)")
    reqs = requests_for(len(text.splitlines()), n, random.Random(18))
    for label in ("cold", "warm"):
        times = []
        for path, query in reqs:
            start = time.perf_counter_ns()
            rules.first(rules.netlify, path, query)
            times.append((time.perf_counter_ns() - start) / 1000)
        print(f"match one request ({label}, {n:,} requests): p50 {statistics.median(times):.1f} µs, "
              f"p99 {percentile(times, 0.99):.1f} µs, max {max(times):.0f} µs  (target p99 < 50 µs)")
    sample = reqs[:200]
    times = []
    for path, query in sample:
        start = time.perf_counter_ns()
        for rule in rules.netlify.rules:
            if rule.apply(path, query) is not None:
                break
        times.append((time.perf_counter_ns() - start) / 1000)
    print(f"  baseline, linear scan of the same rules ({len(sample)} requests): p50 {statistics.median(times):.0f} µs, "
          f"p99 {percentile(times, 0.99):.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=45_000)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    text = big_redirects(args.lines - 1)
    with tempfile.TemporaryDirectory() as tmp, start_platform(Path(tmp)) as platform:
        agreement(platform)
        big_deploy(platform, text)
    matching(text, args.requests)


if __name__ == "__main__":
    main()
