"""Where the local platform keeps its data and where the CLI finds it.

* data folder: ``--data DIR``, else ``$XDG_DATA_HOME/moai-adk/platform``,
  else ``~/.local/share/moai-adk/platform``;
* credentials file (per user, mode 0600): ``$XDG_CONFIG_HOME/moai-adk/platform.json``,
  else ``~/.config/moai-adk/platform.json``: one entry per platform URL
  (``{"platforms": {url: {"token": ...}}, "url": default, "token": its token}``;
  ``url``/``token`` name the default entry, the first platform saved, and keep
  the file readable by older versions). Starting another platform (another
  port) adds its entry and never changes the default; ``MOAI_PLATFORM_URL`` or
  ``url`` in ``[platforms.local]`` picks another entry.

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
    """The saved file as it is (see the module docstring), or ``None`` when there is no file."""
    return read_json_object(path, fix=f"Delete {path} and restart `moai-adk platform serve`; it writes a fresh one "
                                      f"(or fix its permissions: chmod 600 {path}).")


def credential_entries(path: Path) -> tuple[str | None, dict[str, str]]:
    """``(default url, {url: token})`` of the credentials file (both empty when there is none).

    A file of an older version (``{"url", "token"}`` only) is one entry, the default."""
    saved = read_credentials(path) or {}
    entries: dict[str, str] = {}
    platforms = saved.get("platforms")
    if isinstance(platforms, dict):
        for url, entry in platforms.items():
            if isinstance(entry, dict) and isinstance(entry.get("token"), str):
                entries[str(url).rstrip("/")] = entry["token"]
    default = str(saved.get("url") or "").rstrip("/") or None
    if default and default not in entries and isinstance(saved.get("token"), str):
        entries[default] = saved["token"]
    if default not in entries:
        default = next(iter(entries), None)
    return default, entries


def token_for(path: Path, url: str) -> str | None:
    """The saved token of the platform at ``url`` (``localhost`` and ``127.0.0.1`` are the same)."""
    for saved_url, token in credential_entries(path)[1].items():
        if _same_origin(saved_url, url):
            return token
    return None


def write_credentials(path: Path, url: str, token: str, moved_from: str | None = None) -> None:
    """Save ``token`` as the entry of ``url``, atomically with mode 0600; the other entries and the
    default stay (the first entry saved becomes the default). ``moved_from``: the URL the same
    platform (same data folder) was saved under before; its entry becomes this one."""
    default, entries = credential_entries(path) if path.exists() else (None, {})
    url = url.rstrip("/")
    for saved_url in [u for u in entries if _same_origin(u, url) or (moved_from and _same_origin(u, moved_from))]:
        del entries[saved_url]
        if default == saved_url:
            default = url
    entries[url] = token
    default = default or url
    body = {"url": default, "token": entries[default],
            "platforms": {u: {"token": t} for u, t in entries.items()}}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps(body, indent=2) + "\n", mode=0o600)


def resolve_platform(environ: Mapping[str, str], settings: Mapping[str, Any] | None = None) -> tuple[str, str | None, Path]:
    """``(url, token, credentials_file)`` the CLI should use.

    URL: ``MOAI_PLATFORM_URL``, else ``url`` in the provider settings, else the
    credentials file's default entry, else ``http://127.0.0.1:8787``. Token:
    ``MOAI_PLATFORM_TOKEN``, else the credentials file's entry for that URL.
    """
    settings = settings or {}
    creds_file = credentials_path(environ)
    default, _ = credential_entries(creds_file)
    url = (environ.get(URL_ENV) or str(settings.get("url") or "") or default or DEFAULT_URL).rstrip("/")
    token = environ.get(TOKEN_ENV) or token_for(creds_file, url)
    return url, token, creds_file


def _same_origin(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        u = u.rstrip("/").lower()
        return u.replace("://localhost:", "://127.0.0.1:")

    return norm(a) == norm(b)
