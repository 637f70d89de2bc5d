"""The local platform's core: sites, deploys, blobs, production pointers, env.

``Platform`` is plain synchronous Python used by the API (``api.py``) and the
serving path (``serving.py``). Failures a client can cause raise ``ApiError``
(HTTP status + machine code + one clear sentence), which the API renders as
``{"error": {"code", "message", ...}}``.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .apierror import ApiError as ApiError  # re-exported: the API modules import it from here
from .audit_log import ServerAudit
from .edge import Edge
from .environments import EnvAliases
from .indexes import DEFAULT_BUDGET, IndexNotLoaded, ViewCache, build_view
from .manifests import apply_delta, check_manifest
from .meta import DeployRow, MetaDB
from .rules import RulesError, parse_rules
from .store import SHA256_RE, BlobHashMismatch, BlobStore, BlobWriter, is_compressible
from .tokens import TokenStore
from .views import BlobCache, DeployView, content_type

SITE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
DEPLOY_ID_RE = re.compile(r"^[a-z][a-z0-9]{9}$")
ROLES = ("admin", "deployer", "developer", "viewer")
UPLOAD_TTL = 24 * 3600  # seconds an unfinished deployment stays "uploading" before it is "expired"
VARIANT_THREADS = min(4, os.cpu_count() or 1)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class SiteState:
    """What serves a site: the production pointer and an optional weighted split."""

    production: str | None
    split: tuple[tuple[int, str], ...] | None = None  # (cumulative upper bound of bucket 0-99, deploy id)

    def pick(self, bucket: int) -> str | None:
        if self.split is None:
            return self.production
        for bound, deploy_id in self.split:
            if bucket < bound:
                return deploy_id
        return self.production


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_deploy_id() -> str:
    return secrets.choice(_ALPHABET[:26]) + "".join(secrets.choice(_ALPHABET) for _ in range(9))


def split_table(weights: dict[str, int]) -> tuple[tuple[int, str], ...]:
    table: list[tuple[int, str]] = []
    total = 0
    for deploy_id, weight in weights.items():  # buckets in the order given: {stable: 90, canary: 10}
        if weight > 0:
            total += weight
            table.append((total, deploy_id))
    return tuple(table)


class Platform:
    """State of one platform instance (one data folder)."""

    def __init__(self, data_dir: Path, *, cache_bytes: int = 64 << 20, domain: str = "localhost",
                 edge: bool = False, upload_ttl: int = UPLOAD_TTL, index_bytes: int = DEFAULT_BUDGET) -> None:
        self.data_dir = data_dir
        self.upload_ttl = upload_ttl
        self.domain = domain
        self.store = BlobStore(data_dir / "blobs")
        self.meta = MetaDB(data_dir / "meta.sqlite3")
        self.tokens = TokenStore(self.meta)  # scoped tokens and their lookup cache (tokens.py)
        self.audit = ServerAudit(data_dir)  # the API's audit log (audit_log.py)
        self.blobs = BlobCache(self.store, cache_bytes)
        self.views = ViewCache(self._load_view, index_bytes)  # deployment indexes (indexes.py)
        self.edge: Edge | None = Edge(data_dir, self.store) if edge else None  # the nginx edge's trees (edge.py)
        self._finalize_locks: dict[str, threading.Lock] = {}  # per site: a big finalize holds up only its site
        self._locks_lock = threading.Lock()
        self._created: dict[str, dict[str, list[Any]]] = {}  # file maps of the last deploys created here
        self._finalized: dict[str, tuple[str, dict[str, list[Any]], dict[str, Any]]] = {}  # site -> last finalized
        self._switch_lock = threading.RLock()  # DB pointer and in-memory pointer change together
        self.sites: dict[str, SiteState] = {}
        for site in self.meta.sites():
            self._set_state(site["name"], site["production"], site["traffic"])
        self.envs = EnvAliases(self)  # environment aliases: staging -> a ready deployment (environments.py)

    def close(self) -> None:
        self.meta.close()

    # -- tokens -----------------------------------------------------------------
    def create_token(self, role: str, label: str = "") -> str:
        if role not in ROLES:
            raise ApiError(400, "bad_role", f"role must be one of {', '.join(ROLES)}, not {role!r}")
        token = "moai_" + secrets.token_urlsafe(32)
        self.meta.add_token(secrets.token_hex(8), hash_token(token), role, label)
        return token

    def role_for(self, token: str) -> str | None:
        """The role of a valid (known, not revoked, not expired) token, else None."""
        row = self.tokens.lookup(hash_token(token))
        if row is None or row.revoked_at is not None or row.grant.expired():
            return None
        return row.grant.role

    def ensure_admin_token(self, known: str | None) -> str | None:
        """A new admin token unless ``known`` is already an admin token here."""
        if known and self.role_for(known) == "admin":
            return None
        return self.create_token("admin", "created on first start")

    # -- sites ------------------------------------------------------------------
    def create_site(self, name: object) -> tuple[dict[str, Any], bool]:
        if not isinstance(name, str) or not SITE_RE.match(name):
            raise ApiError(400, "bad_site_name",
                           f"site name {name!r} must be 1-63 lowercase letters, digits or '-' "
                           "(a DNS label: it becomes <site>.localhost)")
        created = self.meta.ensure_site(name)
        if name not in self.sites:
            self._set_state(name, None, None)
        return self.site(name), created

    def site(self, name: str) -> dict[str, Any]:
        info = self.meta.site(name)
        if info is None:
            raise ApiError(404, "no_site", f"there is no site named {name!r} yet (the first deploy to it "
                           "creates it)")
        return info

    def _set_state(self, site: str, production: str | None, weights: dict[str, int] | None) -> None:
        self.sites[site] = SiteState(production, split_table(weights) if weights else None)

    # -- deploys ----------------------------------------------------------------
    def create_deploy(self, site: str, body: dict[str, Any]) -> tuple[DeployRow, list[str]]:
        """A new deploy from a full manifest (``files``) or a delta against a ready deploy of the
        site (``parent``, ``changes``, ``removed``, ``file_count``); returns it and the hashes the
        store lacks. A delta's unchanged entries keep what the parent's finalize recorded."""
        self.site(site)
        files: dict[str, list[Any]] = {}
        if body.get("parent") is not None:
            parent = body["parent"]
            row = self.deploy(parent) if isinstance(parent, str) else None
            if row is not None and (row.site != site or row.state != "ready"):
                raise ApiError(409, "bad_parent", f"deploy {parent} is not a ready deploy of site {site!r}; "
                               "send the full manifest", parent=parent)
            files, changed = apply_delta(body, lambda: self._finalized_map(parent))
        else:
            full = body.get("files")
            if not isinstance(full, dict) or not full:
                raise ApiError(400, "bad_manifest", "'files' must be a non-empty object {path: sha256}")
            changed = full
        hashes = check_manifest(changed)
        files.update((p, [sha]) for p, sha in changed.items())
        meta = body.get("meta") or {}
        environment = body.get("environment") or "preview"
        if not isinstance(meta, dict) or not isinstance(environment, str) or not ENVIRONMENT_RE.match(environment):
            raise ApiError(400, "bad_request", "'meta' must be an object and 'environment' a short name of letters, digits, '.', '_' or '-'")
        deploy_id = new_deploy_id()
        self.meta.create_deploy(deploy_id, site, environment, {str(k): str(v) for k, v in meta.items()}, files)
        with self._locks_lock:  # its finalize, usually next, needs not decode the map again
            self._created[deploy_id] = files
            while len(self._created) > 4:
                self._created.pop(next(iter(self._created)))
        row = self.deploy(deploy_id)
        return row, self.store.missing(hashes)

    def deploy(self, deploy_id: str) -> DeployRow:
        row = self.meta.deploy(deploy_id) if DEPLOY_ID_RE.match(deploy_id) else None
        if row is None:
            raise ApiError(404, "no_deploy", f"there is no deploy {deploy_id!r}", deploy_id=deploy_id)
        return self._mark(row)

    def deploys(self, site: str, limit: int) -> list[DeployRow]:
        self.site(site)
        return [self._mark(r) for r in self.meta.deploys(site, max(1, min(limit, 1000)))]

    def expired(self, state: str, created_at: str, now: float | None = None) -> bool:
        """An unfinished deployment older than ``upload_ttl`` (an interrupted deploy)."""
        if state != "uploading":
            return False
        try:
            created = calendar.timegm(time.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return False
        return (now if now is not None else time.time()) - created >= self.upload_ttl

    def _mark(self, row: DeployRow) -> DeployRow:
        return replace(row, state="expired") if self.expired(row.state, row.created_at) else row
    def put_blob(self, sha: str, data: bytes) -> bool:
        if not SHA256_RE.match(sha):
            raise ApiError(400, "bad_hash", f"blob name {sha!r} is not a lowercase hex sha256")
        try:
            return self.store.put(sha, data)
        except BlobHashMismatch as exc:
            raise ApiError(422, "hash_mismatch", f"blob {sha}: {exc}; the file changed while uploading or "
                           "the upload was corrupted", expected=exc.expected, actual=exc.actual) from exc

    def commit_blob(self, writer: BlobWriter) -> bool:
        """Store a fully received upload (``BlobWriter.commit``); 422 when its bytes hash differently."""
        try:
            return writer.commit()
        except BlobHashMismatch as exc:
            raise ApiError(422, "hash_mismatch", f"blob {exc.expected}: {exc}; the file changed while uploading "
                           "or the upload was corrupted", expected=exc.expected, actual=exc.actual) from exc

    def _site_lock(self, site: str) -> threading.Lock:
        with self._locks_lock:
            lock = self._finalize_locks.get(site)
            if lock is None:
                lock = self._finalize_locks[site] = threading.Lock()
            return lock

    def finalize(self, deploy_id: str) -> DeployRow:
        """Check and complete an uploaded deploy; one finalize at a time per site (others go on)."""
        site = self.deploy(deploy_id).site
        with self._site_lock(site):
            row = self.deploy(deploy_id)
            if row.state == "ready":
                return row
            with self._locks_lock:
                created = self._created.pop(deploy_id, None)
            files = created or self.meta.deploy_files(deploy_id)[0]
            # entries a delta kept from its (finalized) parent already carry [sha, size, gz, br]
            fresh = {p: info[0] for p, info in files.items() if len(info) < 4}
            hashes = set(fresh.values())
            missing = self.store.missing(hashes)
            if missing:
                raise ApiError(409, "missing_blobs", f"deploy {deploy_id} still lacks {len(missing)} blob(s); "
                               "PUT them to /_api/v1/blobs/<sha256> and finalize again", missing=missing)
            compressible = sorted({sha for p, sha in fresh.items() if is_compressible(content_type(p))})
            variants = self.meta.variants(compressible)
            todo = [h for h in compressible if h not in variants]
            with ThreadPoolExecutor(max_workers=VARIANT_THREADS) as pool:  # zlib and brotli release the GIL
                made = dict(zip(todo, pool.map(self.store.make_variants, todo), strict=True))
            if made:
                self.meta.add_variants(made)
            variants.update(made)
            sizes: dict[str, tuple[int, int, int]] = {}
            for sha in hashes:
                gz, br = variants.get(sha, (0, 0))
                sizes[sha] = (self.store.size(sha) or 0, gz, br)
            full = {p: info if len(info) >= 4 else [info[0], *sizes[info[0]]] for p, info in files.items()}
            try:
                rules = parse_rules(lambda p: self.store.read(files[p][0]) if p in files else None)
            except RulesError as exc:
                raise ApiError(422, "bad_rules", str(exc), **exc.details()) from exc
            total = sum(v[1] for v in full.values())
            if self.edge is not None:  # the tree exists before the deployment is ready
                self.edge.materialize(deploy_id, row.site, full)
            self.meta.finalize_deploy(deploy_id, full, rules, total)
            with self._locks_lock:  # the parent a delta names next, usually: no need to decode it then
                self._finalized.pop(row.site, None)
                self._finalized[row.site] = (deploy_id, full, json.loads(json.dumps(rules)))  # as stored
                while len(self._finalized) > 8:  # the sites deployed to last
                    self._finalized.pop(next(iter(self._finalized)))
            return self.deploy(deploy_id)

    def _finalized_map(self, deploy_id: str) -> dict[str, list[Any]]:
        """A copy of a ready deploy's file map (entries shared: nobody changes them)."""
        row = self.deploy(deploy_id)
        with self._locks_lock:
            held = self._finalized.get(row.site)
        if held is not None and held[0] == deploy_id:
            return dict(held[1])
        return self.meta.deploy_files(deploy_id)[0]

    def _deploy_map(self, deploy_id: str, site: str) -> tuple[dict[str, list[Any]], dict[str, Any] | None]:
        with self._locks_lock:
            held = self._finalized.get(site)
        if held is not None and held[0] == deploy_id:
            return held[1], held[2]
        return self.meta.deploy_files(deploy_id)

    def rules_warnings(self, deploy_id: str) -> list[str]:
        _, rules = self._deploy_map(deploy_id, self.deploy(deploy_id).site)
        return list((rules or {}).get("warnings", []))

    # -- production pointer ------------------------------------------------------
    def _ready(self, site: str, deploy_id: object) -> DeployRow:
        if not isinstance(deploy_id, str):
            raise ApiError(400, "bad_request", "'deploy_id' must be a string")
        row = self.deploy(deploy_id)
        if row.site != site:
            raise ApiError(404, "no_deploy", f"deploy {deploy_id!r} does not belong to site {site!r}",
                           deploy_id=deploy_id)
        if row.state != "ready":
            raise ApiError(409, "not_ready", f"deploy {deploy_id} is {row.state}, not ready; finalize it first")
        return row

    def promote(self, site: str, deploy_id: object, kind: str = "promote") -> DeployRow:
        row = self._ready(site, deploy_id)
        self.views.get(row.id)  # load the file map before the switch, so readers never wait on it
        with self._switch_lock:
            self.meta.switch_production(site, row.id, kind)
            self.sites[site] = SiteState(row.id)  # one reference assignment: readers see old or new
            if self.edge is not None:
                self.edge.set_live(site, row.id)
        return row

    def rollback(self, site: str, deploy_id: object | None) -> DeployRow:
        """Production back to ``deploy_id`` (a promotion), or one step back in the site's production
        history: repeated rollbacks walk further back, a promotion after them starts a new branch."""
        if deploy_id is not None:
            return self.promote(site, deploy_id)
        with self._switch_lock:
            return self.promote(site, self.rollback_target(site), "rollback")

    def _history(self, site: str) -> tuple[list[str], int]:
        """The site's production history (oldest first) and the position production is at in it."""
        stack: list[str] = []
        pos = -1
        for deploy_id, kind in self.meta.promotion_events(site):
            if kind == "rollback":
                back = [i for i in range(pos) if stack[i] == deploy_id]
                if back:
                    pos = back[-1]
                    continue
            del stack[pos + 1:]
            if not stack or stack[-1] != deploy_id:
                stack.append(deploy_id)
            pos = len(stack) - 1
        return stack, pos

    def rollback_target(self, site: str) -> str:
        """The deployment a ``rollback`` without an id would put in production."""
        self.site(site)
        stack, pos = self._history(site)
        current = self.sites[site].production
        for i in range(pos - 1, -1, -1):
            if stack[i] != current:
                return stack[i]
        raise ApiError(409, "no_previous", f"site {site!r} has no earlier production deploy to roll back to "
                       f"(its production history has {len(stack)} deploy(s) and production is at the oldest)")

    # -- cleanup -------------------------------------------------------------------
    def cleanup(self, dry_run: bool = False) -> dict[str, Any]:
        """Remove (``dry_run``: list) expired unfinished deployments, unreferenced blobs, stale nginx trees."""
        from .cleanup import collect

        return collect(self, dry_run)

    def set_traffic(self, site: str, weights: object) -> dict[str, int] | None:
        self.site(site)
        if not isinstance(weights, dict) or not all(isinstance(v, int) and v >= 0 for v in weights.values()):
            raise ApiError(400, "bad_weights", "'weights' must map deploy ids to non-negative integers")
        clean = {str(k): int(v) for k, v in weights.items() if v > 0}
        if clean and sum(clean.values()) != 100:
            raise ApiError(400, "bad_weights", f"weights must add up to 100, not {sum(clean.values())}")
        for deploy_id in clean:
            self._ready(site, deploy_id)
            self.views.get(deploy_id)
        with self._switch_lock:
            self.meta.set_traffic(site, clean or None)
            self._set_state(site, self.sites[site].production, clean or None)
            if self.edge is not None:  # a split is decided by the app: no production symlink meanwhile
                self.edge.set_live(site, None if clean else self.sites[site].production)
        return clean or None

    # -- serving helpers ------------------------------------------------------------
    def _load_view(self, deploy_id: str) -> DeployView:
        row = self.deploy(deploy_id)
        files, rules = self._deploy_map(deploy_id, row.site)
        state = self.sites.get(row.site)
        base = self.views.peek(state.production) if state is not None and state.production else None
        return build_view(deploy_id, row.site, files, rules, base)

    def ready_view(self, deploy_id: str) -> DeployView | None:
        """The cached index of a ready deployment, None when there is no such ready deployment;
        ``IndexNotLoaded`` when it must be built first (``load_view``, on a worker thread)."""
        view = self.views.peek(deploy_id)
        if view is not None:
            return view
        row = self.meta.deploy(deploy_id) if DEPLOY_ID_RE.match(deploy_id) else None
        if row is None or row.state != "ready":
            return None
        raise IndexNotLoaded(deploy_id)

    def load_view(self, deploy_id: str) -> DeployView:
        """Build (or wait for) the index of a deployment; blocking, so never on the event loop."""
        return self.views.get(deploy_id)

    # -- env vars ----------------------------------------------------------------------
    def env_list(self, site: str, environment: str) -> list[dict[str, Any]]:
        self.site(site)
        return [{"key": k, "value": None if s else v, "secret": s, "updated_at": u}
                for k, v, s, u in self.meta.env_list(site, environment)]

    def env_set(self, site: str, environment: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        self.site(site)
        if not ENVIRONMENT_RE.match(environment):
            raise ApiError(400, "bad_environment", f"environment {environment!r} must be a short name of letters, digits, '.', '_' or '-'")
        if not ENV_KEY_RE.match(key):
            raise ApiError(400, "bad_env_key", f"env var name {key!r} must match [A-Za-z_][A-Za-z0-9_]*")
        value, secret = body.get("value"), bool(body.get("secret", False))
        if not isinstance(value, str):
            raise ApiError(400, "bad_request", "'value' must be a string")
        self.meta.env_set(site, environment, key, value, secret)
        return {"key": key, "value": None if secret else value, "secret": secret}

    def env_unset(self, site: str, environment: str, key: str) -> None:
        self.site(site)
        if not self.meta.env_unset(site, environment, key):
            raise ApiError(404, "no_env_var", f"site {site!r} has no env var {key!r} in {environment!r}")
