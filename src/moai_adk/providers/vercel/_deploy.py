"""Vercel's file-manifest deploy, step by step as Vercel's own client does it
(``_send`` chooses between it and the archive of ``_archive``, which follows the same steps
with the archive's parts as the files).

1. every file is named by the SHA-1 of its raw bytes;
2. ``POST /v13/deployments`` with ``files: [{file, sha, size, mode}]``;
3. a ``400`` whose error ``code`` is ``missing_files`` lists the SHAs Vercel
   lacks (``missing``); each is sent once to ``POST /v2/files`` with
   ``x-vercel-digest`` and ``Content-Length``;
4. the identical create call is sent again and now answers the deployment;
5. ``GET /v13/deployments/{id}`` is polled until the deployment is settled
   (``settled``): READY with its aliases assigned (``aliasAssigned``) when it
   has any to assign (a target or an ``alias`` list), or failed by any signal
   Vercel's client treats as failure (``failure``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import DeployFailed, LimitError, ProviderError
from .. import _upload
from .._http import ApiClient, poll_until
from ..base import Deployment, Limits

if TYPE_CHECKING:
    from ...artifacts.snapshot import Snapshot

UPLOAD_RETRIES = 12  # uploads are idempotent: outlast long 429/503 bursts
FILE_LIMIT = 15_000  # most files per deployment sent file by file; above it the archive goes (``_send``)
STATE_MAP = {
    "QUEUED": "processing", "INITIALIZING": "processing", "BUILDING": "processing",
    "READY": "ready", "ERROR": "error", "CANCELED": "canceled",
}
MAX_HANDSHAKES = 4


@dataclass
class ManifestEntry:
    file: str
    sha: str
    size: int
    mode: int
    abspath: str | None = None  # where to read the bytes
    data: bytes | None = None  # or the bytes themselves (vercel.json from the project root)


@dataclass
class Manifest:
    entries: list[ManifestEntry] = field(default_factory=list)

    def body(self) -> list[dict[str, Any]]:
        return [{"file": e.file, "sha": e.sha, "size": e.size, "mode": e.mode} for e in self.entries]

    def by_sha(self) -> dict[str, ManifestEntry]:
        out: dict[str, ManifestEntry] = {}
        for e in self.entries:
            out.setdefault(e.sha, e)
        return out


def project_vercel_json(snapshot: Snapshot, root: Path) -> bytes | None:
    """The project root's ``vercel.json`` when the output folder has none of its own: Vercel reads
    it there (``cleanUrls``, ``redirects``...), so it goes with the files."""
    config = root / "vercel.json"
    if any(f.path == "vercel.json" for f in snapshot.files) or not config.is_file() \
            or config.resolve() == (snapshot.root / "vercel.json").resolve():
        return None
    return config.read_bytes()


def build_manifest(snapshot: Snapshot, root: Path, limits: Limits) -> Manifest:
    """The ``files`` list, plus the project's ``vercel.json`` when the output lacks one.

    The per-file size limit is checked here too, so nothing is uploaded for a site
    Vercel would refuse even when the snapshot was taken with other limits; the
    file count is ``_send``'s business (above 15,000 files the archive goes instead).
    """
    entries = [ManifestEntry(f.path, f.hashes["sha1"], f.size, 0o100000 | f.mode, abspath=f.abspath)
               for f in snapshot.files]
    data = project_vercel_json(snapshot, root)
    if data is not None:
        entries.append(ManifestEntry("vercel.json", hashlib.sha1(data).hexdigest(), len(data), 0o100644, data=data))
    if limits.max_file_size is not None:
        for e in entries:
            if e.size > limits.max_file_size:
                raise LimitError(
                    f"{os.path.join(snapshot.root, e.file)} is {e.size:,} bytes; Vercel accepts files of at most "
                    f"{limits.max_file_size:,} bytes. Nothing was uploaded.",
                    hint="Shrink or split the file, or host it in object storage and link to it "
                         "(set [platforms.vercel] max_file_size if your plan allows more).",
                )
    return Manifest(entries)


def missing_shas(response_body: Any) -> list[str] | None:
    """The SHAs of a ``missing_files`` answer, or ``None`` for any other 400."""
    if not isinstance(response_body, dict):
        return None
    err = response_body.get("error", response_body)
    if isinstance(err, dict) and err.get("code") == "missing_files" and isinstance(err.get("missing"), list):
        return [str(s) for s in err["missing"]]
    return None


class Uploader(_upload.Uploader[ManifestEntry]):
    """Sends missing files to ``POST /v2/files`` with bounded adaptive concurrency."""

    def path_of(self, entry: ManifestEntry) -> str:
        return entry.file

    def send(self, entry: ManifestEntry, data: bytes) -> None:
        self.api.request("POST", "/v2/files", retries=UPLOAD_RETRIES, content=data, headers={
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(data)),
            "x-vercel-digest": entry.sha,
        })


def created(data: Any) -> dict[str, Any]:
    """The deployment a successful create call answered."""
    if not isinstance(data, dict) or "id" not in data:
        raise ProviderError("Vercel answered the deployment request without a deployment id.",
                            hint="Re-run with --debug to see the answer.")
    return data


def upload_missing(manifest: Manifest, missing: list[str], uploader: Uploader) -> None:
    """Send each file of a ``missing_files`` answer once."""
    by_sha = manifest.by_sha()
    unknown = [s for s in missing if s not in by_sha]
    if unknown:
        raise ProviderError(
            f"Vercel asked for {len(unknown)} file(s) this deploy does not contain (e.g. {unknown[0]}).",
            hint="Re-run the deploy; if it repeats, re-run with --debug and report it.",
        )
    uploader.upload([by_sha[s] for s in dict.fromkeys(missing)])


def create_with_handshake(api: ApiClient, body: dict[str, Any], manifest: Manifest, uploader: Uploader,
                          params: dict[str, str] | None = None) -> dict[str, Any]:
    """``POST /v13/deployments``; upload what Vercel says is missing; post again."""
    for _ in range(MAX_HANDSHAKES):
        response = api.request("POST", "/v13/deployments", json=body, params=params or {}, expect={400})
        data = api.decode(response)
        if response.status_code != 400:
            return created(data)
        missing = missing_shas(data)
        if missing is None:
            raise api.translate(response, "POST", "/v13/deployments")
        upload_missing(manifest, missing, uploader)
    raise ProviderError(
        f"Vercel still reported missing files after {MAX_HANDSHAKES} uploads.",
        hint="Re-run the deploy; files already uploaded are not sent again.",
    )


def _coded(err: Any) -> str:
    """``message [code]`` of an ``{code, message}`` object."""
    if not isinstance(err, dict):
        return str(err)
    message, code = err.get("message"), err.get("code")
    return f"{message or code or 'no reason given'}{f' [{code}]' if code and message else ''}"


def _is_error_state(state: Any) -> bool:
    return isinstance(state, str) and (state == "ERROR" or state.endswith("_ERROR"))


def alias_failure(data: dict[str, Any]) -> str | None:
    """Why Vercel could not assign the deployment's aliases, or ``None``."""
    if data.get("aliasError"):
        return f"could not get its aliases assigned: {_coded(data['aliasError'])}"
    checks = data.get("checks") if isinstance(data.get("checks"), dict) else {}
    alias_check = checks.get("deployment-alias") if isinstance(checks, dict) else None
    if isinstance(alias_check, dict) and alias_check.get("state") == "failed":
        return "failed its deployment-alias check, so its aliases were not assigned"
    if data.get("checksConclusion") == "failed":
        return "failed its deployment checks, so its aliases were not assigned"
    return None


