"""``moai-adk platform status``: which local platforms the credentials file knows and whether they answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ..platform.paths import TOKEN_ENV, URL_ENV, credential_entries, resolve_platform
from ._http import verify_for

API = "/_api/v1"
START_HINT = ("Start it with `moai-adk platform serve` (in another terminal, or in the background: "
              "`nohup moai-adk platform serve &`), or set MOAI_PLATFORM_URL to where it runs.")


def start_hint(environ: Mapping[str, str], url: str) -> str:
    """How to start the platform at ``url``, naming the other platforms of the credentials file."""
    _, entries = credential_entries(resolve_platform(environ)[2])
    others = [u for u in entries if u.rstrip("/") != url.rstrip("/")]
    if not others:
        return START_HINT
    return (f"{START_HINT} The credentials file also knows {', '.join(others)}: set MOAI_PLATFORM_URL to one "
            "of them to use it (`moai-adk platform status` lists them).")


def _probe(url: str, token: str | None, transport: httpx.BaseTransport | None) -> dict[str, Any]:
    info: dict[str, Any] = {"url": url, "running": False, "token_ok": False}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=url, timeout=3.0, transport=transport, headers=headers,
                          verify=verify_for(url)) as client:
            health = client.get(f"{API}/health")
            if health.status_code == 200:
                info["running"] = True
                info["version"] = health.json().get("version")
                info["token_ok"] = bool(token) and client.get(f"{API}/whoami").status_code == 200
    except (httpx.HTTPError, ValueError):
        pass
    return info


def platform_status(environ: Mapping[str, str], transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Is a platform answering at the configured URL, and is our token accepted? ``platforms``: every
    entry of the credentials file, probed the same way (``default``: the one used without a URL)."""
    url, token, creds = resolve_platform(environ)
    source = TOKEN_ENV if environ.get(TOKEN_ENV) else (f"credentials file {creds}" if token else "none")
    info: dict[str, Any] = {**_probe(url, token, transport), "token_source": source,
                            "url_source": URL_ENV if environ.get(URL_ENV) else "credentials file or default"}
    default, entries = credential_entries(creds)
    info["credentials"] = str(creds)
    info["platforms"] = [{**_probe(u, t, transport), "default": u == default, "selected": u == url}
                         for u, t in entries.items()]
    return info
