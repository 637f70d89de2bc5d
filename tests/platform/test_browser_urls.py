"""Every URL printed for a deploy of the example site renders it in headless Chromium (Debian's
``chromium``, driven by Playwright from PyPI through ``executable_path``; scripts/test installs both):
the preview and production host forms the CLI prints and the path forms ``scripts/demo`` prints.
In each, the stylesheet at the root-absolute ``/css/style.css`` applies (computed style), the
script runs, and the root-absolute links (``/about``, ``/``, ``/old-about``, a missing page) work.
Screenshots go under the test's tmp path; their paths are printed (``pytest -s`` shows them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import RunningPlatform

BACKGROUND = "rgb(250, 251, 252)"  # --bg of the example's css/style.css
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def local_platform(each_server: RunningPlatform) -> RunningPlatform:
    return each_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "chromium is missing: scripts/test installs it (apt-get install -y chromium)"
    with sync_playwright() as pw:
        # no proxy: *.localhost and 127.0.0.1 are this machine; root runs Chromium without its sandbox
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-proxy-server", "--no-sandbox"])
        yield chromium
        chromium.close()


def moai(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "XDG_CONFIG_HOME": str(cwd / "xdg"), **env}
    return subprocess.run([sys.executable, "-m", "moai_adk", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120)


def printed_urls(platform: RunningPlatform, tmp_path: Path) -> list[str]:
    """Deploy the example site as scripts/demo does; the URLs the CLI and the demo print."""
    site = platform.new_site("hello")
    root = tmp_path / "hello-site"
    root.mkdir()
    env = platform.environ()
    r = moai("init", "--example", "hello-site", "--baas", "local", "--name", site, "--yes", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    r = moai("deploy", "--prod", cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    shown = [line.split()[-1] for line in r.stdout.splitlines() if line.startswith(("Preview:", "Production:"))]
    listing: list[dict[str, Any]] = json.loads(moai("deployments", "--json", cwd=root, env=env).stdout)
    deploy_id = listing[0]["id"]
    assert shown == [listing[0]["url"], listing[0]["production_url"]]
    r = moai("deploy", "--env", "staging", cwd=root, env=env)  # the same build, also as the staging alias
    assert r.returncode == 0, r.stderr
    staging = [line.split()[-1] for line in r.stdout.splitlines() if line.startswith("Staging:")]
    assert staging == [f"http://staging.env.{site}.localhost:{platform.port}/"]
    return [*shown, f"{platform.url}/_deploys/{deploy_id}/", f"{platform.url}/_sites/{site}/", *staging,
            f"{platform.url}/_envs/{site}/staging/"]


def styled(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def follow(page: Page, href: str) -> None:
    with page.expect_navigation():
        page.click(f'a[href="{href}"]')


def test_every_printed_url_renders_the_example_site_with_its_css_and_links(
        local_platform: RunningPlatform, browser: Browser, tmp_path: Path) -> None:
    urls = printed_urls(local_platform, tmp_path)
    assert len(urls) == 6
    for n, url in enumerate(urls):
        context = browser.new_context()  # a fresh browser profile per URL: no cookie from another visit
        page = context.new_page()
        answer = page.goto(url)
        assert answer is not None and answer.status == 200, url
        assert page.inner_text("h1") == "Hello from moai-adk"
        assert styled(page) == BACKGROUND, f"{url}: /css/style.css did not apply"
        assert page.inner_text("[data-load-time]") != "(needs JavaScript)", f"{url}: /js/app.js did not run"
        shot = tmp_path / f"url{n}-home.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of {url}: {shot}")
        follow(page, "/about")
        assert page.inner_text("h1") == "About" and styled(page) == BACKGROUND, url
        page.screenshot(path=str(tmp_path / f"url{n}-about.png"))
        print(f"screenshot of {page.url}: {tmp_path / f'url{n}-about.png'}")
        follow(page, "/")
        assert page.inner_text("h1") == "Hello from moai-adk" and styled(page) == BACKGROUND, url
        follow(page, "/old-about")  # _redirects: 301 to /about
        assert page.inner_text("h1") == "About", url
        page.go_back()
        follow(page, "/does-not-exist")
        assert page.inner_text("h1") == "404: page not found" and styled(page) == BACKGROUND, url
        context.close()
