"""``access grant|list|revoke``: tokens on the local platform, the policy for the cloud platforms.

Every grant and revocation (not a dry run) goes to the project's audit log: ``token mint`` /
``token revoke`` for the local platform (the token's id, name, role and scope, never its value),
``access change`` for the policy.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import audit
from ..errors import AccessDenied, UsageError
from ..providers.base import Provider
from ..roles import ROLES, Grant, parse_duration
from . import policy

_API = "/tokens"


def expiry(text: str | None) -> int | None:
    """``--expires 30d`` in seconds (None: never); UsageError naming the flag."""
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--expires {text}: {exc}.", hint="Use a number and a unit: 90m, 12h, 30d, 2w.") from exc


def _role(role: str) -> str:
    if role not in ROLES:
        raise UsageError(f"Unknown role {role!r}.", hint=f"Use one of: {', '.join(ROLES)}.")
    return role


def _local(provider: Provider) -> Any:
    from ..providers.local import LocalProvider

    return provider if isinstance(provider, LocalProvider) else None


def grant(provider: Provider, root: Path, environ: Mapping[str, str], who: str, role: str,
          environments: list[str], sites: list[str] | None, expires: str | None, *,
          dry_run: bool = False) -> dict[str, Any]:
    """Mint a token named ``who`` (local platform) or write the grant into the policy (cloud)."""
    _role(role)
    seconds = expiry(expires)
    envs = sorted(set(environments)) or None
    local = _local(provider)
    if local is not None:
        scope_sites = sorted(set(sites)) if sites else [local.site]
        body = {"role": role, "name": who, "sites": scope_sites, "environments": envs, "expires_in": seconds}
        if dry_run:
            return {"dry_run": True, "platform": "local", "url": local.url, **body}
        data = dict(local._json("POST", _API, json=body))
        audit.record(root, "token mint", target=data.get("id"), environment=",".join(envs) if envs else None,
                     details={"platform": "local", "name": who, "role": role, "sites": scope_sites,
                              "environments": envs, "expires_at": data.get("expires_at")}, environ=environ)
        return {"platform": "local", "url": local.url, **data}
    name = policy.check_platform(provider.name)
    _may_administer(root, environ, name)
    until = time.time() + seconds if seconds else None
    entry = policy.add(root, who, role, name, envs, until, policy.identity(root, environ), dry_run=dry_run)
    if not dry_run:
        audit.record(root, "access change", target=who, environment=",".join(envs) if envs else None,
                     details={"op": "grant", "platform": name, "role": role, "environments": envs,
                              "expires_at": until}, environ=environ)
    return {"platform": name, "policy": str(policy.policy_path(root)), "dry_run": dry_run, **entry}


def _may_administer(root: Path, environ: Mapping[str, str], platform: str) -> None:
    """Once a policy has grants, only its admins change it (the first grant needs nobody's leave)."""
    who = policy.identity(root, environ)
    grants = policy.grants_for(root, who, platform)
    if grants is None:
        return
    if not any(g.role == "admin" and not g.expired() for g in grants):
        raise AccessDenied(f"{who!r} is not an admin of {platform} in {policy.POLICY}, so they may not change who "
                           "may do what there.",
                           hint="Ask an admin of the project to run the command, or set MOAI_ACTOR if you are one.")


def listing(provider: Provider, root: Path) -> dict[str, Any]:
    local = _local(provider)
    if local is not None:
        return {"platform": "local", "url": local.url, "tokens": local._json("GET", _API)["tokens"]}
    entries = [e for e in policy.load(root) if e.get("platform", "*") in ("*", provider.name)]
    for e in entries:
        e["expired"] = policy.as_grant(e).expired()
    return {"platform": provider.name, "policy": str(policy.policy_path(root)), "grants": entries}


def revoke(provider: Provider, root: Path, environ: Mapping[str, str], ref: str, *,
           dry_run: bool = False) -> dict[str, Any]:
    local = _local(provider)
    if local is not None:
        tokens = local._json("GET", _API)["tokens"]
        found = [t for t in tokens if t["id"] == ref] or [t for t in tokens if t["name"] == ref and not t["revoked_at"]]
        if not found:
            raise UsageError(f"The local platform at {local.url} has no valid token with the id or name {ref!r}.",
                             hint="`moai-adk access list --platform local` shows the tokens.")
        if dry_run:
            return {"dry_run": True, "platform": "local", "revoked": found}
        gone = [local._json("DELETE", f"{_API}/{t['id']}") for t in found]
        for t in gone:
            audit.record(root, "token revoke", target=t["id"], details={"platform": "local", "name": t["name"],
                                                                         "role": t["role"]}, environ=environ)
        return {"platform": "local", "revoked": gone}
    name = policy.check_platform(provider.name)
    _may_administer(root, environ, name)
    gone = policy.remove(root, ref, name, dry_run=dry_run)
    if not dry_run:
        audit.record(root, "access change", target=ref, details={"op": "revoke", "platform": name}, environ=environ)
    return {"platform": name, "dry_run": dry_run, "revoked": gone}


__all__ = ["Grant", "expiry", "grant", "listing", "revoke"]
