"""vercel.json on the local platform: where it is read, conditions, path syntax, header assembly,
look-aheads. The differential comparison with Vercel's own engine is test_rules_vercel_diff.py."""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.platform.rules import RulesError, parse_rules
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.local import LocalProvider
from tests.conftest import RunningPlatform

PAGES = {"index.html": b"home", "about.html": b"about", "404.html": b"custom 404", "assets/app.js": b"js",
         "docs/index.html": b"docs", "feedback/general.html": b"general", "blog/a.html": b"post a"}


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


def site_with(p: RunningPlatform, conf: dict[str, Any] | None = None, files: dict[str, bytes] | None = None) -> str:
    site = p.new_site("vjson")
    extra = {"vercel.json": json.dumps(conf).encode()} if conf is not None else {}
    p.deploy(site, {**PAGES, **(files or {}), **extra})
    return site


def get(p: RunningPlatform, site: str, path: str, **headers: str) -> httpx.Response:
    hdrs = {"accept-encoding": "identity", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return httpx.get(f"{p.url}/_sites/{site}{path}", headers=hdrs)


# -- 1: a rule's Cache-Control replaces the platform's default -----------------------------------
@pytest.mark.parametrize("files", [
    {"_headers": b"/assets/*\n  Cache-Control: public, max-age=31536000, immutable\n"},
    {"vercel.json": json.dumps({"headers": [{"source": "/assets/(.*)", "headers": [
        {"key": "Cache-Control", "value": "public, max-age=31536000, immutable"}]}]}).encode()},
])
def test_a_rule_cache_control_is_sent_once(local_platform: RunningPlatform, files: dict[str, bytes]) -> None:
    p = local_platform
    site = p.new_site("cache")
    p.deploy(site, {**PAGES, **files})
    for _ in range(2):  # the first answer builds the headers, the second comes from the prebuilt ones
        r = get(p, site, "/assets/app.js")
        assert r.headers.get_list("cache-control") == ["public, max-age=31536000, immutable"]
    etag = r.headers["etag"]
    assert get(p, site, "/assets/app.js", if_none_match=etag).headers.get_list("cache-control") == [
        "public, max-age=31536000, immutable"]
    assert get(p, site, "/about.html").headers.get_list("cache-control") == ["public, max-age=0, must-revalidate"]


# -- 2: the project root's vercel.json --------------------------------------------------------------
def test_the_project_root_vercel_json_is_deployed(local_platform: RunningPlatform, tmp_path: Path) -> None:
    p = local_platform
    (tmp_path / "out").mkdir()
    for name, body in PAGES.items():
        (tmp_path / "out" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "out" / name).write_bytes(body)
    conf = {"cleanUrls": True, "trailingSlash": False,
            "redirects": [{"source": "/old", "destination": "/about"}]}
    (tmp_path / "vercel.json").write_text(json.dumps(conf))
    site = p.new_site("rootjson")
    provider = LocalProvider(p.context(tmp_path, site=site))
    dep = provider.deploy(take_snapshot(tmp_path / "out"), DeployTarget())
    provider.promote(dep.id)
    assert (get(p, site, "/about.html").status_code, get(p, site, "/about.html").headers["location"]) \
        == (308, f"/_sites/{site}/about")
    assert get(p, site, "/old").headers["location"] == f"/_sites/{site}/about"
    assert get(p, site, "/docs/").headers["location"] == f"/_sites/{site}/docs"
    # one in the output folder is the one Vercel uses: the root's is then left alone
    (tmp_path / "out" / "vercel.json").write_text(json.dumps({"redirects": []}))
    dep = provider.deploy(take_snapshot(tmp_path / "out"), DeployTarget())
    provider.promote(dep.id)
    assert get(p, site, "/about.html").status_code == 200


# -- 3: has / missing --------------------------------------------------------------------------------
def test_host_conditions_www_to_apex_and_a_named_capture(local_platform: RunningPlatform) -> None:
    p = local_platform
    site = site_with(p, {"redirects": [
        {"source": "/:path(.*)", "has": [{"type": "host", "value": "www.example.com"}],
         "destination": "https://example.com/:path", "permanent": True},
        {"source": "/:path(.*)", "has": [{"type": "host", "value": "(?<team>[a-z]+)\\.teams\\.example"}],
         "destination": "https://example.com/teams/:team/:path", "permanent": False}]})
    r = get(p, site, "/docs/x", host="www.example.com")
    assert (r.status_code, r.headers["location"]) == (308, "https://example.com/docs/x")
    r = get(p, site, "/a", host="core.teams.example:8080")
    assert (r.status_code, r.headers["location"]) == (307, "https://example.com/teams/core/a")
    assert get(p, site, "/about.html", host="example.com").content == b"about"


def test_a_host_taken_from_the_request_is_refused() -> None:
    """Vercel would redirect to ``https://:apex/``; here the Host header is the visitor's to choose
    (any Host reaches a site through /_sites/<site>/), so that would be an open redirect."""
    conf = {"redirects": [{"source": "/:path(.*)", "has": [{"type": "host", "value": "www\\.(?<apex>.*)"}],
                           "destination": "https://:apex/:path"}]}
    with pytest.raises(RulesError) as info:
        parse_rules({"vercel.json": json.dumps(conf).encode()}.get)
    assert "host of an external destination must be written out" in str(info.value)


def test_header_cookie_query_conditions(local_platform: RunningPlatform) -> None:
    p = local_platform
    site = site_with(p, {"redirects": [
        {"source": "/go", "has": [{"type": "query", "key": "lang", "value": "(?<lang>fr|de)"}],
         "destination": "/:lang/home", "permanent": False},
        {"source": "/go", "has": [{"type": "cookie", "key": "seen"}], "destination": "/seen-:seen",
         "permanent": False},
        {"source": "/go", "missing": [{"type": "header", "key": "X-Beta"}], "destination": "/stable",
         "permanent": False}],
        "headers": [{"source": "/about", "has": [{"type": "header", "key": "x-team", "value": "(?<team>[a-z]+)"}],
                     "headers": [{"key": "X-Team-Seen", "value": ":team"}]}]})
    assert get(p, site, "/go?lang=fr").headers["location"].startswith(f"/_sites/{site}/fr/home")
    assert get(p, site, "/go", cookie="a=1; seen=yes").headers["location"] == f"/_sites/{site}/seen-yes"
    assert get(p, site, "/go").headers["location"] == f"/_sites/{site}/stable"
    assert get(p, site, "/go", x_beta="1").status_code == 404
    assert get(p, site, "/about", x_team="core").headers["x-team-seen"] == "core"
    assert "x-team-seen" not in get(p, site, "/about").headers


# -- 6: cleanUrls / trailingSlash ----------------------------------------------------------------------
@pytest.mark.parametrize("conf,path,expected", [
    ({"cleanUrls": True}, "/index", "/"),
    ({"cleanUrls": True}, "/docs/index.html", "/docs"),
    ({"cleanUrls": True}, "/about.html/", "/about"),
    ({"cleanUrls": True, "trailingSlash": True}, "/about.html", "/about/"),
    ({"trailingSlash": True}, "/.well-known/security.txt", None),
    ({"trailingSlash": True}, "/.well-known/acme", None),
    ({"trailingSlash": True}, "/assets/app.js/", "/assets/app.js"),
    ({"trailingSlash": True}, "/docs", "/docs/"),
])
def test_clean_urls_and_trailing_slash(local_platform: RunningPlatform, conf: dict[str, Any], path: str,
                                       expected: str | None) -> None:
    p = local_platform
    site = site_with(p, conf, {".well-known/security.txt": b"contact"})
    r = get(p, site, path)
    if expected is None:
        assert r.status_code in (200, 404) and "location" not in r.headers
    else:
        assert (r.status_code, r.headers["location"]) == (308, f"/_sites/{site}{expected}")


# -- 7: path syntax -----------------------------------------------------------------------------------
def test_vercel_path_syntax(local_platform: RunningPlatform) -> None:
    p = local_platform
    site = site_with(p, {"redirects": [
        {"source": "/next(\\.js)?", "destination": "/about", "permanent": False},
        {"source": "/p/{:slug}-post", "destination": "/blog/:slug", "permanent": False},
        {"source": "/many/:rest+", "destination": "/to/:rest+", "permanent": False},
        {"source": "/any/:rest*", "destination": "/got/:rest*", "permanent": False},
        {"source": "/opt/:x?", "destination": "/o/:x?", "permanent": False}],
        "headers": [{"source": "/blog/:slug", "headers": [{"key": "X-Slug", "value": "slug=:slug"}]}],
        "rewrites": [{"source": "/blog/:slug", "destination": "/blog/:slug.html"}]})
    loc = {path: get(p, site, path).headers.get("location", "").removeprefix(f"/_sites/{site}")
           for path in ("/next", "/next.js", "/p/a-post", "/many/a/b", "/many", "/any", "/any/a/b", "/opt", "/opt/z")}
    assert loc == {"/next": "/about", "/next.js": "/about", "/p/a-post": "/blog/a", "/many/a/b": "/to/a/b",
                   "/many": "", "/any": "/got/", "/any/a/b": "/got/a/b", "/opt": "/o/", "/opt/z": "/o/z"}
    r = get(p, site, "/blog/a")
    assert r.content == b"post a" and r.headers["x-slug"] == "slug=a"


# -- 10: look-aheads, still linear -------------------------------------------------------------------
def test_negative_look_ahead_in_a_source(local_platform: RunningPlatform) -> None:
    p = local_platform
    site = site_with(p, {"rewrites": [{"source": "/feedback/((?!general).*)", "destination": "/feedback/general.html"}],
                         "redirects": [{"source": "/:path((?!docs|about).*)", "destination": "/docs/",
                                        "permanent": False, "has": [{"type": "query", "key": "r"}]}]})
    assert get(p, site, "/feedback/other").content == b"general"
    assert get(p, site, "/feedback/general.html").content == b"general"  # the file itself
    assert get(p, site, "/feedback/general").status_code == 404  # no cleanUrls: no file, and no rewrite
    assert get(p, site, "/feedback/generalx").status_code == 404  # (?!general) refuses it, as in JavaScript
    assert get(p, site, "/x?r=1").headers["location"].startswith(f"/_sites/{site}/docs/")
    assert get(p, site, "/about.html?r=1").content == b"about"


def test_look_ahead_elsewhere_is_refused_with_its_line() -> None:
    conf = b'{\n "rewrites": [\n  {"source": "/a/(x(?!y))", "destination": "/"}\n ]\n}'
    with pytest.raises(RulesError) as info:
        parse_rules({"vercel.json": conf}.get)
    assert (info.value.problems[0].file, info.value.problems[0].line) == ("vercel.json", 3)
    assert "look-ahead" in str(info.value)


def test_look_ahead_rules_do_not_stall_other_sites(local_platform: RunningPlatform) -> None:
    p = local_platform
    slow = site_with(p, {"rewrites": [{"source": f"/l{i}/((?!(?:a*a*a*a*a*a*a*a*b)).*)", "destination": "/about.html"}
                                      for i in range(200)]})
    other = site_with(p)
    stop, latencies, answers = threading.Event(), [], []

    def attack() -> None:
        with httpx.Client(timeout=60) as c:
            i = 0
            while not stop.is_set():
                start = time.perf_counter()
                r = c.get(f"{p.url}/_sites/{slow}/l199/{'a' * 5000}{i}c")
                answers.append((r.status_code, time.perf_counter() - start))
                i += 1

    thread = threading.Thread(target=attack)
    thread.start()
    try:
        time.sleep(0.05)
        with httpx.Client(timeout=60) as c:
            for _ in range(15):
                start = time.perf_counter()
                assert c.get(f"{p.url}/_sites/{other}/").content == b"home"
                latencies.append(time.perf_counter() - start)
    finally:
        stop.set()
        thread.join()
    assert answers and all(status == 200 for status, _ in answers)
    assert max(t for _, t in answers) < 1.0
    assert statistics.median(latencies) < 0.05, latencies
