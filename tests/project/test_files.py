from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import tomlkit

from moai_adk.errors import ConfigError
from moai_adk.project.files import (
    json_change,
    merge_missing,
    parse_json,
    parse_toml,
    toml_change,
)


def test_parse_json_error_names_file_line_and_column() -> None:
    with pytest.raises(ConfigError) as info:
        parse_json("firebase.json", '{\n  "hosting": {\n    "public": "dist",\n  }\n}')
    assert info.value.message.startswith("firebase.json:4:")
    assert "--force" in (info.value.hint or "")


def test_parse_toml_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_toml("netlify.toml", '[build]\npublish = "dist"\ncommand = \n')
    assert info.value.message.startswith("netlify.toml:3:")


def test_merge_missing_adds_only_missing_keys_and_reports_differences() -> None:
    target = {"a": 1, "nested": {"keep": "mine"}, "list": [1]}
    diffs = merge_missing(target, {"a": 2, "b": 3, "nested": {"keep": "theirs", "new": True}, "list": [2]})
    assert target == {"a": 1, "nested": {"keep": "mine", "new": True}, "list": [1], "b": 3}
    assert any(d.startswith("a: kept yours (1)") for d in diffs)
    assert any(d.startswith("nested.keep:") for d in diffs)
    assert any(d.startswith("list:") for d in diffs)


def test_merge_missing_keeps_toml_comments() -> None:
    doc = tomlkit.parse('# top comment\n[build]\npublish = "site" # mine\n')
    merge_missing(doc, {"build": {"publish": "dist", "command": "make"}, "extra": {"x": 1}})
    text = doc.as_string()
    assert "# top comment" in text and 'publish = "site" # mine' in text
    assert tomllib.loads(text) == {"build": {"publish": "site", "command": "make"}, "extra": {"x": 1}}


def test_json_change_kept_when_nothing_missing_leaves_bytes_alone(tmp_path: Path) -> None:
    (tmp_path / "vercel.json").write_text('{"cleanUrls": false,\n "outputDirectory": "x"}')
    change, notes = json_change(tmp_path, "vercel.json", {"cleanUrls": True}, force=False)
    assert change.action == "kept" and change.content is None
    assert notes and "cleanUrls" in notes[0]


def test_json_change_updates_missing_and_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "vercel.json").write_text('{"cleanUrls": false}')
    change, _ = json_change(tmp_path, "vercel.json", {"cleanUrls": True, "trailingSlash": False}, force=False)
    assert change.action == "updated"
    assert json.loads(change.content or b"") == {"cleanUrls": False, "trailingSlash": False}
    forced, _ = json_change(tmp_path, "vercel.json", {"cleanUrls": True}, force=True)
    assert forced.action == "overwritten" and json.loads(forced.content or b"") == {"cleanUrls": True}


def test_json_change_refuses_a_non_object_and_malformed_file(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        json_change(tmp_path, "a.json", {"x": 1}, force=False)
    (tmp_path / "b.json").write_text("{oops")
    with pytest.raises(ConfigError, match=r"b\.json:1:2"):
        json_change(tmp_path, "b.json", {"x": 1}, force=False)
    assert json_change(tmp_path, "b.json", {"x": 1}, force=True)[0].action == "overwritten"


def test_toml_change_created_then_kept(tmp_path: Path) -> None:
    wanted = tomlkit.parse('[build]\npublish = "dist"\n')
    change, _ = toml_change(tmp_path, "netlify.toml", wanted, force=False)
    assert change.action == "created"
    (tmp_path / "netlify.toml").write_bytes(change.content or b"")
    again, _ = toml_change(tmp_path, "netlify.toml", tomlkit.parse('[build]\npublish = "dist"\n'), force=False)
    assert again.action == "kept"
