"""The platform's API tokens: role, scope (sites, environments), expiry, name; mint, list, revoke.

A token is ``moai_`` + 43 random characters, stored only as its SHA-256 in the ``tokens`` table.
Columns added to that table (older data folders are migrated in place; a token without scope
columns is what it always was: its role on every site and environment):

* ``sites``, ``environments``: JSON lists, NULL for all;
* ``expires_at``: epoch seconds, NULL for never;
* ``revoked_at``: ISO time, NULL while valid (revoked rows stay, so a revoked token is told so);
* ``last_used``: ISO time, written at most once a minute per token.

Lookups go through a small in-memory cache (``CACHE_SIZE`` entries, each trusted for
``CACHE_TTL`` seconds so another process's revocation is seen within that time); revoking in this
process drops the token's entry at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..roles import ROLES, Grant
from .apierror import ApiError
from .meta import MetaDB, now_iso

CACHE_SIZE = 1024
CACHE_TTL = 10.0  # seconds a cached token is trusted before it is read again
TOUCH_EVERY = 60.0  # seconds between two writes of a token's last_used
NAME_RE = re.compile(r"^[^\x00-\x20\x7f][^\x00-\x1f\x7f]{0,127}$")
SCOPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")  # a site name or an environment name
MAX_SCOPE = 64  # sites or environments one token may name
_COLUMNS = {"sites": "TEXT", "environments": "TEXT", "expires_at": "REAL", "revoked_at": "TEXT", "last_used": "TEXT"}


@dataclass(frozen=True)
class TokenRow:
    grant: Grant
    created_at: str
    last_used: str | None
    revoked_at: str | None

    def public(self) -> dict[str, Any]:
        """What ``GET /tokens`` shows: never the token or its hash."""
        g = self.grant
        return {"id": g.id, "name": g.name, "role": g.role,
                "sites": sorted(g.sites) if g.sites is not None else None,
                "environments": sorted(g.environments) if g.environments is not None else None,
                "expires_at": _iso(g.expires_at), "expired": g.expired(), "created_at": self.created_at,
                "last_used": self.last_used, "revoked_at": self.revoked_at}


def _iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _scope(value: object, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and SCOPE_RE.match(v) for v in value) \
            or not value or len(value) > MAX_SCOPE:
        raise ApiError(400, "bad_scope", f"'{what}' must be null (all) or a list of 1-{MAX_SCOPE} names of "
                       "letters, digits, '.', '_' or '-'")
    return frozenset(value)


def _loads(text: str | None) -> frozenset[str] | None:
    return None if text is None else frozenset(json.loads(text))


def _dumps(items: frozenset[str] | None) -> str | None:
    return None if items is None else json.dumps(sorted(items))


class TokenStore:
    """Tokens in the platform's database, with the lookup cache the API's check uses."""

    def __init__(self, meta: MetaDB) -> None:
        self.meta = meta
        have = {r[1] for r in meta.query("PRAGMA table_info(tokens)")}
        for column, kind in _COLUMNS.items():
            if column not in have:
                with meta.tx() as c:
                    c.execute(f"ALTER TABLE tokens ADD COLUMN {column} {kind}")
        self._cache: OrderedDict[str, tuple[float, TokenRow]] = OrderedDict()
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- the check's path ---------------------------------------------------------
    def cached(self, digest: str) -> TokenRow | None:
        """The token with this hash if the cache holds it (no I/O: safe on the event loop)."""
        with self._lock:
            hit = self._cache.get(digest)
            if hit is None or time.monotonic() - hit[0] > CACHE_TTL:
                return None
            self._cache.move_to_end(digest)
            return hit[1]

    def lookup(self, digest: str) -> TokenRow | None:
        """The token with this hash (cache, else one indexed read), None when unknown."""
        row = self.cached(digest)
        if row is not None:
            return row
        rows = self.meta.query("SELECT id, label, role, sites, environments, expires_at, created_at, last_used,"
                               " revoked_at FROM tokens WHERE hash = ?", (digest,))
        if not rows:
            return None
        row = _token_row(rows[0])
        with self._lock:
            self._cache[digest] = (time.monotonic(), row)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return row

    def touch_due(self, token_id: str) -> bool:
        """Whether ``last_used`` of this token is due to be written (then it counts as written)."""
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(token_id, -TOUCH_EVERY) < TOUCH_EVERY:
                return False
            self._touched[token_id] = now
            if len(self._touched) > CACHE_SIZE:
                self._touched.pop(next(iter(self._touched)))
            return True

    def touch(self, token_id: str) -> None:
        with self.meta.tx() as c:
            c.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (now_iso(), token_id))

    # -- administration -----------------------------------------------------------
    def mint(self, role: object, name: object, *, sites: object = None, environments: object = None,
             expires_in: object = None, minter: Grant | None = None) -> tuple[str, TokenRow]:
        """A new token (shown once) and its row; 400 on bad input, 403 when it would outrank ``minter``."""
        if role not in ROLES:
            raise ApiError(400, "bad_role", f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ApiError(400, "bad_name", f"token name {name!r} must be 1-128 characters without control characters, "
                           "not starting with a space (who or what uses it: a person's e-mail, 'ci')")
        expires_at: float | None = None
        if expires_in is not None:
            if not isinstance(expires_in, int) or isinstance(expires_in, bool) or not 0 < expires_in <= 10 * 366 * 86400:
                raise ApiError(400, "bad_expiry", "'expires_in' must be a number of seconds from 1 to ten years, "
                               "or null for a token that does not expire")
            expires_at = float(int(time.time()) + expires_in)
        grant = Grant(name=name, role=str(role), sites=_scope(sites, "sites"),
                      environments=_scope(environments, "environments"), expires_at=expires_at,
                      id=secrets.token_hex(8))
        if minter is not None and not minter.covers(grant):
            raise ApiError(403, "forbidden", f"{minter.name!r} ({minter.describe()}) cannot mint a token for "
                           f"{grant.describe()}: a token may not reach further than the one that mints it")
        token = "moai_" + secrets.token_urlsafe(32)
        created = now_iso()
        with self.meta.tx() as c:
            c.execute("INSERT INTO tokens (id, hash, role, label, created_at, sites, environments, expires_at)"
                      " VALUES (?,?,?,?,?,?,?,?)",
                      (grant.id, hashlib.sha256(token.encode()).hexdigest(), grant.role, name, created, _dumps(grant.sites),
                       _dumps(grant.environments), expires_at))
        return token, TokenRow(grant, created, None, None)

    def rows(self) -> list[TokenRow]:
        return [_token_row(r) for r in self.meta.query(
            "SELECT id, label, role, sites, environments, expires_at, created_at, last_used, revoked_at"
            " FROM tokens ORDER BY created_at, id")]

    def find(self, ref: str) -> TokenRow:
        """The token whose id, else whose name, is ``ref`` (404 when none, 409 when a name is ambiguous)."""
        every = self.rows()
        by_id = [t for t in every if t.grant.id == ref]
        named = by_id or [t for t in every if t.grant.name == ref and t.revoked_at is None]
        if not named:
            raise ApiError(404, "no_token", f"no token has the id or name {ref!r} (the token list shows them)")
        if len(named) > 1:
            raise ApiError(409, "ambiguous", f"{len(named)} valid tokens are named {ref!r}; revoke one by its id "
                           f"({', '.join(t.grant.id for t in named)})")
        return named[0]

    def revoke(self, ref: str) -> TokenRow:
        row = self.find(ref)
        if row.revoked_at is None:
            with self.meta.tx() as c:
                c.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (now_iso(), row.grant.id))
        with self._lock:  # drop it from the cache at once
            for digest in [d for d, (_, r) in self._cache.items() if r.grant.id == row.grant.id]:
                del self._cache[digest]
        return self.find(row.grant.id)


def _token_row(r: tuple[Any, ...]) -> TokenRow:
    tid, name, role, sites, envs, expires_at, created, last_used, revoked = r
    grant = Grant(name=str(name or ""), role=str(role), sites=_loads(sites), environments=_loads(envs),
                  expires_at=float(expires_at) if expires_at is not None else None, id=str(tid))
    return TokenRow(grant, str(created), last_used, revoked)
