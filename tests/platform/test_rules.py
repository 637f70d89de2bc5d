"""_redirects, _headers and vercel.json: parsing and behaviour when served."""

from __future__ import annotations

import json

import httpx
import pytest

from moai_adk.platform.rules import RulesError, compile_pattern, parse_rules, substitute
from moai_adk.platform.rules_vercel import Request, Route
from tests.conftest import RunningPlatform

PAGES = {"index.html": b"home", "blog/index.html": b"blog", "blog/post.html": b"post",
         "app/index.html": b"spa shell", "real.html": b"real file", "404.html": b"custom 404",
         "missing.html": b"not here page", "about.html": b"about"}


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    """Every test of this module runs on uvicorn (ASGI) and on granian (RSGI)."""
    return each_server


def serve(local_platform, files: dict[str, bytes]) -> str:
    site = local_platform.new_site("rules")
    local_platform.deploy(site, {**PAGES, **files})
    return site


def get(local_platform, site: str, path: str) -> httpx.Response:
    return httpx.get(f"{local_platform.url}/_sites/{site}{path}", headers={"accept-encoding": "identity"})


def test_netlify_redirects(local_platform) -> None:
    site = serve(local_platform, {"_redirects": b"""
# comment
/old            /about              301
/news/*         /blog/:splat        302
/u/:id/profile  /users/:id          307
/app/*          /app/index.html     200
/gone           /missing.html       404
/real           /about              301
/real-forced    /about              301!
/real.html      /blog/post.html     200!
/ext            https://example.com/x
"""})
    r = get(local_platform, site, "/old")
    assert r.status_code == 301 and r.headers["location"] == f"/_sites/{site}/about"
    r = get(local_platform, site, "/news/2024/hello?x=1")
    assert r.status_code == 302 and r.headers["location"] == f"/_sites/{site}/blog/2024/hello?x=1"
    assert get(local_platform, site, "/u/42/profile").headers["location"] == f"/_sites/{site}/users/42"
    r = get(local_platform, site, "/app/some/deep/route")
    assert r.status_code == 200 and r.content == b"spa shell"
    r = get(local_platform, site, "/gone")
    assert r.status_code == 404 and r.content == b"not here page"
    # a file shadows a non-forced rule; a forced rule wins over the file
    assert get(local_platform, site, "/real").content == b"real file"
    assert get(local_platform, site, "/real.html").content == b"post"
    assert get(local_platform, site, "/ext").headers["location"] == "https://example.com/x"
    assert get(local_platform, site, "/old/").status_code == 301  # trailing slash ignored


def test_netlify_headers(local_platform) -> None:
    site = serve(local_platform, {"_headers": b"""/*
  X-Frame-Options: DENY
/blog/*
  Cache-Control: public, max-age=60
  X-Blog: yes
"""})
    home = get(local_platform, site, "/")
    assert home.headers["x-frame-options"] == "DENY" and "x-blog" not in home.headers
    post = get(local_platform, site, "/blog/post")
    assert post.headers["x-blog"] == "yes" and post.headers["x-frame-options"] == "DENY"
    assert "max-age=60" in post.headers["cache-control"]


def test_vercel_json(local_platform) -> None:
    site = serve(local_platform, {"vercel.json": b"""{
  "cleanUrls": true,
  "redirects": [{"source": "/docs/:path*", "destination": "/blog/:path*", "permanent": false},
                {"source": "/legacy", "destination": "/about", "statusCode": 301}],
  "rewrites": [{"source": "/spa/(.*)", "destination": "/app/index.html"},
               {"source": "/p/:slug", "destination": "/blog/:slug"}],
  "headers": [{"source": "/blog/(.*)", "headers": [{"key": "X-Robots-Tag", "value": "noindex"}]}]
}"""})
    r = get(local_platform, site, "/docs/a/b")
    assert r.status_code == 307 and r.headers["location"] == f"/_sites/{site}/blog/a/b"
    assert get(local_platform, site, "/legacy").status_code == 301
    r = get(local_platform, site, "/about.html")
    assert r.status_code == 308 and r.headers["location"] == f"/_sites/{site}/about"
    assert get(local_platform, site, "/blog/index.html").headers["location"] == f"/_sites/{site}/blog"
    assert get(local_platform, site, "/about").content == b"about"
    assert get(local_platform, site, "/spa/x/y").content == b"spa shell"
    assert get(local_platform, site, "/p/post").content == b"post"
    assert get(local_platform, site, "/blog/post").headers["x-robots-tag"] == "noindex"
    assert "x-robots-tag" not in get(local_platform, site, "/about").headers


@pytest.mark.parametrize("flag,path,location", [(True, "/blog", "/blog/"), (False, "/blog/", "/blog")])
def test_vercel_trailing_slash(local_platform, flag, path, location) -> None:
    site = serve(local_platform, {"vercel.json": json.dumps({"trailingSlash": flag}).encode()})
    r = get(local_platform, site, path)
    assert r.status_code == 308 and r.headers["location"] == f"/_sites/{site}{location}"
    assert get(local_platform, site, location).status_code == 200


def test_invalid_vercel_json_fails_finalize(local_platform) -> None:
    with pytest.raises(httpx.HTTPStatusError) as info:
        serve(local_platform, {"vercel.json": b"{broken"})
    assert info.value.response.status_code == 422
    assert "vercel.json" in info.value.response.json()["error"]["message"]


def test_parse_warnings_for_unsupported_features() -> None:
    files = {"_redirects": b"/a /b 302 Country=us\n/p https://x.org 200\n"}
    rules = parse_rules(files.get)
    assert rules["netlify"] == []  # a Country condition cannot be known locally: the rule never applies
    assert len(rules["warnings"]) == 2


def test_patterns() -> None:
    m = compile_pattern("/a/:x/*", "netlify").match("/a/1/b/c")
    assert m and substitute("/z/:x/:splat", m) == "/z/1/b/c"
    route = Route("/blog/:slug(\\d+)")
    params = route.match("/blog/12", Request())
    assert params and route.fill("/n/:slug", params, location=True) == "/n/12"
    assert route.match("/blog/ab", Request()) is None
    route = Route("/x/(.*)")
    params = route.match("/x/y/z", Request())
    assert params and route.fill("/q/$1", params, location=False) == "/q/y/z"
    assert compile_pattern("/d/:p*", "vercel").match("/d")
    assert compile_pattern("/d/:p+", "vercel").match("/d") is None
    route = Route("/a/:opt?")
    params = route.match("/a", Request())
    assert params is not None and route.fill("/b/:opt", params, location=True) == "/b/"
    with pytest.raises(RulesError):
        parse_rules({"vercel.json": b"[1]"}.get)
