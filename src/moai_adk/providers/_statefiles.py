"""The link files platforms keep in a project (``.vercel/project.json``,
``.netlify/state.json``): read with a clear error when one is corrupt, and
updated atomically keeping the keys other tools added. Each file has exactly
one owner, its platform's ``_link`` module; nothing else reads or writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import StateError
from ..fsutil import atomic_write
from ..fsutil import read_json_object as read_json_file

__all__ = ["read_json_file", "require_str", "update_json_file"]


def update_json_file(path: Path, updates: dict[str, Any]) -> Path:
    """Write ``updates`` into the JSON object at ``path`` atomically; other keys are kept and a
    corrupt file is replaced."""
    try:
        current = read_json_file(path, fix="") or {}
    except StateError:
        current = {}
    current.update(updates)
    atomic_write(path, (json.dumps(current, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def require_str(path: Path, data: dict[str, Any], key: str, hint: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise StateError(f"{path} is corrupt: `{key}` is missing or not a string.", hint=hint)
    return value
