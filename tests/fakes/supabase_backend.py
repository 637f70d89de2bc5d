"""The backend side of the Supabase Management API fake: auth config, API keys, SQL and the bucket list.

``BackendState`` is what one project holds beside its secrets and functions: the auth config (every
field ``AuthConfigResponse`` of the spec requires, with GoTrue's defaults for the ones moai-adk
manages), the API keys, the Storage buckets (shared with ``supabase_storage.FakeSupabaseStorage``,
the project-URL side) and a small database: its tables, the ``supabase_realtime`` publication, the
extensions available and installed.

``database/query`` runs only the statements moai-adk sends, parsed here on their own terms (the read
statement word for word, ``alter publication supabase_realtime add|drop table ...``, ``create extension
if not exists ... with schema extensions``); anything else is answered 400 with a Postgres syntax
error, as the real endpoint answers SQL it cannot run. A query runs as one transaction: one failing
statement applies nothing.
"""

from __future__ import annotations

import base64
import json
import re
import secrets as _secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import Recorded

# The read statement moai-adk sends (kept here as text: a change on either side fails the tests).
READ_SQL = (
    "select json_build_object("
    "'realtime', (select coalesce(json_agg(schemaname || '.' || tablename order by schemaname, tablename), '[]')"
    " from pg_catalog.pg_publication_tables where pubname = 'supabase_realtime'), "
    "'extensions', (select coalesce(json_agg(extname order by extname), '[]') from pg_catalog.pg_extension)"
    ") as state;")
_IDENT = r'"((?:[^"]|"")+)"'
_TABLE = rf"{_IDENT}\.{_IDENT}"
_ALTER = re.compile(rf"^alter publication supabase_realtime (add|drop) table ({_TABLE}(?:, {_TABLE})*);$")
_CREATE_EXT = re.compile(rf"^create extension if not exists {_IDENT} with schema extensions;$")
AVAILABLE_EXTENSIONS = frozenset({"plpgsql", "pgcrypto", "uuid-ossp", "pg_graphql", "pg_stat_statements",
                                  "supabase_vault", "postgis", "vector", "pg_trgm", "pg_cron", "pgjwt", "hstore",
                                  "citext", "pg_net", "unaccent"})
AUTH_DEFAULTS: dict[str, Any] = {
    "site_url": "http://localhost:3000", "uri_allow_list": "", "jwt_exp": 3600, "mailer_autoconfirm": False,
    "external_email_enabled": True, "external_phone_enabled": False, "external_github_enabled": False,
    "external_google_enabled": False, "disable_signup": False, "mailer_otp_exp": 3600, "passkey_enabled": False,
    "mfa_phone_otp_length": 6, "sms_otp_length": 6, "oauth_server_enabled": False,
    "oauth_server_allow_dynamic_registration": False, "custom_oauth_enabled": False, "custom_oauth_max_providers": 0}


def _spec_schema(name: str) -> dict[str, Any]:
    from .spec_check import load

    doc: dict[str, Any] = load("supabase").doc  # type: ignore[attr-defined]
    schema: dict[str, Any] = doc["components"]["schemas"][name]
    return schema


