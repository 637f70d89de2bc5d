"""Who may do what, per environment: the one role matrix of moai-adk.

The local platform's API (``platform/auth.py``) enforces it on every request; the CLI
(``moai_adk.access``) applies the same rules before it sends a change to any platform, so a
refusal reads the same from both sides.

Roles, lowest first:

* ``viewer``    read sites, deployments and the names of env vars, in its scope;
* ``developer`` also create sites and deployments, and change env vars, in environments that are
  not protected (``production`` and ``staging`` are protected), in its scope;
* ``deployer``  also do that in protected environments, and move production (promote, rollback,
  traffic split), in its scope;
* ``admin``     everything in its scope, plus tokens (mint, list, revoke) and the platform's audit log.

A grant's scope is a set of sites and a set of environments (``None``: all of them). A change in
environment ``E`` of site ``S`` needs a role high enough for ``E`` *and* ``S``, ``E`` in the scope.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

ROLES = ("viewer", "developer", "deployer", "admin")
RANK = {role: n for n, role in enumerate(ROLES)}
PROTECTED = frozenset({"production", "staging"})

READ, CHANGE, ADMIN = "read", "change", "admin"  # what kind of thing a request does


def needed(kind: str, environment: str | None) -> str:
    """The lowest role that may do ``kind`` in ``environment`` (None: not tied to one environment)."""
    if kind == READ:
        return "viewer"
    if kind == ADMIN:
        return "admin"
    if environment is not None and environment not in PROTECTED:
        return "developer"
    return "deployer"


def roles_from(role: str) -> str:
    """``"deployer or admin"``: the roles at or above ``role``, in words."""
    above = [r for r in ROLES if RANK[r] >= RANK[role]]
    return " or ".join(above) if len(above) <= 2 else ", ".join(above[:-1]) + " or " + above[-1]


def _names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


@dataclass(frozen=True)
class Grant:
    """What a token (local platform) or a person (a project's access policy) may do."""

    name: str
    role: str
    sites: frozenset[str] | None = None  # None: every site
    environments: frozenset[str] | None = None  # None: every environment
    expires_at: float | None = None  # epoch seconds; None: never
    id: str = ""

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at

    def describe(self) -> str:
        """``"deployer for staging"``, ``"admin"``, ``"viewer for site blog"``."""
        parts = [self.role]
        if self.environments is not None:
            parts.append(f"for {_names(self.environments) or 'no environment'}")
        if self.sites is not None:
            parts.append(f"on site{'s' if len(self.sites) != 1 else ''} {_names(self.sites) or '(none)'}")
        return " ".join(parts)

    def covers(self, other: Grant) -> bool:
        """Whether this grant's scope and role include all of ``other``'s (minting may not widen)."""
        if RANK[other.role] > RANK[self.role]:
            return False
        for mine, theirs in ((self.sites, other.sites), (self.environments, other.environments)):
            if mine is not None and (theirs is None or not theirs <= mine):
                return False
        return True


def refusal(grant: Grant, kind: str, *, what: str, site: str | None = None,
            environment: str | None = None, all_sites: bool = False) -> str | None:
    """Why ``grant`` may not ``what`` (a phrase: "promote a deployment"), or None when it may.

    ``all_sites``: the action reaches every site (cleanup, the token list), so only a grant for
    every site may do it."""
    who = f"{grant.name!r} ({grant.describe()})" if grant.name else f"a {grant.describe()} token"
    need = needed(kind, environment)
    where = f" in {environment}" if environment else ""
    if RANK[grant.role] < RANK[need]:
        return f"{who} cannot {what}{where}: that needs a {roles_from(need)} role" + (
            f" for {environment}" if environment and kind == CHANGE else "")
    if all_sites and grant.sites is not None:
        return f"{who} cannot {what}: that reaches every site, and this grant is limited to some"
    if site is not None and grant.sites is not None and site not in grant.sites:
        return f"{who} cannot {what} on site {site!r}: it is limited to {_names(grant.sites)}"
    if environment is not None and grant.environments is not None and environment not in grant.environments:
        return (f"{who} cannot {what}{where}: it is limited to {_names(grant.environments)}; "
                f"that needs a {roles_from(need)} role for {environment}")
    return None


def parse_duration(text: str) -> int:
    """Seconds in ``"30d"``, ``"12h"``, ``"45m"``, ``"90s"`` or ``"2w"``; ValueError otherwise."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    value = text.strip().lower()
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit() or int(value[:-1]) <= 0:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 45m or 2w")
    return int(value[:-1]) * units[value[-1]]
