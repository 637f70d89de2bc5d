"""Netlify rules as Netlify applies them, served by a real platform (uvicorn and granian), and
netlify.toml sent by the local provider."""

from __future__ import annotations

import random
import re
from pathlib import Path

import httpx
import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.platform.rules import CompiledRules, parse_rules
from moai_adk.platform.rules_netlify_match import NetlifySource
from moai_adk.platform.rules_patterns import with_query
from moai_adk.providers import make_provider
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.netlify import _config as netlify_config
from tests.conftest import RunningPlatform

PAGES = {"index.html": b"home", "404.html": b"custom 404", "about.html": b"about", "news/index.html": b"news",
         "admin/index.html": b"admin shell", "blog/post.html": b"post"}


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


def site_with(p: RunningPlatform, files: dict[str, bytes]) -> str:
    site = p.new_site("nr")
    p.deploy(site, {**PAGES, **files})
    return site


def get(p: RunningPlatform, site: str, path: str) -> httpx.Response:
    return httpx.get(p.url + path, headers={"host": f"{site}.localhost:{p.port}", "accept-encoding": "identity"})


def test_a_splat_matches_its_bare_parent(local_platform: RunningPlatform) -> None:
    site = site_with(local_platform, {"_redirects": b"/blog/* /news/:splat 301\n",
                                      "_headers": b"/news/*\n  X-Section: news\n"})
    r = get(local_platform, site, "/blog")
    assert r.status_code == 301 and r.headers["location"] == "/news/"
    assert get(local_platform, site, "/blog/a/b").headers["location"] == "/news/a/b"
    assert get(local_platform, site, "/news").headers["x-section"] == "news"
    assert "x-section" not in get(local_platform, site, "/about").headers


def test_redirects_lines_are_parsed_as_netlify_does(local_platform: RunningPlatform) -> None:
    site = site_with(local_platform, {"_redirects": (
        b"/blog post=:id /blog/:id 301\n"
        b"/store id=:id size=L /products/:id/large 302\n"
        b"/admin/* 200\n"
        b"/x /about 301 # a comment after the rule\n"
        b"/y /about 302! \n")})
    r = get(local_platform, site, "/blog?post=7")
    assert r.status_code == 301 and r.headers["location"] == "/blog/7?post=7"
    assert get(local_platform, site, "/blog?other=1").status_code == 404  # the condition is not met
    assert get(local_platform, site, "/store?size=L&id=3").headers["location"] == "/products/3/large?size=L&id=3"
    assert get(local_platform, site, "/store?size=M&id=3").status_code == 404
    r = get(local_platform, site, "/admin/users/7")  # the shorthand rewrites to itself: no such file
    assert r.status_code == 404
    assert get(local_platform, site, "/admin/").content == b"admin shell"
    assert get(local_platform, site, "/x").status_code == 301
    assert get(local_platform, site, "/y").status_code == 302


def test_headers_repeated_names_are_joined_and_empty_values_dropped(local_platform: RunningPlatform) -> None:
    site = site_with(local_platform, {"_headers": (
        b"  /about\n    Link: </a.css>; rel=preload\n    Link: </b.js>; rel=preload\n    X-Empty:\n"
        b"    X-List: a ,b,   c\n")})
    r = get(local_platform, site, "/about")
    assert r.headers["link"] == "</a.css>; rel=preload, </b.js>; rel=preload"
    assert r.headers["x-list"] == "a, b, c"
    assert "x-empty" not in r.headers
    warnings = parse_rules({"_headers": b"/a\n  X-Empty:\n"}.get)["warnings"]
    assert warnings == ["_headers line 2: header 'X-Empty' has an empty value; dropped"]


def test_query_goes_before_the_fragment(local_platform: RunningPlatform) -> None:
    site = site_with(local_platform, {"_redirects": b"/old /about#team 301\n/q /about?a=1#top 301\n"})
    assert get(local_platform, site, "/old?ref=mail").headers["location"] == "/about?ref=mail#team"
    assert get(local_platform, site, "/q?ref=mail").headers["location"] == "/about?a=1#top"
    assert with_query("/a#b", "") == "/a#b" and with_query("https://x.example/#f", "k=v") == "https://x.example/?k=v#f"


def test_two_splats_are_valid_syntax(local_platform: RunningPlatform) -> None:
    """`/a/*/*` used to fail every request of the deployment (redefinition of group name 'splat')."""
    site = site_with(local_platform, {"_redirects": b"/a/*/* /z/:splat 301\n/x/*/y/* /xy/:splat 302\n",
                                      "_headers": b"/x/*/*\n  X-Two: stars\n"})
    assert get(local_platform, site, "/x/1/2/y/3").headers["location"] == "/xy/1/2"
    assert get(local_platform, site, "/a").status_code == 301
    assert get(local_platform, site, "/x/1").headers["x-two"] == "stars"


