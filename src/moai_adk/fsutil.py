"""Small file-system helpers every layer shares: atomic writes and reading
JSON state files with an error that names the file and the fix."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import StateError


def default_mode(path: Path) -> int:
    """The mode a rewrite of ``path`` keeps: its current mode, else what the umask gives."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: Path, data: bytes | str, *, mode: int | None = None, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a part.

    A temp file in the same folder is written (and fsynced when ``durable``),
    given ``mode`` (default: the old file's mode) and renamed over ``path``.
    A failure removes the temp file and leaves ``path`` as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    final_mode = default_mode(path) if mode is None else mode
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".moai-tmp", dir=path.parent)
    try:
        os.fchmod(fd, final_mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json_object(path: Path, *, fix: str) -> dict[str, Any] | None:
    """The JSON object stored in ``path``; ``None`` when the file does not exist.

    Unreadable, invalid or non-object content is a ``StateError`` naming the
    file (and line and column for a syntax error) with ``fix`` as the hint.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StateError(f"Cannot read {path}: {reason}.", hint=fix) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}:{exc.lineno}:{exc.colno} is corrupt: not valid JSON ({exc.msg}).",
                         hint=fix) from exc
    if not isinstance(data, dict):
        raise StateError(f"{path} is corrupt: it must hold a JSON object, not {type(data).__name__}.", hint=fix)
    return data
