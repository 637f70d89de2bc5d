"""Which Netlify site this folder deploys to: ``.netlify/state.json`` (``{"siteId": "<uuid>"}``,
the Netlify CLI's state file; other keys are kept). ``[platforms.netlify] site_id`` and
``NETLIFY_SITE_ID`` win over the file, as with the Netlify CLI."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._statefiles import read_json_file, require_str, update_json_file

STATE_FILE = Path(".netlify") / "state.json"
LINK_HINT = "Run `moai-adk init --baas netlify --link` to link this folder to a Netlify site."


def read_link_file(root: Path) -> str | None:
    """The site id stored in ``.netlify/state.json``, or None when the file does not exist."""
    path = root / STATE_FILE
    fix = f"Delete {path} and re-link: {LINK_HINT[4:]}"
    data = read_json_file(path, fix=fix)
    return None if data is None else require_str(path, data, "siteId", fix)


def read_site_id(root: Path, settings: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    sid = settings.get("site_id") or environ.get("NETLIFY_SITE_ID") or read_link_file(root)
    return str(sid) if sid else None


def write_link(root: Path, site_id: str) -> Path:
    """Write ``.netlify/state.json`` atomically, keeping keys other tools added."""
    if not site_id:
        raise ValueError("site_id is required")
    return update_json_file(root / STATE_FILE, {"siteId": site_id})