def test_matching_is_case_sensitive_for_redirects_and_not_for_headers(local_platform: RunningPlatform) -> None:
    site = site_with(local_platform, {"_redirects": b"/Old /about 301\n", "_headers": b"/ABOUT\n  X-Hit: 1\n"})
    assert get(local_platform, site, "/Old").status_code == 301
    assert get(local_platform, site, "/old").status_code == 404
    assert get(local_platform, site, "/about").headers["x-hit"] == "1"


def test_the_index_finds_rules_by_path_and_keeps_their_order() -> None:
    lines = [f"/old/{i} /new/{i} 301" for i in range(5000)]
    lines.insert(10, "/old/* /catch/:splat 302")
    rules = CompiledRules(parse_rules({"_redirects": "\n".join(lines).encode()}.get))
    assert len(rules.netlify.exact) == 5000 and len(rules.netlify.keyed[(1, "old")]) == 1
    assert rules.first(rules.netlify, "/old/3")[1] == "/new/3"  # type: ignore[index]
    assert rules.first(rules.netlify, "/old/4000")[1] == "/catch/4000"  # type: ignore[index]
    assert rules.first(rules.netlify, "/other") is None


def test_netlify_toml_is_sent_by_the_local_provider(local_platform: RunningPlatform, tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "base" / "dist").mkdir(parents=True)
    (root / "netlify.toml").write_text('[build]\nbase = "base"\n')
    (root / "base" / "netlify.toml").write_text(
        '[build]\npublish = "dist"\n[build.environment]\nSECRET_ISH = "not sent"\n\n'
        '[[redirects]]\nfrom = "/docs/*"\nto = "/about"\nstatus = 302\n\n'
        '[[headers]]\nfor = "/*"\n[headers.values]\nX-From-Toml = "yes"\n\n'
        '[context.production]\n[[context.production.redirects]]\nfrom = "/go"\nto = "/news/"\n')
    (root / "base" / "dist" / "index.html").write_text("home")
    (root / "base" / "dist" / "about.html").write_text("about")
    provider = make_provider("local", local_platform.context(root))
    preview = provider.deploy(take_snapshot(root / "base" / "dist"), DeployTarget())
    prod = provider.deploy(take_snapshot(root / "base" / "dist"), DeployTarget(production=True))
    for deployment in (preview, prod):
        assert httpx.get(deployment.health_url).headers["x-from-toml"] == "yes"
        assert httpx.get(f"{deployment.health_url}netlify.toml").status_code == 404  # a rule file, not served
    r = httpx.get(f"{preview.health_url}docs/x")
    assert r.status_code == 302 and r.headers["location"].endswith("/about")
    assert httpx.get(f"{preview.health_url}go").status_code == 404
    # the production context's [[redirects]] replace the top-level ones, as in @netlify/config
    assert httpx.get(f"{prod.health_url}go").headers["location"].endswith("/news/")
    assert httpx.get(f"{prod.health_url}docs/x").status_code == 404
    sent = netlify_config.rules_file(root, "production", None) or b""
    assert b"/go" in sent and b"X-From-Toml" in sent and b"SECRET_ISH" not in sent and b"publish" not in sent
    assert netlify_config.rules_file(tmp_path / "none", "production", None) is None


def _reference(source: str) -> re.Pattern[str]:
    """The regex a source stands for (one ``*`` segment at most here): the segment matcher must agree."""
    body = ""
    for seg in (source.rstrip("/") or "/").split("/")[1:]:
        if seg == "*":
            body += "(?:/(?P<splat>.*))?"
        elif seg.startswith(":") and len(seg) > 1:
            body += f"/(?P<{seg[1:]}>[^/]+)"
        else:
            body += "/" + re.escape(seg)
    return re.compile(f"^{body}/?$", re.DOTALL)


def test_segment_matching_agrees_with_the_patterns_regex() -> None:
    rng = random.Random(4)
    words = ["a", "b", ":x", ":y", "*", "", "a.b"]
    paths = ["/", "//", "/a", "/a/", "/a//", "/a/b", "/a/b/", "/b/a/c", "/a/b/c/", "/a.b", "/a/.", "/a\nb/c", "/x/a/b"]
    for _ in range(400):
        segs = [rng.choice(words[:4] + [words[5], words[6]]) for _ in range(rng.randrange(0, 4))]
        if rng.random() < 0.5:
            segs.append("*")
        source = "/" + "/".join(segs)
        if len(set(s for s in segs if s.startswith(":"))) < len([s for s in segs if s.startswith(":")]):
            continue  # a name twice: the regex reference cannot say that
        compiled = NetlifySource(source)
        reference = _reference(source)
        for path in paths + [f"/{rng.choice('ab')}/{rng.choice(['a', 'b', ''])}/{rng.choice(['c', ''])}"]:
            m = reference.match(path)
            want = None if m is None else {k: v or "" for k, v in m.groupdict().items()}
            assert compiled.params(path) == want, (source, path)