def failure(data: dict[str, Any]) -> str | None:
    """What went wrong, by every signal Vercel's client treats as failure, or ``None``:
    an ``error`` object, ``readyState``/``status`` ``ERROR``, ``*_ERROR`` or ``CANCELED``,
    ``aliasError``, a failed ``deployment-alias`` check or ``checksConclusion``."""
    if isinstance(data.get("error"), dict):
        return f"failed: {_coded(data['error'])}"
    for state in (data.get("readyState"), data.get("status"), data.get("state")):
        if _is_error_state(state):
            reason = data.get("errorMessage") or data.get("errorCode") or "no reason given"
            code = f" [{data['errorCode']}]" if data.get("errorCode") and data.get("errorMessage") else ""
            return f"ended in {state}: {reason}{code}"
        if state == "CANCELED":
            return f"ended in CANCELED: {data.get('errorMessage') or 'canceled'}"
    return alias_failure(data)


def needs_aliases(data: dict[str, Any]) -> bool:
    """A deployment with a target (production, staging) or listed aliases is usable once they are assigned."""
    return bool(data.get("target")) or bool(data.get("alias"))


def settled(data: dict[str, Any]) -> bool:
    """READY (and aliased when it has aliases to assign), or failed."""
    if failure(data) is not None:
        return True
    ready = "READY" in (data.get("readyState"), data.get("status"))
    return ready and (bool(data.get("aliasAssigned")) or not needs_aliases(data))


