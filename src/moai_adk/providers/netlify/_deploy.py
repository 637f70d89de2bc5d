"""Netlify's file-digest deploy, as Netlify's CLI runs it.

1. ``POST /sites/{site_id}/deploys`` creates the deploy (``draft``, ``branch``);
2. ``PUT /sites/{site_id}/deploys/{deploy_id}`` sends ``files: {path: sha1}``
   with ``async: true`` above 100 files;
3. while ``state == "preparing"`` Netlify is still diffing: poll;
4. every path whose SHA-1 is in ``required`` is sent with
   ``PUT /deploys/{deploy_id}/files/{path}`` (path URL-encoded);
5. poll until ``state`` is ``ready`` (or ``error``: its ``error_message``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ...errors import DeployFailed, LimitError, SnapshotError
from .. import _upload
from .._http import ApiClient, poll_until
from ..base import Deployment, DeployStats, DeployTarget
from . import _config

if TYPE_CHECKING:
    from ...artifacts.snapshot import Snapshot

UPLOAD_RETRIES = 12  # uploads are idempotent: outlast long 429/503 bursts
SYNC_LIMIT = 100  # above this many files the diff runs asynchronously
PER_DIRECTORY_LIMIT = 54_000  # Netlify fails deploys with more files than this in one folder
DIFFED = frozenset({"prepared", "uploading", "uploaded", "ready", "error"})
STATE_MAP = {"new": "uploading", "preparing": "processing", "prepared": "uploading", "uploading": "uploading",
             "uploaded": "processing", "processing": "processing", "ready": "ready", "error": "error"}


@dataclass
class Entry:
    path: str
    sha: str
    abspath: str | None = None
    data: bytes | None = None


def check_directories(paths: list[str], root: Path, limit: int = PER_DIRECTORY_LIMIT) -> None:
    counts = Counter(p.rpartition("/")[0] for p in paths)
    folder, n = counts.most_common(1)[0] if counts else ("", 0)
    if n > limit:
        raise LimitError(
            f"{os.path.join(root, folder) if folder else root} holds {n:,} files; Netlify fails deploys with more "
            f"than {limit:,} files in one folder. Nothing was uploaded.",
            hint="Split the folder into sub-folders in your build output.",
        )


def context_for(target: DeployTarget) -> str:
    if target.production:
        return "production"
    return "branch-deploy" if target.branch else "deploy-preview"


def build_manifest(snapshot: Snapshot, root: Path, target: DeployTarget) -> list[Entry]:
    entries = [Entry(f.path, f.hashes["sha1"], abspath=f.abspath) for f in snapshot.files]
    for e in entries:
        if "#" in e.path or "?" in e.path:
            raise SnapshotError(
                f"{os.path.join(snapshot.root, e.path)}: Netlify cannot serve file names containing '#' or '?'.",
                hint="Rename the file in your build output.",
            )
    names = {e.path for e in entries}
    if _config.CONFIG_FILE not in names:
        extra = _config.manifest_entry(root, context_for(target), target.branch)
        if extra is not None:
            entries.append(Entry(_config.CONFIG_FILE, extra[1], data=extra[0]))
    check_directories([e.path for e in entries], snapshot.root)
    return entries


class Uploader(_upload.Uploader[Entry]):
    """``PUT /deploys/{id}/files/{path}`` for each file Netlify requires."""

    def __init__(self, api: ApiClient, deploy_id: str, concurrency: int,
                 progress: Callable[[int, int], None] | None) -> None:
        super().__init__(api, concurrency, progress)
        self.deploy_id = deploy_id

    def path_of(self, entry: Entry) -> str:
        return entry.path

    def send(self, entry: Entry, data: bytes) -> None:
        self.api.request("PUT", f"/deploys/{self.deploy_id}/files/{quote(entry.path, safe='/')}",
                         retries=UPLOAD_RETRIES, content=data, headers={"Content-Type": "application/octet-stream"})


def _fetch(api: ApiClient, site_id: str, deploy_id: str) -> dict[str, Any]:
    data = api.json("GET", f"/sites/{site_id}/deploys/{deploy_id}")
    return data if isinstance(data, dict) else {}


def raise_if_failed(deploy: dict[str, Any]) -> None:
    if deploy.get("state") != "error":
        return
    url = deploy.get("deploy_ssl_url") or deploy.get("deploy_url")
    where = f" Deploy URL: {url}." if url else ""
    admin = f" Details: {deploy['admin_url']}/deploys/{deploy['id']}." if deploy.get("admin_url") else ""
    raise DeployFailed(
        f"Netlify deploy {deploy.get('id')} failed: {deploy.get('error_message') or 'no reason given'}.{where}{admin} "
        "Production was not changed.",
        hint="Fix the error above and run `moai-adk deploy` again.",
    )


def run(api: ApiClient, site_id: str, entries: list[Entry], target: DeployTarget, *, concurrency: int,
        progress: Callable[[int, int], None] | None, sleep: Callable[[float], None] | None) -> tuple[dict[str, Any], DeployStats]:
    draft = target.production or not target.branch
    head: dict[str, Any] = {"draft": draft}
    if target.branch and not target.production:
        head["branch"] = target.branch
    title = target.message or f"moai-adk {target.environment} deploy"
    created = api.json("POST", f"/sites/{site_id}/deploys", params={"title": title}, json=head)
    deploy_id = str(created["id"])
    files = {e.path: e.sha for e in entries}
    body = {**head, "files": files, "async": len(files) > SYNC_LIMIT}
    deploy = api.json("PUT", f"/sites/{site_id}/deploys/{deploy_id}", json=body)
    if deploy.get("state") not in DIFFED:
        deploy = poll_until(lambda: _fetch(api, site_id, deploy_id), lambda d: d.get("state") in DIFFED,
                            what=f"Netlify to diff deploy {deploy_id}", interval=0.5, sleep=sleep)
    raise_if_failed(deploy)
    required = set(deploy.get("required") or [])
    uploader = Uploader(api, deploy_id, concurrency, progress)
    uploader.upload([e for e in entries if e.sha in required])
    final = poll_until(lambda: _fetch(api, site_id, deploy_id), lambda d: d.get("state") in ("ready", "error"),
                       what=f"Netlify deploy {deploy_id}", interval=0.5, sleep=sleep)
    raise_if_failed(final)
    return final, uploader.stats


def to_deployment(d: dict[str, Any], published_id: str | None = None) -> Deployment:
    state = str(d.get("state") or "")
    url = d.get("deploy_ssl_url") or d.get("deploy_url")
    return Deployment(
        id=str(d.get("id")),
        state=STATE_MAP.get(state, state or "unknown"),
        url=url,
        production_url=d.get("ssl_url") or d.get("url"),
        health_url=url,
        production=published_id is not None and published_id == d.get("id"),
        target="production" if d.get("context") == "production" or "production" in str(d.get("title") or "") else "preview",
        created_at=d.get("created_at"),
        error=d.get("error_message"),
        extra={k: d[k] for k in ("branch", "draft", "context", "title", "published_at", "admin_url") if d.get(k) is not None},
    )
