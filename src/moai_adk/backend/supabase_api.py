"""The Supabase calls the backend makes: the Management API (auth config, API keys, SQL, secrets) and the
project's Storage API (buckets, with the service-role key, as the supabase CLI's ``seed buckets`` does).

    MOAI_SUPABASE_API_URL       Management API base (default https://api.supabase.com), as the provider
    MOAI_SUPABASE_PROJECT_URL   the project URL, with ``{ref}`` (default https://{ref}.supabase.co)

Every call is counted (``round_trips``). A 401/403 becomes an ``AuthError`` naming the project, the
environment, the call and the OAuth scope the Management API documents for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import AuthError, ProviderError
from ..providers._http import ApiClient
from ..providers.base import ProviderContext
from ..providers.supabase._client import TOKEN_ENV, make_client

PROJECT_URL_ENV = "MOAI_SUPABASE_PROJECT_URL"
DEFAULT_PROJECT_URL = "https://{ref}.supabase.co"
PUBLICATION = "supabase_realtime"
EXTENSIONS_SCHEMA = "extensions"

# What the Management API documents as each call's OAuth scope (x-oauth-scope in its OpenAPI).
SCOPES = {"auth config": "auth:read", "auth config update": "auth:write", "API keys": "secrets:read",
          "SQL query": "database:write", "secrets": "secrets:read", "secrets update": "secrets:write"}

# One statement reads the realtime publication's tables and the installed extensions.
READ_SQL = (
    "select json_build_object("
    "'realtime', (select coalesce(json_agg(schemaname || '.' || tablename order by schemaname, tablename), '[]')"
    " from pg_catalog.pg_publication_tables where pubname = 'supabase_realtime'), "
    "'extensions', (select coalesce(json_agg(extname order by extname), '[]') from pg_catalog.pg_extension)"
    ") as state;")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(table: str) -> str:
    """``schema.table`` (``public`` when unqualified) as a quoted SQL name."""
    schema, _, name = table.rpartition(".")
    return f"{quote_ident(schema or 'public')}.{quote_ident(name)}"


def project_url(environ: Mapping[str, str], ref: str) -> str:
    return (environ.get(PROJECT_URL_ENV) or DEFAULT_PROJECT_URL).replace("{ref}", ref).rstrip("/")


class SupabaseCalls:
    """The calls of one project, counted; the Storage client is made on first use (it needs the key)."""

    def __init__(self, ctx: ProviderContext, ref: str, environment: str) -> None:
        self.ctx, self.ref, self.environment = ctx, ref, environment
        self.api: ApiClient = make_client(ctx)
        self._storage: ApiClient | None = None
        self._lock = threading.Lock()
        self.round_trips = 0

    def close(self) -> None:
        self.api.close()
        if self._storage is not None:
            self._storage.close()

    def _count(self) -> None:
        with self._lock:
            self.round_trips += 1

    def _call(self, what: str, client: ApiClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self._count()
        try:
            return client.request(method, path, **kwargs)
        except AuthError as exc:
            scope = SCOPES.get(what)
            need = f"the {scope} permission (OAuth scope) on that project" if scope else "access to that project"
            raise AuthError(
                f"The Supabase token cannot reach project {self.ref} (environment {self.environment}): reading or "
                f"changing its {what} ({method} {path}) was refused with {exc.status}. The call needs {need}.",
                hint=f"Use a token of an account that is a member of the project's organization with that "
                     f"permission ({TOKEN_ENV}), or fix the project ref of {self.environment} in moai.toml.",
                status=exc.status) from exc

    # -- Management API --------------------------------------------------------------------------------
    def auth_config(self) -> dict[str, Any]:
        data = self.api.decode(self._call("auth config", self.api, "GET", f"/v1/projects/{self.ref}/config/auth"))
        return dict(data or {})

    def update_auth(self, body: dict[str, Any]) -> None:
        self._call("auth config update", self.api, "PATCH", f"/v1/projects/{self.ref}/config/auth", json=body)

    def query(self, sql: str) -> Any:
        try:
            response = self._call("SQL query", self.api, "POST", f"/v1/projects/{self.ref}/database/query",
                                  json={"query": sql})
        except ProviderError as exc:
            if isinstance(exc, AuthError) or exc.status != 400:
                raise
            raise ProviderError(
                f"Project {self.ref} (environment {self.environment}) refused the SQL moai-adk sent: {exc.message}",
                hint="Check the tables and extensions named in [backend.supabase] of moai.toml: a realtime table "
                     "must exist (create it in a migration first), an extension must be one Supabase offers.",
                status=exc.status) from exc
        return self.api.decode(response)

    def read_database(self) -> tuple[list[str], list[str]]:
        """(tables of the realtime publication as ``schema.table``, installed extensions)."""
        rows = self.query(READ_SQL) or []
        state = rows[0]["state"] if rows else {}
        if isinstance(state, str):  # a json column may come back as text
            state = json.loads(state)
        return list(state.get("realtime") or []), list(state.get("extensions") or [])

    def secrets(self) -> dict[str, str]:
        """name -> the SHA-256 hex digest the API answers for its value."""
        rows = self.api.decode(self._call("secrets", self.api, "GET", f"/v1/projects/{self.ref}/secrets")) or []
        return {r["name"]: str(r.get("value") or "") for r in rows}

    def set_secrets(self, values: dict[str, str]) -> None:
        self._call("secrets update", self.api, "POST", f"/v1/projects/{self.ref}/secrets",
                   json=[{"name": k, "value": v} for k, v in sorted(values.items())])

    def delete_secrets(self, names: list[str]) -> None:
        self._call("secrets update", self.api, "DELETE", f"/v1/projects/{self.ref}/secrets", json=sorted(names))

    def api_keys(self) -> list[dict[str, Any]]:
        response = self._call("API keys", self.api, "GET", f"/v1/projects/{self.ref}/api-keys",
                              params={"reveal": "true"})
        return list(self.api.decode(response) or [])

    # -- Storage API (the project URL, service-role key) ------------------------------------------------
    def storage(self) -> ApiClient:
        with self._lock:
            if self._storage is not None:
                return self._storage
        keys = self.api_keys()
        key = next((k.get("api_key") for k in keys if k.get("name") == "service_role" and k.get("api_key")), None) \
            or next((k.get("api_key") for k in keys if k.get("type") == "secret" and k.get("api_key")), None)
        if not key:
            raise AuthError(
                f"Project {self.ref} (environment {self.environment}) showed no service-role key, which managing "
                "Storage buckets needs.",
                hint="The token needs the secrets:read permission on the project (API keys are revealed with it).")
        client = ApiClient(project_url(self.ctx.environ, self.ref), label=f"Supabase Storage of {self.ref}",
                           token=str(key), headers={"apikey": str(key)}, transport=self.ctx.transport,
                           sleep=self.ctx.sleep)
        with self._lock:
            if self._storage is None:
                self._storage = client
            else:
                client.close()
            return self._storage

    def buckets(self) -> list[dict[str, Any]]:
        storage = self.storage()
        return list(storage.decode(self._call("buckets", storage, "GET", "/storage/v1/bucket")) or [])

    def _storage_call(self, method: str, path: str, bucket: str, **kwargs: Any) -> None:
        storage = self.storage()
        try:
            self._call("buckets", storage, method, path, **kwargs)
        except ProviderError as exc:
            if isinstance(exc, AuthError) or exc.status not in (400, 409):
                raise
            raise ProviderError(
                f"Supabase Storage of project {self.ref} refused bucket '{bucket}': {exc.message}",
                hint=f"Fix [backend.supabase.buckets.\"{bucket}\"] in moai.toml (name, size limit, MIME types), "
                     "then run `moai-adk backend apply` again: what was applied stays, the rest follows.",
                status=exc.status) from exc

    def create_bucket(self, name: str, spec: dict[str, Any]) -> None:
        self._storage_call("POST", "/storage/v1/bucket", name, json={"id": name, "name": name, **spec})

    def update_bucket(self, name: str, spec: dict[str, Any]) -> None:
        self._storage_call("PUT", f"/storage/v1/bucket/{quote(name, safe='')}", name, json=spec)

    def delete_bucket(self, name: str) -> None:
        """Empty the bucket (its files go: the change is destructive), then delete it."""
        path = f"/storage/v1/bucket/{quote(name, safe='')}"
        self._storage_call("POST", path + "/empty", name)
        try:
            self._storage_call("DELETE", path, name)
        except ProviderError as exc:
            if exc.status != 409:
                raise
            raise ProviderError(
                f"Supabase Storage of project {self.ref} is still emptying bucket '{name}', so it is not empty "
                "and not deleted yet (Storage removes a bucket's files in the background, up to an hour).",
                hint="Run `moai-adk backend apply --allow-destructive` again later: it deletes the bucket once "
                     "it is empty; everything else of the plan is applied.", status=exc.status) from exc
