"""Bearer-token auth for the deploy API: who is calling (401) and may they do this here (403).

Tokens carry a role, a scope (sites, environments), an expiry and a name (``tokens.py``); what
each role may do is the matrix of ``moai_adk.roles``. Every route of ``api.py`` declares a
``Rule``: what kind of thing it does (read, change, admin), in words, and where the environment
comes from; the site is the ``{site}`` path parameter or the site of the ``{deploy}`` one. A
refusal (401 or 403) is written to the platform's audit log (``audit_log.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..roles import ADMIN, CHANGE, RANK, READ, Grant, refusal, roles_from
from .apierror import ApiError
from .tokens import TokenRow, TokenStore

__all__ = ["ADMIN", "CHANGE", "READ", "Rule", "check", "identify", "identify_cached", "permit"]

_NO_TOKEN = ("this API needs 'Authorization: Bearer <token>' (MOAI_PLATFORM_TOKEN, or the token in the platform "
             "credentials file)")


@dataclass(frozen=True)
class Rule:
    """What a route does: ``kind`` (READ, CHANGE, ADMIN), ``what`` in words ("promote a deployment"),
    ``env``: where its environment comes from ("body": the request's ``environment``, default
    preview; "deploy": the deployment's; "path": the ``{environment}`` path parameter; a literal
    environment name such as "production"; None: none), ``all_sites``: it reaches every site."""

    kind: str
    what: str
    env: str | None = None
    all_sites: bool = False
    audit: str | None = None  # the audit log's action name when the route changes something


def _token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _valid(row: TokenRow | None) -> TokenRow:
    if row is None:
        raise ApiError(401, "bad_token", "the bearer token is not known to this platform "
                       "(check MOAI_PLATFORM_TOKEN or the platform credentials file)")
    g = row.grant
    if row.revoked_at is not None:
        raise ApiError(401, "revoked_token", f"the bearer token {g.name!r} (id {g.id}) was revoked at "
                       f"{row.revoked_at}; ask an admin of this platform for a new one "
                       "(`moai-adk access grant`)", token_id=g.id)
    if g.expired():
        expired = row.public()["expires_at"]
        raise ApiError(401, "expired_token", f"the bearer token {g.name!r} (id {g.id}) expired at {expired}; "
                       "ask an admin of this platform for a new one (`moai-adk access grant ... --expires`)",
                       token_id=g.id)
    return row


def identify_cached(tokens: TokenStore, header: str) -> TokenRow | None:
    """The caller from the cache only (no I/O, for the event loop); None means: ask ``identify``."""
    token = _token(header)
    if token is None:
        return None
    row = tokens.cached(_digest(token))
    return _valid(row) if row is not None else None


def identify(tokens: TokenStore, header: str) -> TokenRow:
    """The caller of a request from its Authorization header; 401 when missing, unknown, revoked, expired."""
    token = _token(header)
    if token is None:
        raise ApiError(401, "no_token", _NO_TOKEN)
    return _valid(tokens.lookup(_digest(token)))


def permit(grant: Grant, rule: Rule, site: str | None, environment: str | None) -> None:
    """403 when ``grant`` may not do what ``rule`` says for ``site`` and ``environment``."""
    why = refusal(grant, rule.kind, what=rule.what, site=site, environment=environment, all_sites=rule.all_sites)
    if why is not None:
        raise ApiError(403, "forbidden", why)


def check(tokens: TokenStore, header: str, role: str) -> TokenRow:
    """A route not tied to a site (blob uploads): a valid token of at least ``role``."""
    row = identify(tokens, header)
    if RANK[row.grant.role] < RANK[role]:
        raise ApiError(403, "forbidden", f"a {row.grant.role} token cannot do this; it needs a "
                       f"{roles_from(role)} token", token_id=row.grant.id)
    return row
