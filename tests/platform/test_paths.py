"""Data folder, credentials file and how the CLI finds a platform."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from moai_adk.errors import StateError
from moai_adk.platform.paths import (
    credential_entries,
    credentials_path,
    default_data_dir,
    read_credentials,
    resolve_platform,
    write_credentials,
)


def test_xdg_and_home_defaults(tmp_path: Path) -> None:
    assert default_data_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/moai-adk/platform")
    assert default_data_dir({"HOME": "/h"}) == Path("/h/.local/share/moai-adk/platform")
    assert credentials_path({"XDG_CONFIG_HOME": "/c"}) == Path("/c/moai-adk/platform.json")
    assert credentials_path({"HOME": "/h"}) == Path("/h/.config/moai-adk/platform.json")


def test_credentials_written_0600_atomically(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "moai-adk" / "platform.json"
    write_credentials(path, "http://127.0.0.1:9", "tok")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"url": "http://127.0.0.1:9", "token": "tok",
                                            "platforms": {"http://127.0.0.1:9": {"token": "tok"}}}
    assert list(path.parent.iterdir()) == [path]


def test_one_entry_per_platform_url_and_the_first_stays_the_default(tmp_path: Path) -> None:
    path = tmp_path / "platform.json"
    path.write_text(json.dumps({"url": "http://127.0.0.1:8787", "token": "old"}))  # an older version's file
    write_credentials(path, "http://127.0.0.1:9000/", "second")
    env = {"MOAI_PLATFORM_CREDENTIALS": str(path)}
    assert resolve_platform(env)[:2] == ("http://127.0.0.1:8787", "old")
    assert resolve_platform({**env, "MOAI_PLATFORM_URL": "http://localhost:9000"})[:2] == (
        "http://localhost:9000", "second")
    assert resolve_platform(env, {"url": "http://127.0.0.1:9000"})[1] == "second"
    write_credentials(path, "http://localhost:8787", "renewed")  # the same platform: its entry, not a new one
    assert credential_entries(path) == ("http://localhost:8787", {"http://127.0.0.1:9000": "second",
                                                                  "http://localhost:8787": "renewed"})


def test_resolution_order(tmp_path: Path) -> None:
    creds = tmp_path / "platform.json"
    write_credentials(creds, "http://127.0.0.1:9000", "saved")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "none")}
    assert resolve_platform(env)[:2] == ("http://127.0.0.1:8787", None)
    env = {"MOAI_PLATFORM_CREDENTIALS": str(creds)}
    assert resolve_platform(env)[:2] == ("http://127.0.0.1:9000", "saved")
    # an explicit URL elsewhere does not receive the saved token
    assert resolve_platform({**env, "MOAI_PLATFORM_URL": "http://other:1"})[:2] == ("http://other:1", None)
    assert resolve_platform({**env, "MOAI_PLATFORM_URL": "http://localhost:9000/"})[:2] == (
        "http://localhost:9000", "saved")
    assert resolve_platform({**env, "MOAI_PLATFORM_TOKEN": "t"})[1] == "t"
    assert resolve_platform(env, {"url": "http://set:2"})[:2] == ("http://set:2", None)


def test_corrupt_credentials_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "platform.json"
    path.write_text("{nope")
    with pytest.raises(StateError) as info:
        read_credentials(path)
    assert str(path) in info.value.message and "platform serve" in (info.value.hint or "")
    path.write_text("[1]")
    with pytest.raises(StateError):
        read_credentials(path)