def wait_ready(api: ApiClient, deployment_id: str, sleep: Callable[[float], None] | None,
               timeout: float = 1200.0) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        data = api.json("GET", f"/v13/deployments/{deployment_id}")
        return data if isinstance(data, dict) else {}

    return poll_until(fetch, settled, what=f"Vercel deployment {deployment_id}",
                      interval=0.5, max_interval=5.0, timeout=timeout, sleep=sleep)


def https(url: str | None) -> str | None:
    if not url:
        return None
    return url if url.startswith(("http://", "https://")) else f"https://{url}"


def production_url(project: dict[str, Any]) -> str | None:
    """The project's production domain: the first alias of ``targets.production``."""
    targets = project.get("targets") or {}
    prod = targets.get("production") if isinstance(targets, dict) else None
    aliases = prod.get("alias") if isinstance(prod, dict) else None
    return https(str(aliases[0])) if isinstance(aliases, list) and aliases else None


def to_deployment(data: dict[str, Any], production_id: str | None = None,
                  production_domain: str | None = None) -> Deployment:
    """A ``Deployment`` from a v13 deployment or a v6 list item."""
    dep_id = str(data.get("id") or data.get("uid"))
    ready = str(data.get("readyState") or data.get("state") or "")
    created = data.get("createdAt") or data.get("created")
    url = https(data.get("url"))
    return Deployment(
        id=dep_id,
        state=STATE_MAP.get(ready, ready.lower() or "unknown"),
        url=url,
        health_url=url,
        production_url=production_domain,
        production=production_id is not None and production_id == dep_id,
        target=str(data.get("target") or "preview"),
        created_at=str(created) if created is not None else None,
        error=data.get("errorMessage"),
        extra={k: data[k] for k in ("inspectorUrl", "alias", "aliasAssigned", "readySubstate", "meta") if k in data},
    )


def raise_if_failed(data: dict[str, Any]) -> None:
    what = failure(data)
    if what is None:
        return
    url = https(data.get("url"))
    inspector = data.get("inspectorUrl")
    where = f" Deployment URL: {url}." if url else ""
    logs = f" Logs: {inspector}." if inspector else ""
    if alias_failure(data) == what:
        raise DeployFailed(
            f"Vercel deployment {data.get('id')} {what}.{where}{logs} Production was not switched to it.",
            hint=f"Check the project's domains in the Vercel dashboard (Settings -> Domains), then run "
                 f"`moai-adk promote {data.get('id')}` again.",
        )
    raise DeployFailed(
        f"Vercel deployment {data.get('id')} {what}.{where}{logs} Production was not changed.",
        hint="Fix the error above and run `moai-adk deploy` again.",
    )
