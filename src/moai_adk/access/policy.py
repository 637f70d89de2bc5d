"""The project's access policy for the cloud platforms: ``.moai/access.json``.

Vercel, Netlify, Firebase and Supabase keep their own members and roles; moai-adk cannot enforce
anything there. The policy is the project's own rule of who may change what through moai-adk,
checked by the CLI before any request is sent (a guard against mistakes, not a security
boundary: whoever holds the platform's token can still call its API directly)::

    {"version": 1, "grants": [
      {"who": "ana@example.com", "role": "deployer", "platform": "vercel",
       "environments": ["staging", "production"], "expires_at": null, "granted_by": "...", "granted_at": "..."}]}

``environments`` null means all; ``platform`` "*" means every cloud platform. With no policy file
(or no grants in it) every change is allowed: a project of one person needs none. The caller is
``MOAI_ACTOR`` when set, else ``git config user.email``, else ``$USER``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..audit.log import actor
from ..errors import StateError, UsageError
from ..roles import ROLES, Grant

POLICY = Path(".moai") / "access.json"
ACTOR_ENV = "MOAI_ACTOR"
CLOUD = ("vercel", "netlify", "firebase", "supabase")


def policy_path(root: Path) -> Path:
    return root / POLICY


def identity(root: Path, environ: Mapping[str, str]) -> str:
    """Who runs this command, as the policy names people."""
    return environ.get(ACTOR_ENV) or actor(root, environ)


def load(root: Path) -> list[dict[str, Any]]:
    """The grants of the policy ([] when there is none); StateError naming the file when it is broken."""
    path = policy_path(root)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        grants = data["grants"]
        if not isinstance(grants, list) or not all(isinstance(g, dict) and g.get("role") in ROLES
                                                   and isinstance(g.get("who"), str) for g in grants):
            raise ValueError("bad grants")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StateError(f"The access policy {path} is not valid JSON of the form "
                         '{"version": 1, "grants": [{"who", "role", "platform", "environments"}, ...]}.',
                         hint=f"Restore it from version control (git checkout -- {POLICY}), or delete it to allow "
                              "everyone everything.") from exc
    return list(grants)


def _save(root: Path, grants: list[dict[str, Any]]) -> None:
    path = policy_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "grants": grants}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def as_grant(entry: Mapping[str, Any]) -> Grant:
    envs = entry.get("environments")
    return Grant(name=str(entry["who"]), role=str(entry["role"]),
                 environments=frozenset(envs) if isinstance(envs, list) else None,
                 expires_at=float(entry["expires_at"]) if entry.get("expires_at") else None)


def grants_for(root: Path, who: str, platform: str) -> list[Grant] | None:
    """The grants of ``who`` on ``platform``; None when the project has no policy (all allowed)."""
    entries = load(root)
    if not entries:
        return None
    return [as_grant(e) for e in entries if e["who"] == who and e.get("platform", "*") in ("*", platform)]


def check_platform(platform: str) -> str:
    if platform not in (*CLOUD, "*"):
        raise UsageError(f"--platform {platform}: the access policy covers {', '.join(CLOUD)} (or '*' for all); "
                         "on the local platform, access is a token (leave --platform out, or --platform local).")
    return platform


def add(root: Path, who: str, role: str, platform: str, environments: list[str] | None,
        expires_at: float | None, by: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Grant ``role`` to ``who`` (replacing an earlier grant of theirs for the same platform)."""
    entry = {"who": who, "role": role, "platform": check_platform(platform),
             "environments": sorted(set(environments)) if environments else None, "expires_at": expires_at,
             "granted_by": by, "granted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    grants = [g for g in load(root) if not (g["who"] == who and g.get("platform", "*") == platform)]
    if not dry_run:
        _save(root, [*grants, entry])
    return entry


def remove(root: Path, who: str, platform: str | None, *, dry_run: bool = False) -> list[dict[str, Any]]:
    """Remove the grants of ``who`` (on ``platform``, or all); UsageError when there is none."""
    grants = load(root)
    gone = [g for g in grants if g["who"] == who and (platform is None or g.get("platform", "*") == platform)]
    if not gone:
        known = sorted({g["who"] for g in grants})
        raise UsageError(f"{policy_path(root)} grants nothing to {who!r}" + (f" on {platform}" if platform else ""),
                         hint="`moai-adk access list` shows the grants" + (f" (of {', '.join(known)})" if known else ""))
    if not dry_run:
        _save(root, [g for g in grants if g not in gone])
    return gone
