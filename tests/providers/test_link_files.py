"""The platform link files, each read and written by its own adapter only:
``.vercel/project.json`` (providers/vercel/_link.py) and ``.netlify/state.json``
(providers/netlify/_link.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moai_adk.errors import StateError
from moai_adk.providers.netlify._link import read_link_file as read_netlify_link
from moai_adk.providers.netlify._link import write_link as write_netlify_link
from moai_adk.providers.vercel._link import VercelLink
from moai_adk.providers.vercel._link import read_link_file as read_vercel_link
from moai_adk.providers.vercel._link import write_link as write_vercel_link


def test_vercel_link_round_trip_keeps_other_keys(tmp_path: Path) -> None:
    assert read_vercel_link(tmp_path) is None
    (tmp_path / ".vercel").mkdir()
    (tmp_path / ".vercel" / "project.json").write_text('{"settings": {"framework": null}}')
    path = write_vercel_link(tmp_path, VercelLink("prj_123", "team_456", project_name="site"))
    data = json.loads(path.read_text())
    assert data == {"settings": {"framework": None}, "projectId": "prj_123", "orgId": "team_456",
                    "projectName": "site"}
    link = read_vercel_link(tmp_path)
    assert link is not None and (link.project_id, link.org_id, link.project_name) == ("prj_123", "team_456", "site")
    assert [p.name for p in (tmp_path / ".vercel").iterdir()] == ["project.json"]  # no temp file left


def test_netlify_link_round_trip(tmp_path: Path) -> None:
    assert read_netlify_link(tmp_path) is None
    write_netlify_link(tmp_path, "3f1c-site")
    assert read_netlify_link(tmp_path) == "3f1c-site"
    assert json.loads((tmp_path / ".netlify" / "state.json").read_text()) == {"siteId": "3f1c-site"}


def test_corrupt_link_files_raise_state_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / ".vercel").mkdir()
    (tmp_path / ".vercel" / "project.json").write_text('{"projectId": "prj_1", ')
    with pytest.raises(StateError) as info:
        read_vercel_link(tmp_path)
    assert str(tmp_path / ".vercel" / "project.json") in info.value.message
    assert "Delete" in (info.value.hint or "")
    (tmp_path / ".netlify").mkdir()
    (tmp_path / ".netlify" / "state.json").write_text('{"siteId": 5}')
    with pytest.raises(StateError, match="siteId"):
        read_netlify_link(tmp_path)
    (tmp_path / ".vercel" / "project.json").write_text('{"projectId": "prj_1", "orgId": 7}')
    with pytest.raises(StateError, match="orgId"):
        read_vercel_link(tmp_path)
    (tmp_path / ".vercel" / "project.json").write_text('{"orgId": "team_1"}')
    with pytest.raises(StateError, match="projectId"):
        read_vercel_link(tmp_path)


def test_vercel_link_without_org_keeps_existing_org(tmp_path: Path) -> None:
    write_vercel_link(tmp_path, VercelLink("prj_1", "team_1"))
    write_vercel_link(tmp_path, VercelLink("prj_2", ""))
    link = read_vercel_link(tmp_path)
    assert link is not None and (link.project_id, link.org_id) == ("prj_2", "team_1")
    other = tmp_path / "personal"
    write_vercel_link(other, VercelLink("prj_3"))
    assert json.loads((other / ".vercel" / "project.json").read_text()) == {"projectId": "prj_3"}


def test_writing_a_link_replaces_a_corrupt_one(tmp_path: Path) -> None:
    (tmp_path / ".netlify").mkdir()
    (tmp_path / ".netlify" / "state.json").write_text("garbage")
    write_netlify_link(tmp_path, "abc")
    assert read_netlify_link(tmp_path) == "abc"
