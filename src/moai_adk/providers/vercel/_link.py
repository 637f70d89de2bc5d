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

from ...errors import StateError
from .._statefiles import read_json_file, require_str, update_json_file

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


def read_link_file(root: Path) -> VercelLink | None:
    """``.vercel/project.json`` as written, or None when it does not exist; a corrupt file is a
    ``StateError`` naming it."""
    path = root / LINK_FILE
    fix = f"Delete {path} and re-link: {LINK_HINT[4:]}"
    data = read_json_file(path, fix=fix)
    if data is None:
        return None
    org = data.get("orgId")
    if org is not None and not isinstance(org, str):
        raise StateError(f"{path} is corrupt: `orgId` is not a string.", hint=fix)
    name = data.get("projectName")
    return VercelLink(require_str(path, data, "projectId", fix), org or None, name if isinstance(name, str) else None)


def read_link(root: Path, settings: Mapping[str, Any], environ: Mapping[str, str]) -> VercelLink | None:
    """The linked project: moai.toml settings, then ``VERCEL_PROJECT_ID``/``VERCEL_ORG_ID``, then the file."""
    project_id = settings.get("project_id") or environ.get("VERCEL_PROJECT_ID")
    org_id = settings.get("org_id") or settings.get("team_id") or environ.get("VERCEL_ORG_ID")
    stored = None if project_id and org_id else read_link_file(root)
    if stored is not None:
        project_id = project_id or stored.project_id
        org_id = org_id or stored.org_id
    if not project_id:
        return None
    return VercelLink(str(project_id), str(org_id) if org_id else None, stored.project_name if stored else None)


def write_link(root: Path, link: VercelLink) -> Path:
    """Write ``.vercel/project.json`` atomically, keeping keys other tools added; an empty
    ``org_id`` leaves the file's ``orgId`` as it is."""
    if not link.project_id:
        raise ValueError("project_id is required")
    updates: dict[str, Any] = {"projectId": link.project_id}
    if link.org_id:
        updates["orgId"] = link.org_id
    if link.project_name:
        updates["projectName"] = link.project_name
    return update_json_file(root / LINK_FILE, updates)
