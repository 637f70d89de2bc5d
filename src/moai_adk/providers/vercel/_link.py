"""Which Vercel project this folder deploys to: ``.vercel/project.json``.

The file holds ``{"projectId": "prj_...", "orgId": "team_...|<user id>"}``
(the Vercel CLI's link file; it may add ``projectName``/``settings``, which we
keep). ``moai.toml`` ``[platforms.vercel] project_id``/``org_id`` and the
``VERCEL_PROJECT_ID``/``VERCEL_ORG_ID`` variables win over the file, like the
Vercel CLI. An ``orgId`` starting with ``team_`` scopes every API call to that
team with the ``teamId`` query parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._statefiles import read_json_file

LINK_FILE = Path(".vercel") / "project.json"
LINK_HINT = "Run `moai-adk init --baas vercel --link` to link this folder to a Vercel project."


@dataclass
class VercelLink:
    project_id: str
    org_id: str | None = None
    project_name: str | None = None

    @property
    def team_id(self) -> str | None:
        return self.org_id if self.org_id and self.org_id.startswith("team_") else None


def read_link(root: Path, settings: Mapping[str, Any], environ: Mapping[str, str]) -> VercelLink | None:
    """The linked project, from settings, env vars or ``.vercel/project.json``."""
    data = read_json_file(root / LINK_FILE, fix=f"Delete {root / LINK_FILE} and re-link: {LINK_HINT[4:]}") or {}
    project_id = settings.get("project_id") or environ.get("VERCEL_PROJECT_ID") or data.get("projectId")
    org_id = settings.get("org_id") or settings.get("team_id") or environ.get("VERCEL_ORG_ID") or data.get("orgId")
    if not project_id:
        return None
    return VercelLink(str(project_id), str(org_id) if org_id else None, data.get("projectName"))


def write_link(root: Path, link: VercelLink) -> Path:
    """Write ``.vercel/project.json`` atomically (``project.files`` keeps keys other tools added)."""
    from ...project.files import write_vercel_link

    return write_vercel_link(root, link.project_id, link.org_id or "", link.project_name)
