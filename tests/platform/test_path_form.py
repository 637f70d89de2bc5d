"""What the path forms (``/_sites/<site>/``, ``/_deploys/<id>/``) serve of the example site, on both servers,
and that the README says exactly that: every file, redirect and 404 page; relative links stay under the
prefix; root-absolute links work in the host form only."""

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


def test_root_absolute_links_work_in_the_host_form_and_leave_the_path_form(local_platform: RunningPlatform,
                                                                          example: tuple[str, str]) -> None:
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
        for prefix in prefixes(local_platform, site, deploy_id):  # path form: they name no site
            for ref in found:
                target = urljoin(prefix + served_at, ref)
                assert not target.startswith(prefix)
                assert fetch(local_platform, target).status_code == 404


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
    assert "the path forms work for any client" not in text
    assert "root-absolute links" in text and "only when its links are relative" in text
    docs = " ".join((REPO / "docs" / "platform.md").read_text().split())
    assert "root-absolute references" in docs and "Relative references" in docs
