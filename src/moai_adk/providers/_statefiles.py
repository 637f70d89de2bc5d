"""Read the platform link files providers keep in the project
(``.vercel/project.json``, ``.netlify/state.json``) with a clear error when
one is corrupt. Writing them is ``project.files``' job (atomic).
"""

from __future__ import annotations

import json
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
