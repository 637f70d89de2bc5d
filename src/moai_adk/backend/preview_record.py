"""The record of what preview deploys added to backends: ``.moai/backend/previews.json`` (0600).

Each entry: the backend (``supabase``/``firebase``), its project (``target``), the environment, the value
added (a Supabase redirect URL ``<origin>/**``, a Firebase authorized domain), and the deployment it
came from (platform, id, URL). ``backend plan|apply`` treat recorded values as desired (so they are not
drift); ``cleanup`` removes those of deployments that no longer exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write

RECORD = Path(".moai") / "backend" / "previews.json"


def load(root: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads((root / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("entries") if isinstance(data, dict) else None
    return [e for e in entries or [] if isinstance(e, dict) and e.get("backend") and e.get("value")]


def save(root: Path, entries: Iterable[dict[str, Any]]) -> None:
    path = root / RECORD
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps({"version": 1, "entries": list(entries)}, indent=2) + "\n", mode=0o600)


def recorded(root: Path, backend: str, target: str) -> list[str]:
    """The values recorded for ``backend``'s project ``target``, oldest first, each once."""
    return list(dict.fromkeys(str(e["value"]) for e in load(root)
                              if e.get("backend") == backend and e.get("target") == target))
