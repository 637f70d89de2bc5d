"""The local platform against Vercel's own routing engine, on the same vercel.json and requests.

``@vercel/routing-utils`` (installed by scripts/test into tests/vendor-vercel/) turns each
configuration into routes and tests/vendor-vercel/route.js applies them to each request; the
platform (a real server on loopback) answers the same request. Status, ``Location``, the file
served and the headers the rules set must agree in at least 99% of the applicable requests
(rewrites to other hosts are proxies: not applicable). The figure is printed; the remaining
differences are listed in docs/platform.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningPlatform

from .vercel_cases import FILES, common, published

VENDOR = Path(__file__).resolve().parents[1] / "vendor-vercel"
AGREEMENT_MIN = 0.99


def vercel_answers(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Vercel's engine answers for each case (``{"error"}`` when it refuses the configuration)."""
    node = shutil.which("node")
    assert node, "node is needed for the vercel.json differential test (scripts/test installs it)"
    assert (VENDOR / "node_modules" / "@vercel" / "routing-utils").is_dir(), \
        "tests/vendor-vercel/node_modules is missing: run scripts/test (npm ci there)"
    done = subprocess.run([node, str(VENDOR / "route.js")], input=json.dumps(cases), capture_output=True, text=True,
                          cwd=VENDOR, timeout=120, check=True)
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


def _request(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = (raw, "", {})
    path, query, headers = raw
    return {"path": path, "query": query, "headers": {"host": "localhost", **headers}}


def _expected(answer: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    location = answer["location"]
    if location is not None and req["query"]:  # Vercel keeps the request's query on a redirect
        location += ("&" if "?" in location else "?") + req["query"]
    return {"status": answer["status"], "location": location, "file": answer["file"],
            "headers": {k: v for k, v in answer["headers"].items()}}


def _actual(p: RunningPlatform, site: str, req: dict[str, Any], names: set[str]) -> dict[str, Any]:
    url = f"{p.url}/_sites/{site}{req['path']}" + (f"?{req['query']}" if req["query"] else "")
    r = httpx.get(url, headers={"accept-encoding": "identity", **req["headers"]})
    location = r.headers.get("location")
    prefix = f"/_sites/{site}"
    if location is not None and location.startswith(prefix):
        location = location[len(prefix):]
    body = r.content.decode("utf-8", "replace")
    headers = {}
    for name in names:
        values = r.headers.get_list(name)
        if values and (name != "cache-control" or values != ["public, max-age=0, must-revalidate"]):
            headers[name] = values[0] if len(values) == 1 else values
    return {"status": r.status_code, "location": location, "file": body if body in FILES else None,
            "headers": headers}


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


def test_vercel_json_agrees_with_vercel(local_platform: RunningPlatform, capsys: pytest.CaptureFixture[str]) -> None:
    p = local_platform
    cases = [{"name": name, "config": conf, "files": FILES, "requests": [_request(r) for r in reqs]}
             for name, conf, reqs in [*published(), *common()]]
    answers = vercel_answers(cases)
    agree = applicable = 0
    differences: list[str] = []
    for case, answer in zip(cases, answers, strict=True):
        site = p.new_site("vdiff")
        try:
            p.deploy(site, {**{f: f.encode() for f in FILES}, "vercel.json": json.dumps(case["config"]).encode()})
            refused = None
        except httpx.HTTPStatusError as exc:
            refused = exc.response.json()["error"]["message"]
        if "error" in answer or refused is not None:
            applicable += 1
            if ("error" in answer) == (refused is not None):
                agree += 1
            else:
                differences.append(f"{case['name']}: Vercel {answer.get('error', 'accepts it')!r}, "
                                   f"platform {refused or 'accepts it'!r}")
            continue
        names = {h["key"].lower() for e in case["config"].get("headers", []) for h in e["headers"]}
        for req, vercel in zip(case["requests"], answer["answers"], strict=True):
            if vercel["status"] == "proxy":
                continue  # a rewrite to another host: the platform does not proxy (documented)
            applicable += 1
            expected, actual = _expected(vercel, req), _actual(p, site, req, names)
            if expected == actual:
                agree += 1
            else:
                differences.append(f"{case['name']}: {req['path']} {req['query']} {req['headers']}: "
                                   f"Vercel {expected}, platform {actual}")
    ratio = agree / applicable
    with capsys.disabled():
        print(f"\nvercel.json agreement with @vercel/routing-utils: {agree}/{applicable} = {ratio:.2%}")
        for line in differences:
            print("  difference:", line)
    assert applicable > 500
    assert ratio >= AGREEMENT_MIN, "\n".join(differences)
