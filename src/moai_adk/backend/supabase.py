"""The Supabase backend: ``[backend.supabase]`` of moai.toml against one environment's project.

State keys (kind, name) -> value:

    auth           site_url, jwt_exp, mailer_autoconfirm, external_<provider>_enabled -> the setting
    redirect_url   each URL of auth's uri_allow_list -> true                 (managed as a whole)
    bucket         each Storage bucket -> {public, file_size_limit, allowed_mime_types}
                                                               (managed as a whole; removal destructive)
    realtime_table schema.table of the supabase_realtime publication -> true  (managed as a whole)
    extension      an installed Postgres extension -> true        (only created, never dropped)
    secret         an Edge Function secret -> SHA-256 hex of its value (managed as a whole, SUPABASE_* excepted)
    project        the project itself, only while it is to be created (create = true, no ref): name ->
                   {organization, region}; listed first, and every other section shows as additions

A section moai.toml leaves out is neither read nor managed. A plan reads everything it needs in at most
five requests sent together (auth config, one SQL statement, secrets, API keys then the bucket list).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

from ..config.backend_supabase import SupabaseBackendTable, SupabaseEnvironmentBackend
from ..errors import ConfigError, MoaiError
from ..providers._http import run_concurrently
from ..providers.supabase._client import project_ref
from ..workspace import provider_context
from . import supabase_create as creation
from .engine import Backend
from .plan import Change, State, diff
from .preview_record import recorded
from .supabase_api import EXTENSIONS_SCHEMA, PUBLICATION, SupabaseCalls, qualified, quote_ident

if TYPE_CHECKING:
    import httpx

    from ..config import Config

RESERVED_SECRET_PREFIX = "SUPABASE_"
BUCKET_CONCURRENCY = 8


def _bucket_value(public: Any, size: Any, mimes: Any) -> dict[str, Any]:
    return {"public": bool(public), "file_size_limit": int(size) if size else None,
            "allowed_mime_types": sorted(mimes) if mimes else None}


class SupabaseBackend(Backend):
    name = "supabase"
    managed_kinds: ClassVar[frozenset[str]] = frozenset({"redirect_url", "bucket", "realtime_table", "secret"})
    destructive_kinds: ClassVar[frozenset[str]] = frozenset({"bucket"})
    secret_kinds: ClassVar[frozenset[str]] = frozenset({"secret"})
    leading_kinds: ClassVar[frozenset[str]] = frozenset({"project"})

    def __init__(self, cfg: Config, environment: str, environ: Mapping[str, str],
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(cfg.root, environment)
        self.cfg = cfg
        self.environ = environ
        where = cfg.path or "moai.toml"
        table = SupabaseBackendTable.model_validate(cfg.backend["supabase"], strict=False)
        unknown = sorted(set(table.environments) - set(cfg.environments) - {environment})
        if unknown:
            raise ConfigError(
                f"{where}: [backend.supabase.environments.{unknown[0]}] names an environment moai.toml does not "
                f"declare (declared: {', '.join(sorted(cfg.environments)) or 'none'}).",
                hint=f"Fix the name, or add an [environments.{unknown[0]}] table.")
        self.spec: SupabaseEnvironmentBackend = table.for_environment(environment)
        self.ctx = provider_context(cfg, "supabase", environ, transport=transport)
        self.sleep: Callable[[float], None] | None = None  # how to wait for a created project (tests: no wait)
        self.create_timeout = creation.CREATE_TIMEOUT
        self._adopt: str | None = None  # an existing project of the name to create (an interrupted apply's)
        if self.spec.create and not creation.ref_configured(self.ctx, environment):
            creation.check_config(cfg, environment, self.spec)
            self.ref = ""  # created by apply
        else:
            self.ref = project_ref(self.ctx, environment)
        self._calls: SupabaseCalls | None = None
        self._secret_values: dict[str, str] = {}
        self._live_urls: list[str] = []

    # -- plumbing --------------------------------------------------------------------------------------
    @property
    def calls(self) -> SupabaseCalls:
        if self._calls is None:
            self._calls = SupabaseCalls(self.ctx, self.ref, self.environment)
        return self._calls

    def _sync_count(self) -> None:
        self.round_trips = self._calls.round_trips if self._calls is not None else 0

    def close(self) -> None:
        if self._calls is not None:
            self._calls.close()
            self._calls = None

    @property
    def target(self) -> str:
        return self.ref or f"new project {self.new_name}"

    @property
    def new_name(self) -> str:
        return creation.project_name(self.cfg, self.environment, self.spec)

    def shared_with(self) -> list[str]:
        """Other environments of moai.toml whose Supabase project is this one."""
        others: list[str] = []
        if not self.ref:
            return others
        for env in sorted(set(self.cfg.environments) - {self.environment}):
            try:
                if project_ref(self.ctx, env) == self.ref:
                    others.append(env)
            except MoaiError:
                continue
        return others

    def notes(self) -> list[str]:
        out = []
        if not self.ref:
            out.append(f"Project {self.new_name} does not exist yet: apply creates it in organization "
                       f"{self.spec.organization} ({self.spec.region}), waits until it is healthy, writes its ref "
                       f"into moai.toml [environments.{self.environment}], then applies the rest to it."
                       if self._adopt is None else
                       f"Project {self.new_name} already exists in organization {self.spec.organization} "
                       f"({self._adopt}, made by an earlier apply): apply adopts it instead of creating another, "
                       f"writes its ref into moai.toml [environments.{self.environment}] and applies the rest.")
            if self.spec.plan is not None:
                out.append("[backend.supabase] plan is ignored: Supabase sets the plan on the organization.")
        shared = self.shared_with()
        if shared:
            out.append(f"Project {self.ref} is also the Supabase project of {', '.join(shared)}: applying this plan "
                       f"changes {'them' if len(shared) > 1 else 'it'} too (apply asks for --yes).")
        if self.spec.extensions is not None:
            out.append("Extensions are only created, never dropped (drop one in a migration).")
        return out

    def confirmations(self) -> list[str]:
        shared = self.shared_with()
        if not shared:
            return []
        return [f"environments {self.environment} and {', '.join(shared)} point at the same Supabase project "
                f"{self.ref}, so this apply changes {', '.join(shared)} as well"]

    # -- desired ---------------------------------------------------------------------------------------
    def desired(self) -> State:
        spec = self.spec
        state: State = {}
        if not self.ref:
            state[("project", self.new_name)] = {"organization": spec.organization, "region": spec.region}
        if spec.auth is not None:
            auth = spec.auth
            if auth.site_url is not None:
                state[("auth", "site_url")] = auth.site_url
            if auth.jwt_expiry is not None:
                state[("auth", "jwt_exp")] = auth.jwt_expiry
            if auth.email_confirmations is not None:
                state[("auth", "mailer_autoconfirm")] = not auth.email_confirmations
            for provider, enabled in (auth.providers or {}).items():
                state[("auth", f"external_{provider}_enabled")] = enabled
            for url in auth.additional_redirect_urls or []:
                state[("redirect_url", url)] = True
            if auth.additional_redirect_urls is not None:  # preview deploys' URLs (.moai/backend/previews.json)
                for url in self.preview_urls():
                    state[("redirect_url", url)] = True
        for name, bucket in (spec.buckets or {}).items():
            state[("bucket", name)] = _bucket_value(bucket.public, bucket.file_size_limit, bucket.allowed_mime_types)
        for table in spec.realtime_tables or []:
            state[("realtime_table", table if "." in table else f"public.{table}")] = True
        for ext in spec.extensions or []:
            state[("extension", ext)] = True
        if spec.secrets:
            self._secret_values = self._load_secrets(spec.secrets)
            for key, value in self._secret_values.items():
                state[("secret", key)] = hashlib.sha256(value.encode("utf-8")).hexdigest()
        return state

    def _load_secrets(self, names: list[str]) -> dict[str, str]:
        from ..secrets.push import load

        where = self.cfg.path or "moai.toml"
        reserved = [n for n in names if n.startswith(RESERVED_SECRET_PREFIX)]
        if reserved:
            raise ConfigError(f"{where}: [backend.supabase] secrets names {', '.join(reserved)}; names starting with "
                              f"{RESERVED_SECRET_PREFIX} are Supabase's own.",
                              hint="Rename the key in the secrets store and in moai.toml.")
        store = load(self.cfg, self.environment, self.environ)
        if store is None:
            raise ConfigError(
                f"{where}: [backend.supabase] secrets names {', '.join(names)}, but the {self.environment} "
                f"environment has no secrets store (.moai/secrets/{self.environment}.age).",
                hint=f"Add them with `moai-adk secrets set --env {self.environment} KEY`.")
        missing = [n for n in names if n not in store.values]
        if missing:
            raise ConfigError(
                f"{where}: [backend.supabase] secrets names {', '.join(missing)}, which {store.file} does not hold.",
                hint=f"Add {'them' if len(missing) > 1 else 'it'} with `moai-adk secrets set --env {self.environment} "
                     f"{missing[0]}`, or remove the name from moai.toml.")
        return {n: store.values[n] for n in names}

    # -- read ------------------------------------------------------------------------------------------
    def read(self) -> State:
        spec = self.spec
        if not self.ref:  # nothing to read before the project exists; one request looks for an earlier one
            creation.check_store(self.cfg, self.environment, self.environ)
            self._adopt = creation.find_existing(self.ctx, self.new_name, str(spec.organization))
            self.round_trips = 1
            return {}
        jobs: list[Callable[[SupabaseCalls], State]] = []
        if spec.auth is not None:
            jobs.append(self._read_auth)
        if spec.realtime_tables is not None or spec.extensions is not None:
            jobs.append(self._read_database)
        if spec.secrets is not None:
            jobs.append(self._read_secrets)
        if spec.buckets is not None:
            jobs.append(self._read_buckets)
        calls = self.calls  # made once, before the threads share it
        state: State = {}
        try:
            with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
                for part in pool.map(lambda job: job(calls), jobs):
                    state.update(part)
        finally:
            self._sync_count()
        return state

    def _read_auth(self, calls: SupabaseCalls) -> State:
        config = calls.auth_config()
        wanted = [name for kind, name in self.desired_auth_keys()]
        state: State = {("auth", k): config.get(k) for k in wanted}
        self._live_urls = [u.strip() for u in str(config.get("uri_allow_list") or "").split(",") if u.strip()]
        if self.spec.auth is not None and self.spec.auth.additional_redirect_urls is not None:
            state.update({("redirect_url", u): True for u in self._live_urls})
        return state

    def preview_urls(self) -> list[str]:
        """The redirect URLs preview deploys added to this project (kept by deploy, removed by cleanup)."""
        return recorded(self.root, self.name, self.ref) if self.ref else []

    def desired_auth_keys(self) -> list[tuple[str, str]]:
        auth = self.spec.auth
        if auth is None:
            return []
        keys = [("auth", k) for k, v in (("site_url", auth.site_url), ("jwt_exp", auth.jwt_expiry),
                                         ("mailer_autoconfirm", auth.email_confirmations)) if v is not None]
        return keys + [("auth", f"external_{p}_enabled") for p in auth.providers or {}]

    def _read_database(self, calls: SupabaseCalls) -> State:
        tables, extensions = calls.read_database()
        state: State = {}
        if self.spec.realtime_tables is not None:
            state.update({("realtime_table", t): True for t in tables})
        if self.spec.extensions is not None:
            state.update({("extension", e): True for e in extensions})
        return state

    def _read_secrets(self, calls: SupabaseCalls) -> State:
        return {("secret", name): digest for name, digest in calls.secrets().items()
                if not name.startswith(RESERVED_SECRET_PREFIX)}

    def _read_buckets(self, calls: SupabaseCalls) -> State:
        return {("bucket", b["name"]): _bucket_value(b.get("public"), b.get("file_size_limit"),
                                                     b.get("allowed_mime_types"))
                for b in calls.buckets()}

    # -- apply -----------------------------------------------------------------------------------------
    def apply(self, changes: list[Change]) -> None:
        if not self.ref and any(c.kind == "project" for c in changes):
            changes = self._create()
        by_kind: dict[str, list[Change]] = {}
        for change in changes:
            by_kind.setdefault(change.kind, []).append(change)
        try:
            if "auth" in by_kind or "redirect_url" in by_kind:
                self._apply_auth(by_kind.get("auth", []), by_kind.get("redirect_url", []))
            if "realtime_table" in by_kind or "extension" in by_kind:
                self._apply_database(by_kind.get("realtime_table", []), by_kind.get("extension", []))
            if "secret" in by_kind:
                self._apply_secrets(by_kind["secret"])
            if "bucket" in by_kind:
                run_concurrently(by_kind["bucket"], self._apply_bucket, concurrency=BUCKET_CONCURRENCY,
                                 throttled=self.calls.api.throttled)
        finally:
            self._sync_count()

    def _apply_auth(self, auth: list[Change], urls: list[Change]) -> None:
        body: dict[str, Any] = {c.name: c.after for c in auth}
        if urls:
            gone = {c.name for c in urls if c.action == "remove"}
            kept = [u for u in self._live_urls if u not in gone]
            added = {c.name for c in urls if c.action == "add"}
            order = ((self.spec.auth.additional_redirect_urls or []) if self.spec.auth else []) + self.preview_urls()
            body["uri_allow_list"] = ",".join(kept + [u for u in order if u in added and u not in kept])
        self.calls.update_auth(body)

    def _apply_database(self, tables: list[Change], extensions: list[Change]) -> None:
        statements = [f"create extension if not exists {quote_ident(c.name)} with schema {EXTENSIONS_SCHEMA};"
                      for c in extensions if c.action == "add"]
        added = [qualified(c.name) for c in tables if c.action == "add"]
        dropped = [qualified(c.name) for c in tables if c.action == "remove"]
        if added:
            statements.append(f"alter publication {PUBLICATION} add table {', '.join(added)};")
        if dropped:
            statements.append(f"alter publication {PUBLICATION} drop table {', '.join(dropped)};")
        if statements:  # one request: the statements run in one transaction
            self.calls.query("\n".join(statements))

    def _apply_secrets(self, changes: list[Change]) -> None:
        values = {c.name: self._secret_values[c.name] for c in changes if c.action != "remove"}
        if values:
            self.calls.set_secrets(values)
        gone = [c.name for c in changes if c.action == "remove"]
        if gone:
            self.calls.delete_secrets(gone)

    def _apply_bucket(self, change: Change) -> None:
        if change.action == "remove":
            self.calls.delete_bucket(change.name)
            return
        after = dict(change.after)
        if change.action == "add":  # unset limits are left out: Storage's own defaults
            self.calls.create_bucket(change.name, {k: v for k, v in after.items() if v is not None})
        else:  # Storage's update takes no null: 0 and [] clear a limit (read back as unset)
            self.calls.update_bucket(change.name, {"public": after["public"],
                                                   "file_size_limit": after["file_size_limit"] or 0,
                                                   "allowed_mime_types": after["allowed_mime_types"] or []})

    def _create(self) -> list[Change]:
        """Create (or adopt) the project, wait for it, record its ref; the changes the new project still needs."""
        ref = self._adopt or creation.find_existing(self.ctx, self.new_name, str(self.spec.organization))
        if ref is None:
            creation.check_store(self.cfg, self.environment, self.environ)
            ref = creation.create_project(self.ctx, self.cfg, self.environment, self.spec)
        creation.wait_healthy(self.ctx, ref, timeout=self.create_timeout, sleep=self.sleep)
        creation.write_ref(self.cfg.path or self.root / "moai.toml", self.environment, ref)
        self.ref, self._adopt = ref, None
        self.close()  # calls are made per project
        return diff(self.read(), self.desired(), managed_kinds=self.managed_kinds,
                    destructive_kinds=self.destructive_kinds, secret_kinds=self.secret_kinds)
