"""What the deploy pipeline records about an artifact, and reads back when promoting it.

Each deploy's audit entry (``.moai/audit/log.jsonl``) carries the snapshot digest
(``artifacts.digest``), the git commit of the project and whether the work tree was dirty; the
health check of the deployment is one more entry (``health-check``, result ``ok`` or ``failed``).
``[environments.<env>] requires`` is checked against these entries (deploy/promotion.py), and
``moai-adk status`` shows commit, time and author from them where a platform does not know.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import audit
from ..artifacts.digest import snapshot_digest
from ..artifacts.snapshot import Snapshot


def git_state(root: Path) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git work tree holding ``root``; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10,
                              check=False)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def start_git_state(root: Path) -> Callable[[], dict[str, Any] | None]:
    """Read ``git_state`` on a thread (``git status`` stats every tracked file: tens of ms in a big
    repository) while the deploy builds and uploads; the returned function waits for it."""
    box: list[dict[str, Any] | None] = [None]
    thread = threading.Thread(target=lambda: box.__setitem__(0, git_state(root)), name="moai-git-state", daemon=True)
    thread.start()

    def result() -> dict[str, Any] | None:
        thread.join()
        return box[0]
    return result


def deploy_details(root: Path, snap: Snapshot, algorithm: str,
                   git: Callable[[], dict[str, Any] | None] | None = None) -> dict[str, Any]:
    """The digest and git state to record with a deploy event (``git``: from ``start_git_state``)."""
    return {"digest": snapshot_digest(snap.manifest(algorithm), algorithm),
            "git": git() if git is not None else git_state(root)}


def record_health(root: Path, platform: str, environment: str, deployment: str, digest: str | None, url: str,
                  ok: bool, detail: str | None = None) -> None:
    audit.record_event(root, {"event": "health-check", "platform": platform, "environment": environment,
                              "deployment": deployment, "digest": digest, "url": url,
                              "result": "ok" if ok else "failed", "detail": detail})


def audit_entries(root: Path) -> list[dict[str, Any]]:
    return audit.read_entries(root)


def deploy_record(root: Path, platform: str, deployment: str,
                  entries: Iterable[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The newest audit entry that deployed ``deployment`` on ``platform`` (else one that promoted it into
    being, as Vercel's promote of a preview deployment does)."""
    found: dict[str, dict[str, Any]] = {}
    for e in entries if entries is not None else audit_entries(root):
        details = e.get("details") or {}
        if (e.get("action") in ("deploy", "promote") and e.get("target") == deployment
                and details.get("platform") == platform and details.get("digest")):
            found[str(e["action"])] = e
    return found.get("deploy") or found.get("promote")


def healthy_in(root: Path, environment: str, digest: str,
               entries: Iterable[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The newest passing health check of an artifact with ``digest`` in ``environment``, or None."""
    found = None
    for e in entries if entries is not None else audit_entries(root):
        details = e.get("details") or {}
        if e.get("action") == "health-check" and e.get("environment") == environment and \
                details.get("digest") == digest:
            found = e if e.get("result") == "ok" else None  # a later failure of the same artifact counts
    return found
