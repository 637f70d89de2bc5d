"""Differential testing against Netlify's own engines (tests/vendor/netlify.mjs under node).

``vendor_answers`` asks the vendor engines; ``platform_answers`` deploys the same rules and files
on a running local platform and asks it, over HTTP on loopback; ``compare`` lists the requests
whose status, ``Location``, file served or rule headers differ. Also used by bench/bench_rules.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from moai_adk.platform.rules import parse_rules

VENDOR = Path(__file__).resolve().parents[1] / "vendor"
HARNESS = VENDOR / "netlify.mjs"
PLATFORM_DEFAULT_CACHE = "public, max-age=0, must-revalidate"
Answer = dict[str, Any]


def vendor_ready() -> str | None:
    """Why the vendor engines cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (scripts/test needs node and npm)"
    if not (VENDOR / "node_modules" / "netlify-redirector").is_dir():
        return "tests/vendor/node_modules is missing: run scripts/test (it runs npm ci in tests/vendor)"
    return None


def vendor_answers(cases: list[Any]) -> list[dict[str, Any]]:
    """``{"errors": [...], "answers": [...]}`` of Netlify's engines for each case."""
    payload = {"cases": [{"files": c.files, "static": c.static, "requests": c.requests} for c in cases]}
    done = subprocess.run(["node", str(HARNESS)], input=json.dumps(payload), capture_output=True, text=True,
                          cwd=VENDOR, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the vendor harness failed: {done.stderr[-2000:]}")
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def rule_header_names(files: dict[str, str]) -> set[str]:
    """The header names the case's rules set (by the platform's own reading of them)."""
    rules = parse_rules(lambda p: files[p].encode() if p in files else None)
    return {str(k).lower() for block in rules["headers"] for k, _ in block["headers"]}


def deploy_case(platform: Any, site: str, case: Any) -> None:
    body = {path: path.encode() for path in case.static}
    body.update({name: text.encode() for name, text in case.files.items()})
    platform.deploy(site, body)


def platform_answers(platform: Any, site: str, case: Any, client: httpx.Client) -> list[Answer]:
    names = rule_header_names(case.files)
    out = []
    for path, query in case.requests:
        url = f"{platform.url}{quote(path, safe='/:@!$&()*+,;=-._~')}" + (f"?{query}" if query else "")
        r = client.get(url, headers={"host": f"{site}.localhost:{platform.port}", "accept-encoding": "identity"})
        body = r.content.decode("utf-8", "replace")
        headers: dict[str, str] = {}
        if not 300 <= r.status_code < 400:
            for name in names:
                values = r.headers.get_list(name)
                if name == "cache-control" and PLATFORM_DEFAULT_CACHE in values:
                    values.remove(PLATFORM_DEFAULT_CACHE)  # the platform's default, not a rule's
                if values:
                    headers[name] = ", ".join(values)
        out.append({"status": r.status_code, "location": r.headers.get("location"),
                    "file": body if body in case.static else None, "headers": headers})
    return out


def normalise(answer: Answer) -> Answer:
    return {**answer, "headers": {k.lower(): v for k, v in answer["headers"].items()}}


def compare(case: Any, vendor: list[Answer], local: list[Answer]) -> list[str]:
    """One line per request whose answers differ."""
    diffs = []
    for (path, query), want, got in zip(case.requests, vendor, local, strict=True):
        want, got = normalise(want), normalise(got)
        if want != got:
            fields = [k for k in ("status", "location", "file", "headers") if want[k] != got[k]]
            shown = "; ".join(f"{k}: netlify {want[k]!r}, local {got[k]!r}" for k in fields)
            diffs.append(f"{case.family} [{case.name}] GET {path}{'?' + query if query else ''}: {shown}")
    return diffs
