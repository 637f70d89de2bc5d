"""Where the local platform keeps its data and where the CLI finds it.

* data folder: ``--data DIR``, else ``$XDG_DATA_HOME/moai-adk/platform``,
  else ``~/.local/share/moai-adk/platform``;
* credentials file (per user, mode 0600): ``$XDG_CONFIG_HOME/moai-adk/platform.json``,
  else ``~/.config/moai-adk/platform.json``, holding ``{"url": ..., "token": ...}``.

Everything takes an ``environ`` mapping; nothing reads ``os.environ`` itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write, read_json_object

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
URL_ENV = "MOAI_PLATFORM_URL"
TOKEN_ENV = "MOAI_PLATFORM_TOKEN"
CREDENTIALS_ENV = "MOAI_PLATFORM_CREDENTIALS"  # override of the credentials file path (tests, CI)


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def default_data_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME")
    root = Path(base) if base else _home(environ) / ".local" / "share"
    return root / "moai-adk" / "platform"


def credentials_path(environ: Mapping[str, str]) -> Path:
    explicit = environ.get(CREDENTIALS_ENV)
    if explicit:
        return Path(explicit)
    base = environ.get("XDG_CONFIG_HOME")
    root = Path(base) if base else _home(environ) / ".config"
    return root / "moai-adk" / "platform.json"


def read_credentials(path: Path) -> dict[str, Any] | None:
    """The saved ``{"url", "token"}`` or ``None`` when there is no file."""
    return read_json_object(path, fix=f"Delete {path} and restart `moai-adk platform serve`; it writes a fresh one "
                                      f"(or fix its permissions: chmod 600 {path}).")


def write_credentials(path: Path, url: str, token: str) -> None:
    """Write the credentials file atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps({"url": url, "token": token}, indent=2) + "\n", mode=0o600)


def resolve_platform(environ: Mapping[str, str], settings: Mapping[str, Any] | None = None) -> tuple[str, str | None, Path]:
    """``(url, token, credentials_file)`` the CLI should use.

    URL: ``MOAI_PLATFORM_URL``, else ``url`` in the provider settings, else the
    credentials file, else ``http://127.0.0.1:8787``. Token:
    ``MOAI_PLATFORM_TOKEN``, else the credentials file's token when that file
    describes the same URL.
    """
    settings = settings or {}
    creds_file = credentials_path(environ)
    creds = read_credentials(creds_file) or {}
    creds_url = str(creds.get("url") or "").rstrip("/")
    url = (environ.get(URL_ENV) or str(settings.get("url") or "") or creds_url or DEFAULT_URL).rstrip("/")
    token = environ.get(TOKEN_ENV) or None
    if token is None and creds.get("token") and (not creds_url or _same_origin(creds_url, url)):
        token = str(creds["token"])
    return url, token, creds_file


def _same_origin(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        u = u.rstrip("/").lower()
        return u.replace("://localhost:", "://127.0.0.1:")

    return norm(a) == norm(b)
