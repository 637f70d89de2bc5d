"""Rule checks below the HTTP layer (every problem with its file and line; rules stored before the
checks existed), and the refusal as the CLI shows it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import re2

from moai_adk.platform.rules import CompiledRules, RulesError, compile_pattern, parse_rules
from moai_adk.platform.rules_check import FORBIDDEN_HEADERS, header_problem
from tests.conftest import RunningPlatform


def problems(files: dict[str, bytes]) -> list[tuple[str, int | None, str]]:
    with pytest.raises(RulesError) as info:
        parse_rules(files.get)
    return [(p.file, p.line, p.reason) for p in info.value.problems]


def test_every_problem_is_listed_with_its_line() -> None:
    found = problems({
        "_redirects": b"/only-source\nrelative /x\n/ok /about 301\n/s /x 999\n",
        "_headers": b"  X-Orphan: 1\n/*\n  Connection: close\n  X-Ok: fine\n  Keep-Alive: timeout=5\n",
        "vercel.json": b'{\n  "redirects": [\n    {"source": "/a", "destination": "/b"},\n'
                       b'    {"source": "/c", "destination": "/d", "statusCode": 200},\n'
                       b'    {"source": 3, "destination": "/e"}\n  ],\n'
                       b'  "rewrites": [{"source": "/f", "destination": "g"}]\n}',
    })
    assert [(f, line) for f, line, _ in found] == [
        ("_redirects", 1), ("_redirects", 2), ("_redirects", 4),
        ("_headers", 1), ("_headers", 3), ("_headers", 5),
        ("vercel.json", 4), ("vercel.json", 5), ("vercel.json", 7)]
    with pytest.raises(RulesError) as info:
        parse_rules({"_redirects": b"/a/* /x Country=us\n/y/* /z 301 \n/c\n"}.get)
    assert str(info.value).startswith("_redirects line 1: 'Country=us' is not a status code")
    assert str(info.value).endswith("(and 1 more problem in the rule files)")
    assert info.value.details()["line"] == 1 and [p["line"] for p in info.value.details()["problems"]] == [1, 3]


def test_invalid_json_names_its_line() -> None:
    assert problems({"vercel.json": b'{\n  "redirects": [\n    {"source": "/a",}\n  ]\n}'})[0][:2] == ("vercel.json", 3)


def test_header_checks() -> None:
    assert all(header_problem(name.title(), "x") for name in FORBIDDEN_HEADERS)
    assert header_problem("Content-Security-Policy", "default-src 'self'; img-src *") is None
    assert header_problem("X-Tab", "a\tb") is None
    assert "U+0000" in (header_problem("X-Nul", "a\x00b") or "")
    assert "longer than" in (header_problem("X-Big", "a" * 9000) or "")
    assert "not a valid header name" in (header_problem(":status", "200") or "")


def test_patterns_are_re2_and_linear() -> None:
    regex = compile_pattern("/re/:x(a*a*a*a*a*a*a*a*a*a*b)", "vercel")
    assert isinstance(regex.regex, re2._Regexp) and not regex.checks
    start = time.perf_counter()
    assert regex.match("/re/" + "a" * 20_000 + "c") is None
    assert time.perf_counter() - start < 0.05


def test_rules_stored_before_the_checks_are_left_out_when_served() -> None:
    """A deployment finalized by an older platform keeps its stored rules: loading them drops
    what finalize would refuse today, and never fails."""
    stored = {
        "netlify": [{"source": "/a/*/b/*", "dest": "/x", "status": 301, "force": False},
                    {"source": "/q", "dest": "/y", "status": "x", "force": False},
                    {"source": "/r/*", "dest": ":splat", "status": 301, "force": False},
                    {"source": "/ok", "dest": "/fine", "status": 301, "force": False}],
        "vredirects": [{"source": "/x/:id([)", "dest": "/y", "status": 308}],
        "vrewrites": [{"source": "/v/(.*)", "dest": "/index.html", "status": 200}],
        "headers": [{"source": "/*", "syntax": "netlify",
                     "headers": [["Content-Length", "0"], ["X-Name", "café"], ["X-Ok", "yes"], ["Bad\r\nName", "v"]]}],
    }
    rules = CompiledRules(stored)
    assert [r.raw[1] for r in rules.netlify.rules if r.compiled() is not None] == ["/x", "/fine"]
    assert rules.first(rules.netlify, "/r/x") is None
    assert rules.vercel is not None
    assert [kind for kind, _ in rules.vercel.before] == [] and len(rules.vercel.rewrites) == 1
    assert rules.extra_headers("/any") == [("X-Ok", "yes")]


def test_the_cli_shows_the_refused_rule(local_platform: RunningPlatform, tmp_path: Path) -> None:
    site = local_platform.new_site("clirules")
    root = tmp_path / "p"
    (root / "out").mkdir(parents=True)
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n[build]\noutput = "out"\n')
    (root / "out" / "index.html").write_text("hi")
    (root / "out" / "_redirects").write_text("/old /new 301\n/a/*  /x  Country=us\n")
    env = {**os.environ, **local_platform.environ(), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "moai_adk", "deploy"], cwd=root, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1
    assert time.monotonic() - start < 20  # refused at once, not after a health check times out
    err = " ".join(r.stderr.split())
    assert "refused the deployment's routing rules: _redirects line 2: 'Country=us' is not a status code" in err
    assert "Fix line 2 of _redirects in the output folder" in err
    assert httpx.get(f"{local_platform.url}/_sites/{site}/").status_code == 404  # nothing went live
