from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def moai(tmp_path: Path) -> Run:
    """Run the real `moai-adk` entry point in a subprocess."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ)
        full_env.setdefault("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
        full_env.setdefault("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "moai_adk", *args], cwd=cwd or tmp_path, env=full_env,
                              capture_output=True, text=True, timeout=timeout)

    return run
