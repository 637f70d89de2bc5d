"""Bearer-token auth for the deploy API.

Tokens are random strings (``moai_...``) stored as SHA-256 hashes with a role:

* ``viewer``   read sites, deploys, env var names;
* ``deployer`` everything a deploy needs: sites, deploys, blobs, promote,
  rollback, traffic, env vars;
* ``admin``    all of the above plus minting tokens.
"""

from __future__ import annotations

from starlette.requests import Request

from .service import ApiError, Platform

RANK = {"viewer": 0, "deployer": 1, "admin": 2}


def require(platform: Platform, request: Request, role: str) -> str:
    """The caller's role, or ``ApiError`` 401 (no/unknown token) / 403 (role too low)."""
    return check(platform, request.headers.get("authorization", ""), role)


def check(platform: Platform, header: str, role: str) -> str:
    """Like ``require`` but from the raw Authorization header value."""
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    if token is None:
        raise ApiError(401, "no_token", "this API needs 'Authorization: Bearer <token>' "
                       "(MOAI_PLATFORM_TOKEN, or the token in the platform credentials file)")
    have = platform.role_for(token)
    if have is None:
        raise ApiError(401, "bad_token", "the bearer token is not known to this platform "
                       "(check MOAI_PLATFORM_TOKEN or the platform credentials file)")
    if RANK[have] < RANK[role]:
        raise ApiError(403, "forbidden", f"a {have} token cannot do this; it needs a {role} token")
    return have