def _jwt(ref: str, role: str) -> str:
    """A key shaped as Supabase's legacy API keys: an HS256 JWT whose payload names the project and the role."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()

    claims = {"iss": "supabase", "ref": ref, "role": role, "iat": 1700000000, "exp": 2000000000}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{_secrets.token_urlsafe(32)}"


@dataclass
class BackendState:
    ref: str
    auth: dict[str, Any] = field(default_factory=dict)
    anon_key: str = ""
    service_key: str = ""
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> row (+ "objects": int)
    tables: set[str] = field(default_factory=lambda: {"public.todos", "public.messages", "public.profiles"})
    publication: set[str] = field(default_factory=set)
    extensions: set[str] = field(default_factory=lambda: {"plpgsql", "pgcrypto", "uuid-ossp", "pg_graphql",
                                                          "pg_stat_statements", "supabase_vault"})
    members: set[str] | None = None  # tokens allowed on this project (None: every valid token)
    # an interrupted apply: writes after this many are answered 400 "simulated outage" (a status the client does
    # not retry, so the test does not wait through back-offs)
    fail_writes_after: int | None = None
    writes: int = 0

    def __post_init__(self) -> None:
        if not self.auth:
            self.auth = {k: None for k in _spec_schema("AuthConfigResponse").get("required", [])} | AUTH_DEFAULTS
        self.anon_key = self.anon_key or _jwt(self.ref, "anon")
        self.service_key = self.service_key or _jwt(self.ref, "service_role")

    def write_allowed(self) -> bool:
        if self.fail_writes_after is not None and self.writes >= self.fail_writes_after:
            return False
        self.writes += 1
        return True

    def add_bucket(self, name: str, *, public: bool = False, file_size_limit: int | None = None,
                   allowed_mime_types: list[str] | None = None, objects: int = 0) -> dict[str, Any]:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        row = {"id": name, "name": name, "owner": "", "public": public, "type": "STANDARD",
               "file_size_limit": file_size_limit, "allowed_mime_types": allowed_mime_types,
               "created_at": now, "updated_at": now, "objects": objects}
        self.buckets[name] = row
        return row


def _sql_error(message: str) -> httpx.Response:
    return httpx.Response(400, json={"message": f"Failed to run sql query: ERROR:  {message}"})


def _unquote(name: str) -> str:
    return name.replace('""', '"')


class BackendRoutes:
    """Routes mixed into ``FakeSupabaseApi`` (which gives ``route``, ``_backend(ref)``)."""

    def register_backend_routes(self) -> None:
        r = self.route  # type: ignore[attr-defined]
        r("GET", "/v1/projects/{ref}/config/auth", self.get_auth)
        r("PATCH", "/v1/projects/{ref}/config/auth", self.patch_auth)
        r("GET", "/v1/projects/{ref}/api-keys", self.api_keys)
        r("GET", "/v1/projects/{ref}/storage/buckets", self.list_buckets)
        r("POST", "/v1/projects/{ref}/database/query", self.run_query)

    def _backend(self, ref: str) -> BackendState:
        raise NotImplementedError

    def get_auth(self, rec: Recorded, ref: str) -> httpx.Response:
        return httpx.Response(200, json=self._backend(ref).auth)

    def patch_auth(self, rec: Recorded, ref: str) -> httpx.Response:
        state = self._backend(ref)
        body = rec.json() or {}
        known = set(_spec_schema("UpdateAuthConfigBody")["properties"])
        unknown = sorted(set(body) - known)
        if unknown:
            return httpx.Response(400, json={"message": f"Unknown auth config field(s): {', '.join(unknown)}"})
        if not state.write_allowed():
            return httpx.Response(400, json={"message": "simulated outage"})
        state.auth.update(body)
        return httpx.Response(200, json=state.auth)

    def api_keys(self, rec: Recorded, ref: str) -> httpx.Response:
        state = self._backend(ref)
        reveal = rec.query.get("reveal", ["false"])[0] == "true"
        rows = [{"name": "anon", "api_key": state.anon_key, "type": "legacy", "id": "anon"},
                {"name": "service_role", "api_key": state.service_key if reveal else None, "type": "legacy",
                 "id": "service_role"}]
        return httpx.Response(200, json=rows)

    def list_buckets(self, rec: Recorded, ref: str) -> httpx.Response:
        keys = ("id", "name", "owner", "created_at", "updated_at", "public")
        return httpx.Response(200, json=[{k: b[k] for k in keys} for b in self._backend(ref).buckets.values()])

    def run_query(self, rec: Recorded, ref: str) -> httpx.Response:
        state = self._backend(ref)
        sql = str((rec.json() or {}).get("query", ""))
        if sql == READ_SQL:
            return httpx.Response(201, json=[{"state": {"realtime": sorted(state.publication),
                                                        "extensions": sorted(state.extensions)}}])
        publication, extensions = set(state.publication), set(state.extensions)
        for statement in [s for s in sql.split("\n") if s.strip()]:
            if m := _ALTER.match(statement):
                names = [f"{_unquote(a)}.{_unquote(b)}" for a, b in re.findall(_TABLE, m.group(2))]
                for name in names:
                    if name not in state.tables:
                        return _sql_error(f'42P01: relation "{name}" does not exist')
                    if m.group(1) == "add":
                        if name in publication:
                            return _sql_error(f'42710: relation "{name}" is already member of publication '
                                              '"supabase_realtime"')
                        publication.add(name)
                    else:
                        if name not in publication:
                            return _sql_error(f'42704: relation "{name}" is not part of the publication')
                        publication.discard(name)
            elif m := _CREATE_EXT.match(statement):
                ext = _unquote(m.group(1))
                if ext not in AVAILABLE_EXTENSIONS:
                    return _sql_error(f'0A000: extension "{ext}" is not available')
                extensions.add(ext)
            else:
                return _sql_error(f'42601: syntax error at or near "{statement.split(" ")[0][:20]}"')
        if not state.write_allowed():
            return httpx.Response(400, json={"message": "simulated outage"})
        state.publication, state.extensions = publication, extensions
        return httpx.Response(201, json=[])
