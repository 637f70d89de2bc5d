"""`init --link` against the stateful Vercel and Netlify fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moai_adk.config import load_config
from moai_adk.errors import AuthError
from moai_adk.project import scaffold
from moai_adk.project.link import link_platforms
from moai_adk.providers.netlify._link import read_link_file as read_netlify_link
from moai_adk.providers.vercel._link import read_link_file as read_vercel_link
from tests.fakes.netlify import FakeNetlify
from tests.fakes.vercel import FakeVercel

ENV = {"VERCEL_TOKEN": "test-token", "NETLIFY_AUTH_TOKEN": "test-token"}


def test_link_creates_the_vercel_project_and_writes_the_link_file(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    scaffold.run_init(tmp_path, ["vercel"], name="shop")
    fake = FakeVercel()
    results = link_platforms(tmp_path, load_config(tmp_path / "moai.toml"), ENV, transport=fake.transport())
    assert results[0]["platform"] == "vercel" and results[0]["linked"] is True and results[0]["created"] is True
    link = read_vercel_link(tmp_path)
    assert link is not None and link.project_id in fake.projects
    again = link_platforms(tmp_path, load_config(tmp_path / "moai.toml"), ENV, transport=fake.transport())
    assert again[0]["created"] is False and len(fake.projects) == 1


def test_link_dry_run_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    scaffold.run_init(tmp_path, ["netlify"], name="shop")
    fake = FakeNetlify()
    results = link_platforms(tmp_path, load_config(tmp_path / "moai.toml"), ENV, dry_run=True,
                             transport=fake.transport())
    assert results[0]["dry_run"] is True and results[0]["linked"] is False
    assert read_netlify_link(tmp_path) is None
    assert fake.count("POST", "/sites") == 0


def test_link_netlify_writes_state_json(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    scaffold.run_init(tmp_path, ["netlify"], name="shop")
    fake = FakeNetlify()
    link_platforms(tmp_path, load_config(tmp_path / "moai.toml"), ENV, transport=fake.transport())
    assert read_netlify_link(tmp_path)


def test_link_without_token_is_an_auth_error(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    scaffold.run_init(tmp_path, ["vercel"], name="shop")
    with pytest.raises(AuthError, match="VERCEL_TOKEN"):
        link_platforms(tmp_path, load_config(tmp_path / "moai.toml"), {}, transport=FakeVercel().transport())


def test_link_local_platform_creates_the_site(tmp_path: Path, local_platform: Any) -> None:
    (tmp_path / "index.html").write_text("hi")
    site = local_platform.new_site()
    scaffold.run_init(tmp_path, ["local"], name=site)
    results = link_platforms(tmp_path, load_config(tmp_path / "moai.toml"), local_platform.environ())
    assert results[0]["platform"] == "local" and results[0]["linked"] is True
    with local_platform.client() as client:
        assert client.get(f"/_api/v1/sites/{site}").status_code == 200
