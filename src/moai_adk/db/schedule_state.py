"""The state of the backup schedules (next run, last result per project), shared by the platform's
scheduler threads and read by ``moai-adk platform status``: a JSON file (0600) in the data folder."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write

STATUS_FILE = "backup-schedules.json"


@dataclass
class StatusBoard:
    """Every project's state, written to ``path`` (0600) after each change; thread-safe."""

    path: Path | None
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, root: Path, **values: Any) -> None:
        with self.lock:
            self.projects.setdefault(str(root), {}).update(values)
            if self.path is not None:
                body = json.dumps({"projects": self.projects}, indent=2, sort_keys=True)
                atomic_write(self.path, body + "\n", mode=0o600, durable=False)


def read_status(data_dir: Path) -> dict[str, Any]:
    """The schedules' state as the running platform last wrote it ({} when none)."""
    try:
        data = json.loads((data_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    projects = data.get("projects") if isinstance(data, dict) else None
    return projects if isinstance(projects, dict) else {}
