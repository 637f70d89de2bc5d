"""What the path forms (``/_sites/<site>/``, ``/_deploys/<id>/``) serve of the example site, on both servers,
and that the README says exactly that: every file, redirect and 404 page; relative links stay under the
prefix; root-absolute links work in the host form, and in the path form through the scope cookie a
path-form visit sets (a client that keeps cookies, as browsers do). tests/platform/test_browser_urls.py
checks the same in Chromium."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import RunningPlatform

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "src" / "moai_adk" / "examples" / "hello-site"
PAGES = {"index.html": "", "about.html": "about", "404.html": "does-not-exist"}  # file -> a path serving it
PAGE_VISIT = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what browsers send for a page
RELATIVE_SITE = {
    "index.html": b'<link rel="stylesheet" href="css/site.css"><a href="about">About</a><a href="docs/">Docs</a>'
                  b'<script src="./js/app.js"></script>',
    "about.html": b'<link rel="stylesheet" href="css/site.css"><a href="./">Home</a>',
    "docs/index.html": b'<link rel="stylesheet" href="../css/site.css"><a href="../about">About</a>',
    "css/site.css": b"body { color: #123; }",
    "js/app.js": b"document.title += ' (js)';",
}


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    """Every test of this module runs on uvicorn (ASGI) and on granian (RSGI)."""
    return each_server


class Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v for k, v in attrs if k in ("href", "src") and v]


def refs(html: str) -> list[str]:
    parser = Refs()
    parser.feed(html)
    return parser.refs


def fetch(platform: RunningPlatform, url: str, host: str | None = None) -> httpx.Response:
    """GET ``url`` as a browser would, following redirects; ``host`` sets the Host header (host form)."""
    headers = {"host": f"{host}:{platform.port}"} if host else {}
    return httpx.get(url, headers=headers, follow_redirects=True)


def example_files() -> dict[str, bytes]:
    return {str(p.relative_to(EXAMPLE)): p.read_bytes() for p in sorted(EXAMPLE.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def example(local_platform: RunningPlatform) -> tuple[str, str]:
    site = local_platform.new_site("hello")
    return site, local_platform.deploy(site, example_files())


def prefixes(platform: RunningPlatform, site: str, deploy_id: str) -> list[str]:
    return [f"{platform.url}/_sites/{site}/", f"{platform.url}/_deploys/{deploy_id}/"]


def test_the_path_forms_serve_every_file_redirect_and_404_page(local_platform: RunningPlatform,
                                                               example: tuple[str, str]) -> None:
    site, deploy_id = example
    files = example_files()
    for prefix in prefixes(local_platform, site, deploy_id):
        for path, data in files.items():
            if path.startswith("_"):
                continue  # rule files are not served
            r = fetch(local_platform, prefix + path)
            assert r.status_code == 200 and r.content == data, prefix + path
        for page, served_at in PAGES.items():
            r = fetch(local_platform, prefix + served_at)
            assert r.status_code == (404 if page == "404.html" else 200) and r.content == files[page]
            assert r.headers["x-frame-options"] == "DENY"  # _headers applies in the path form too
        moved = fetch(local_platform, prefix + "old-about")
        assert moved.history[0].status_code == 301 and str(moved.url) == prefix + "about"


def test_root_absolute_links_work_in_the_host_form_and_in_the_path_form_with_its_cookie(
        local_platform: RunningPlatform, example: tuple[str, str]) -> None:
    site, deploy_id = example
    base = f"http://{site}.localhost:{local_platform.port}/"
    for page, served_at in PAGES.items():
        html = fetch(local_platform, local_platform.url + "/" + served_at, host=f"{site}.localhost").text
        found = refs(html)
        assert found and all(ref.startswith("/") for ref in found), page  # the example links root-absolute
        for ref in found:  # host form: every link and asset of every page answers
            target = urljoin(base + served_at, ref)
            r = fetch(local_platform, local_platform.url + urlsplit(target).path, host=f"{site}.localhost")
            assert r.status_code == (404 if ref == "/does-not-exist" else 200), (page, ref)
        for prefix in prefixes(local_platform, site, deploy_id):
            for ref in found:  # without the cookie the origin's root names no site
                target = urljoin(prefix + served_at, ref)
                assert not target.startswith(prefix)
                assert fetch(local_platform, target).status_code == 404
            with httpx.Client(follow_redirects=True) as browser:  # keeps cookies, as a browser does
                assert browser.get(prefix + served_at, headers=PAGE_VISIT).status_code in (200, 404)
                for ref in found:
                    r = browser.get(urljoin(prefix + served_at, ref))
                    assert r.status_code == (404 if ref == "/does-not-exist" else 200), (prefix, page, ref)
                    if ref == "/css/style.css":
                        assert r.content == example_files()["css/style.css"]


def test_the_scope_cookie_is_set_once_per_host_and_port_and_names_the_last_path_form(
        local_platform: RunningPlatform, example: tuple[str, str]) -> None:
    site, deploy_id = example
    other = local_platform.new_site("other")
    local_platform.deploy(other, {"index.html": b"other home", "css/style.css": b"/* other */"})
    name = f"moai_scope_{local_platform.port}"
    assert "set-cookie" not in httpx.get(f"{local_platform.url}/_sites/{site}/").headers  # curl, scripts
    with httpx.Client(base_url=local_platform.url, headers=PAGE_VISIT) as browser:
        first = browser.get(f"/_sites/{site}/")
        cookie = first.headers["set-cookie"]
        assert cookie == f"{name}=s.{site}; Path=/; HttpOnly; SameSite=Lax"
        assert "set-cookie" not in browser.get(f"/_sites/{site}/about").headers  # already carried
        scoped = browser.get("/css/style.css")
        assert scoped.status_code == 200 and "Cookie" in scoped.headers["vary"]
        assert scoped.headers["x-moai-deploy"] == deploy_id
        assert browser.get("/_sites/nosuchsite/").status_code == 404
        assert browser.cookies[name] == f"s.{site}"  # a missing site scopes nothing
        browser.get(f"/_sites/{other}/")
        assert browser.get("/css/style.css").content == b"/* other */"
        browser.get(f"/_deploys/{deploy_id}/")
        assert browser.cookies[name] == f"d.{deploy_id}"
        assert browser.get("/about").content == example_files()["about.html"]
        moved = browser.get("/old-about")  # a redirect in the scoped origin stays root-absolute
        assert moved.status_code == 301 and moved.headers["location"] == "/about"
        assert browser.get("/_api/v1/health").json()["ok"] is True  # platform routes win
    # another port's scope (another platform on the same host) is another cookie
    r = httpx.get(f"{local_platform.url}/css/style.css", cookies={"moai_scope_1": f"s.{site}"})
    assert r.status_code == 404


def test_relative_links_stay_under_the_path_form_prefix(local_platform: RunningPlatform) -> None:
    site = local_platform.new_site("rel")
    deploy_id = local_platform.deploy(site, RELATIVE_SITE)
    for prefix in prefixes(local_platform, site, deploy_id):
        for page in ("", "about", "docs/"):
            page_url = prefix + page
            r = fetch(local_platform, page_url)
            assert r.status_code == 200
            for ref in refs(r.text):
                target = urljoin(str(r.url), ref)
                assert target.startswith(prefix), (page, ref)
                assert fetch(local_platform, target).status_code == 200, (page, ref)


def test_the_readme_says_what_the_path_forms_support() -> None:
    text = " ".join((REPO / "README.md").read_text().split())
    assert "only when its links are relative" not in text
    assert "root-absolute links" in text and "scope cookie" in text
    docs = " ".join((REPO / "docs" / "platform.md").read_text().split())
    assert "root-absolute references" in docs and "moai_scope_<port>" in docs and "HttpOnly" in docs
