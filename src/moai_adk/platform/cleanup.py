"""Garbage collection of the local platform (``moai-adk cleanup``, ``POST /_api/v1/cleanup``).

Removes, or with ``dry_run`` only lists:

* expired deployments: still ``uploading`` after the platform's ``upload_ttl``
  (an interrupted deploy); ready deployments are never touched;
* blobs (and their ``.gz``/``.br`` variants) no ready or still-uploading
  deployment references, written longer than ``upload_ttl`` ago (a blob
  uploaded lately may be about to be referenced), with their variant rows;
* nginx edge trees (``edge/trees/<id>``) of no ready deployment, ``.tmp-*``
  trees older than ``upload_ttl``, and ``edge/sites/<site>/<id>`` links to them.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .store import SHA256_RE

if TYPE_CHECKING:
    from .service import Platform


def collect(platform: Platform, dry_run: bool = False) -> dict[str, Any]:
    """What cleanup removed (or would remove): ``expired_deploys``, ``blobs``, ``blob_files``, ``bytes``, ``trees``."""
    now = time.time()
    ttl = platform.upload_ttl
    expired: list[dict[str, Any]] = []
    ready: set[str] = set()
    keep: set[str] = set()
    for deploy_id, state, created_at, files_json in platform.meta.deploy_manifests():
        if platform.expired(state, created_at, now):
            expired.append({"id": deploy_id, "created_at": created_at})
            continue
        if state == "ready":
            ready.add(deploy_id)
        keep.update(info[0] for info in orjson.loads(files_json).values())
    blobs: list[Path] = []
    hashes: set[str] = set()
    size = 0
    for folder in sorted(platform.store.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]")):
        for entry in os.scandir(folder):
            sha, _, variant = entry.name.partition(".")
            if not SHA256_RE.match(sha) or variant not in ("", "gz", "br") or sha in keep:
                continue
            st = entry.stat(follow_symlinks=False)
            if now - st.st_mtime < ttl:
                continue  # uploaded lately: a deploy may be about to reference it
            blobs.append(Path(entry.path))
            hashes.add(sha)
            size += st.st_size
    edge = platform.data_dir / "edge"
    trees = _stale_trees(edge / "trees", ready, now, ttl)
    if not dry_run:
        platform.meta.delete_deploys([d["id"] for d in expired])
        for path in trees:
            shutil.rmtree(path, ignore_errors=True)
        _drop_site_links(edge / "sites", ready)
        for path in blobs:
            path.unlink(missing_ok=True)
        platform.meta.forget_variants(sorted(hashes))
    return {"dry_run": dry_run, "expired_deploys": expired, "blobs": len(hashes), "blob_files": len(blobs),
            "bytes": size, "trees": [p.name for p in trees], "upload_ttl": ttl}


def _stale_trees(trees: Path, ready: set[str], now: float, ttl: int) -> list[Path]:
    if not trees.is_dir():
        return []
    stale = []
    for path in sorted(trees.iterdir()):
        if path.name.startswith(".tmp-"):
            if now - path.lstat().st_mtime >= ttl:
                stale.append(path)
        elif path.name not in ready:
            stale.append(path)
    return stale


def _drop_site_links(by_site: Path, ready: set[str]) -> None:
    """``edge/sites/<site>/<deploy>`` links to trees of no ready deployment."""
    for link in by_site.glob("*/*") if by_site.is_dir() else ():
        if link.is_symlink() and link.name not in ready:
            link.unlink(missing_ok=True)
