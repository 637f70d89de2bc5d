"""Small helpers for the platform link files providers keep in the project
(``.vercel/project.json``, ``.netlify/state.json``): read JSON with a clear
error when it is corrupt, write JSON atomically (temp file + ``os.replace``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import StateError


def read_json_file(path: Path, *, fix: str) -> dict[str, Any] | None:
    """The JSON object in ``path``, ``None`` when absent; ``StateError`` when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"Cannot read {path}: {exc.strerror}.", hint=fix) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}).", hint=fix) from exc
    if not isinstance(data, dict):
        raise StateError(f"{path} must hold a JSON object, not {type(data).__name__}.", hint=fix)
    return data


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
