from __future__ import annotations

import os
from pathlib import Path

import pytest

from moai_adk.errors import StateError
from moai_adk.fsutil import atomic_write, read_json_object


def test_atomic_write_keeps_mode_and_sets_one(tmp_path: Path) -> None:
    p = tmp_path / "a" / "f.txt"
    atomic_write(p, "one")
    os.chmod(p, 0o640)
    atomic_write(p, b"two")
    assert p.read_text() == "two" and p.stat().st_mode & 0o777 == 0o640
    atomic_write(p, "three", mode=0o600)
    assert p.stat().st_mode & 0o777 == 0o600
    assert [x.name for x in p.parent.iterdir()] == ["f.txt"]  # no temp file left


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "f.txt"
    p.write_text("old")


    with pytest.raises(TypeError):
        atomic_write(p, 123)  # type: ignore[arg-type]
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["f.txt"]


def test_read_json_object(tmp_path: Path) -> None:
    p = tmp_path / "state.json"
    assert read_json_object(p, fix="x") is None
    p.write_text('{"a": 1}')
    assert read_json_object(p, fix="x") == {"a": 1}
    p.write_text('{"a": 1,\n oops}')
    with pytest.raises(StateError) as err:
        read_json_object(p, fix="Delete it.")
    assert f"{p}:2:" in err.value.message and err.value.hint == "Delete it."
    p.write_text("[1, 2]")
    with pytest.raises(StateError, match="must hold a JSON object, not list"):
        read_json_object(p, fix="x")
