"""A scaffold plan (one ``FileChange`` per file) and its all-or-nothing application.

``apply_plan`` first writes every new content to a temp file next to its
target, then moves them into place with ``os.replace``. If anything fails
before the moves, the temp files are removed and no target has changed; if a
move fails, the files already moved are put back as they were.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import MoaiError
from ..fsutil import atomic_write, default_mode

Action = Literal["created", "updated", "kept", "overwritten"]
ACTIONS: tuple[Action, ...] = ("created", "updated", "kept", "overwritten")


@dataclass
class FileChange:
    """One file (or folder, when ``is_dir``) of the plan, relative to the project root."""

    path: str
    action: Action
    content: bytes | None = None  # what will be written (None: nothing to write)
    old: bytes | None = None  # current content (None: the file does not exist)
    is_dir: bool = False
    note: str | None = None

    @property
    def writes(self) -> bool:
        return self.action != "kept"

    def as_dict(self, *, with_content: bool = False) -> dict[str, object]:
        data: dict[str, object] = {"path": self.path + ("/" if self.is_dir else ""), "action": self.action}
        if self.note:
            data["note"] = self.note
        if with_content and self.writes and self.content is not None:
            data["content"] = self.content.decode("utf-8", errors="replace")
        return data


def change_for(root: Path, rel: str, new: bytes | None, old: bytes | None, *, force: bool,
               note: str | None = None) -> FileChange:
    """Classify one file: ``new`` is the wanted content (None: keep what is there)."""
    if old is None:
        if new is None:
            raise ValueError(f"nothing to write for {rel}")
        return FileChange(rel, "created", new, None, note=note)
    if new is None or new == old:
        return FileChange(rel, "kept", None, old, note=note)
    return FileChange(rel, "overwritten" if force else "updated", new, old, note=note)


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist; a folder in its place is an error."""
    if path.is_dir():
        raise MoaiError(
            f"{path} is a folder, but moai-adk needs to write a file there.",
            hint=f"Move or rename the folder {path}, then re-run `moai-adk init`.",
        )
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MoaiError(f"Cannot read {path}: {exc.strerror or exc}.",
                        hint=f"Check the permissions of {path}.") from exc


def check_writable(root: Path) -> None:
    """Fail early, before planning, when ``root`` cannot be created or written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".moai-probe.", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise MoaiError(
            f"The project folder {root} is not writable ({exc.strerror or exc}); nothing was written.",
            hint=f"Fix its permissions (e.g. `chmod u+w {root}`) or run in another folder with `moai-adk -C DIR init`.",
        ) from exc


def apply_plan(root: Path, changes: list[FileChange]) -> None:
    """Write every change of the plan, all or nothing."""
    made_dirs: list[Path] = []
    staged: list[tuple[FileChange, Path, str]] = []
    try:
        for change in changes:
            if not change.writes:
                continue
            target = root / change.path
            base = target if change.is_dir else target.parent
            missing = [p for p in (base, *base.parents) if root in p.parents and not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                made_dirs.append(folder)
            if change.is_dir or change.content is None:
                continue
            mode = default_mode(target)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".moai-tmp", dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(change.content)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            staged.append((change, target, tmp))
    except OSError as exc:
        _discard(staged, made_dirs)
        raise MoaiError(f"Could not write into {root} ({exc}); nothing was changed.",
                        hint="Check free space and permissions, then re-run `moai-adk init`.") from exc
    done: list[tuple[FileChange, Path]] = []
    try:
        for change, target, tmp in staged:
            os.replace(tmp, target)
            done.append((change, target))
    except OSError as exc:
        for change, target in reversed(done):
            if change.old is None:
                target.unlink(missing_ok=True)
            else:
                atomic_write(target, change.old)
        _discard(staged[len(done):], made_dirs)
        raise MoaiError(f"Could not replace a file in {root} ({exc}); the files were put back as they were.",
                        hint="Check permissions, then re-run `moai-adk init`.") from exc


def _discard(staged: list[tuple[FileChange, Path, str]], made_dirs: list[Path]) -> None:
    for _change, _target, tmp in staged:
        Path(tmp).unlink(missing_ok=True)
    for folder in reversed(made_dirs):
        try:
            folder.rmdir()
        except OSError:
            pass
