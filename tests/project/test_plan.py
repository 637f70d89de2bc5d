from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from moai_adk.errors import MoaiError
from moai_adk.project.plan import FileChange, apply_plan, atomic_write, change_for, check_writable, read_bytes


def test_change_for_classifies() -> None:
    root = Path("/nowhere")
    assert change_for(root, "a", b"x", None, force=False).action == "created"
    assert change_for(root, "a", b"x", b"x", force=True).action == "kept"
    assert change_for(root, "a", None, b"x", force=False).action == "kept"
    assert change_for(root, "a", b"y", b"x", force=False).action == "updated"
    assert change_for(root, "a", b"y", b"x", force=True).action == "overwritten"


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    os.chmod(target, 0o600)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_new_files_get_umask_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        apply_plan(tmp_path, [FileChange("a/b.txt", "created", b"hi")])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a" / "b.txt").stat().st_mode) == 0o644


def test_apply_plan_writes_all_changes_and_dirs(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    apply_plan(tmp_path, [
        FileChange("keep.txt", "kept", None, b"mine"),
        FileChange("x/y/z.txt", "created", b"z"),
        FileChange("empty/dir", "created", is_dir=True),
    ])
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert (tmp_path / "x" / "y" / "z.txt").read_text() == "z"
    assert (tmp_path / "empty" / "dir").is_dir()


def test_a_failing_plan_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "existing.txt").write_text("before")
    (tmp_path / "blocker").write_text("a file where a folder is needed")
    changes = [
        FileChange("existing.txt", "updated", b"after", b"before"),
        FileChange("new.txt", "created", b"new"),
        FileChange("blocker/inside.txt", "created", b"cannot"),
    ]
    with pytest.raises(MoaiError, match="nothing was changed"):
        apply_plan(tmp_path, changes)
    assert (tmp_path / "existing.txt").read_text() == "before"
    assert not (tmp_path / "new.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "existing.txt"]


def test_read_bytes_refuses_a_folder_in_place_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "vercel.json").mkdir()
    with pytest.raises(MoaiError, match="is a folder"):
        read_bytes(tmp_path / "vercel.json")
    assert read_bytes(tmp_path / "missing") is None


def test_check_writable_under_a_file_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(MoaiError, match="not writable"):
        check_writable(tmp_path / "file" / "project")


def test_check_writable_read_only_folder(tmp_path: Path) -> None:
    """An existing folder in which no file can be created. Root ignores mode bits, so as root the folder
    is one of sysfs, where the kernel refuses new files whoever asks."""
    if os.geteuid() == 0:
        folder = Path("/sys/kernel")
        assert folder.is_dir(), "/sys/kernel is missing: this test needs sysfs when run as root"
        before = sorted(p.name for p in folder.iterdir())
        with pytest.raises(MoaiError, match="not writable"):
            check_writable(folder)
        assert sorted(p.name for p in folder.iterdir()) == before
        return
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(MoaiError, match="not writable"):
            check_writable(folder)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_a_failed_move_puts_back_the_files_already_moved(tmp_path: Path) -> None:
    (tmp_path / "existing.txt").write_text("before")
    (tmp_path / "late-folder").mkdir()  # appeared after planning: os.replace onto it fails
    (tmp_path / "late-folder" / "x").write_text("x")
    changes = [
        FileChange("existing.txt", "updated", b"after", b"before"),
        FileChange("new.txt", "created", b"new"),
        FileChange("late-folder", "created", b"file"),
    ]
    with pytest.raises(MoaiError, match="put back"):
        apply_plan(tmp_path, changes)
    assert (tmp_path / "existing.txt").read_text() == "before"
    assert not (tmp_path / "new.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.txt", "late-folder"]
