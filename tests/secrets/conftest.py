"""Secrets tests: real files, real age encryption, the real CLI in a subprocess, keys in a key file
(MOAI_SECRETS_BACKEND=file: no keyring daemon here) unless a test chooses a keyring backend itself."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


def make_project(root: Path, site: str = "demo", extra: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "local"\n{extra}')
    return root


def user_env(tmp_path: Path, who: str) -> dict[str, str]:
    """A user of their own: own config dir (so own key files), key-file backend."""
    return {"XDG_CONFIG_HOME": str(tmp_path / f"{who}-config"), "XDG_DATA_HOME": str(tmp_path / f"{who}-data"),
            "MOAI_SECRETS_BACKEND": "file", "USER": who}


@pytest.fixture
def moai(tmp_path: Path) -> Run:
    """Run the real `moai-adk` entry point in a subprocess (as user "alice" unless env says otherwise)."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MOAI_", "PYTHON_KEYRING"))}
        full_env.update(user_env(tmp_path, "alice"))
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "moai_adk", *args], cwd=cwd or tmp_path, env=full_env,
                              capture_output=True, text=True, timeout=timeout, input=stdin)

    return run
