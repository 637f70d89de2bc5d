"""A stateful fake of the Supabase Management API (secrets, edge functions, and the backend calls of
``supabase_backend``: auth config, API keys, bucket list, SQL).

State: projects by ref, each with secrets (the API answers digests, never
values) and edge functions (version bumped on each deploy, files kept as sent).
Requests and answers go through the spec layer of ``FakeApi`` (the subset of
``supabase-management-openapi.json`` in ``specs/supabase.json``): a request
that breaks it (unknown route or query parameter, path/query values outside
their schema, a JSON or multipart body that does not fit the request schema)
is answered 400 and recorded in ``violations``. On top the fake enforces the
service's own rules (reserved names, sizes, entrypoint present).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import ApiError, FakeApi, Recorded
from .spec_check import parse_multipart
from .supabase_backend import BackendRoutes, BackendState
from .supabase_projects import ProjectRoutes

__all__ = ["FakeSupabaseApi", "parse_multipart", "supabase_provider"]

# -- what the deploy endpoint does with the parts: bundle from the entrypoint ----------------
# The service bundles the entrypoint with the uploaded files only (paths as the parts name them,
# relative to the project root), resolving imports through the uploaded import map; a local
# module that was not uploaded fails the deploy. Static files are the uploaded files that
# static_patterns match (path.Match rules: '*' stays inside one folder).

_IMPORT_RE = re.compile(r"""(?:import|export)\s+(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"'\n]+)["']"""
                        r"""|import\(\s*["']([^"'\n]+)["']\s*\)""")


def glob_match(pattern: str, name: str) -> bool:
    rx = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, name) is not None


def _norm(base: str, rel: str) -> str:
    """``rel`` against the folder ``base`` as a project path marked local with a leading './'."""
    joined = posixpath.normpath(posixpath.join(base, rel))
    return ("./" if not joined.startswith("../") else "") + joined + ("/" if rel.endswith("/") else "")


def _load_map(path: str, files: dict[str, bytes]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    text = re.sub(r"/\*.*?\*/|^[ \t]*//[^\n]*", "", files[path].decode(), flags=re.S | re.M)
    data = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    base = posixpath.dirname(path)
    if not data.get("imports") and not data.get("scopes") and data.get("importMap"):
        return _load_map(posixpath.normpath(posixpath.join(base, data["importMap"])), files)

    def entries(table: dict[str, str]) -> dict[str, str]:
        return {(_norm(base, k) if k.startswith(("./", "../")) else k):
                (_norm(base, v) if v.startswith(("./", "../")) else v) for k, v in table.items()}
    scopes = {_norm(base, k): entries(v) for k, v in (data.get("scopes") or {}).items()}
    return entries(data.get("imports") or {}), scopes


def _mapped(table: dict[str, str], spec: str) -> str | None:
    if spec in table:
        return table[spec]
    keys = sorted((k for k in table if k.endswith("/") and spec.startswith(k)), key=len)
    return table[keys[-1]] + spec[len(keys[-1]):] if keys else None


def bundle_missing(entry: str, import_map: str | None, files: dict[str, bytes]) -> str | None:
    """The first local module reachable from ``entry`` that is not among ``files`` (None: it bundles)."""
    imports, scopes = _load_map(import_map, files) if import_map else ({}, {})
    seen: set[str] = set()
    queue = [entry]
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        if current not in files:
            return current
        for m in _IMPORT_RE.finditer(files[current].decode(errors="replace")):
            raw = m.group(1) or m.group(2)
            spec = _norm(posixpath.dirname(current), raw) if raw.startswith(("./", "../")) else raw
            hit = next((h for prefix in sorted(scopes, key=len, reverse=True) if ("./" + current).startswith(prefix)
                        for h in [_mapped(scopes[prefix], spec)] if h is not None), None)
            target = hit if hit is not None else (_mapped(imports, spec) or spec)
            if not posixpath.splitext(target)[1] or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
                continue   # remote or extension-less: not a file of the upload
            if not target.startswith("./"):
                return target  # leaves the project folder, or a bare name nothing maps
            queue.append(target[2:])
    return None


@dataclass
class Project:
    ref: str
    secrets: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (value, updated_at)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    function_files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    function_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    function_static: dict[str, list[str]] = field(default_factory=dict)   # uploaded files static_patterns match


class FakeSupabaseApi(ProjectRoutes, BackendRoutes, FakeApi):
    label = "supabase"

    def __init__(self, base_url: str = "https://supabase-api.fake", *, tokens: tuple[str, ...] = ("sbp_test",),
                 refs: tuple[str, ...] = ("abcdefghijklmnopqrst",)) -> None:
        super().__init__(tokens=tokens)
        self.base_url = base_url
        self.projects = {r: Project(r) for r in refs}
        self.backends: dict[str, BackendState] = {}  # auth, keys, buckets, database of each project (supabase_backend)
        self.bursts = 0
        r = self.route
        r("GET", "/v1/projects/{ref}/secrets", self.list_secrets)
        r("POST", "/v1/projects/{ref}/secrets", self.create_secrets)
        r("DELETE", "/v1/projects/{ref}/secrets", self.delete_secrets)
        r("POST", "/v1/projects/{ref}/functions/deploy", self.deploy_function)
        r("GET", "/v1/projects/{ref}/functions", self.list_functions)
        r("GET", "/v1/projects/{ref}/functions/{function_slug}", self.get_function)
        r("DELETE", "/v1/projects/{ref}/functions/{function_slug}", self.delete_function)
        self.register_backend_routes()
        self.register_project_routes()

    def error(self, status: int, code: str, message: str, **extra: Any) -> httpx.Response:
        return httpx.Response(status, json={"message": message})

    def _dispatch(self, rec: Recorded, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return httpx.Response(401, json={"message": "Unauthorized"})
        m = re.match(r"^/v1/projects/([^/]+)/", rec.path)
        if m and m.group(1) in self.projects:
            members = self.backend_state(m.group(1)).members
            if members is not None and auth[7:] not in members:
                return httpx.Response(403, json={"message": "Your account does not have the necessary privileges "
                                                            "to access this endpoint"})
        with self.lock:
            if self.bursts > 0:
                self.bursts -= 1
                return httpx.Response(429, json={"message": "Rate limit exceeded"}, headers={"Retry-After": "0"})
        return self.call_route(rec)

    def backend_state(self, ref: str) -> BackendState:
        self._project(ref)
        with self.lock:
            if ref not in self.backends:
                self.backends[ref] = BackendState(ref)
            return self.backends[ref]

    def _backend(self, ref: str) -> BackendState:
        return self.backend_state(ref)

    def _project(self, ref: str) -> Project:
        if ref not in self.projects:
            raise ApiError(404, "not_found", f"Project {ref} not found")
        return self.projects[ref]

    # -- secrets ---------------------------------------------------------------
    def list_secrets(self, rec: Recorded, ref: str) -> httpx.Response:
        project = self._project(ref)
        return httpx.Response(200, json=[
            {"name": k, "value": hashlib.sha256(v.encode()).hexdigest(), "updated_at": t}
            for k, (v, t) in sorted(project.secrets.items())])

    def create_secrets(self, rec: Recorded, ref: str) -> httpx.Response:
        project = self._project(ref)
        items = rec.json()
        for item in items:
            if item["name"].startswith("SUPABASE_") or len(item["value"]) > 24576:
                return httpx.Response(400, json={"message": f"Invalid secret {item['name']}"})
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for item in items:
            project.secrets[item["name"]] = (item["value"], now)
        return httpx.Response(201)

    def delete_secrets(self, rec: Recorded, ref: str) -> httpx.Response:
        project = self._project(ref)
        for name in rec.json():
            project.secrets.pop(name, None)
        return httpx.Response(200)

    # -- functions -------------------------------------------------------------
    def list_functions(self, rec: Recorded, ref: str) -> httpx.Response:
        return httpx.Response(200, json=list(self._project(ref).functions.values()))

    def get_function(self, rec: Recorded, ref: str, function_slug: str) -> httpx.Response:
        project = self._project(ref)
        if function_slug not in project.functions:
            return httpx.Response(404, json={"message": f"Function {function_slug} not found"})
        return httpx.Response(200, json=project.functions[function_slug])

    def delete_function(self, rec: Recorded, ref: str, function_slug: str) -> httpx.Response:
        project = self._project(ref)
        if function_slug not in project.functions:
            return httpx.Response(404, json={"message": f"Function {function_slug} not found"})
        del project.functions[function_slug]
        project.function_files.pop(function_slug, None)
        return httpx.Response(200)

    def deploy_function(self, rec: Recorded, ref: str) -> httpx.Response:
        return self._deploy(self._project(ref), rec, rec.ctype)

    def _deploy(self, project: Project, call: Recorded, ctype: str) -> httpx.Response:
        parts = parse_multipart(ctype, call.body)
        meta_raw = [d for n, _, d in parts if n == "metadata"]
        if not meta_raw:
            return httpx.Response(400, json={"message": "metadata is required"})
        meta = json.loads(meta_raw[0])
        files = {f: d for n, f, d in parts if n == "file" and f}
        slug = (call.query.get("slug") or [meta.get("name")])[0]
        if not slug:
            return httpx.Response(400, json={"message": "slug is required"})
        if meta["entrypoint_path"] not in files:
            return httpx.Response(400, json={"message": f"entrypoint {meta['entrypoint_path']} was not uploaded"})
        if meta.get("import_map_path") and meta["import_map_path"] not in files:
            return httpx.Response(400, json={"message": f"import map {meta['import_map_path']} was not uploaded"})
        missing = bundle_missing(meta["entrypoint_path"], meta.get("import_map_path") or None, files)
        if missing:
            return httpx.Response(400, json={"message": f"Failed to bundle the function: module not found {missing}"})
        static = sorted(f for f in files for pat in meta.get("static_patterns") or [] if glob_match(pat, f))
        now = int(time.time() * 1000)
        old = project.functions.get(slug)
        fn = {"id": old["id"] if old else str(uuid.uuid4()), "slug": slug, "name": meta.get("name") or slug,
              "status": "ACTIVE", "version": (old["version"] + 1) if old else 1,
              "created_at": old["created_at"] if old else now, "updated_at": now,
              "verify_jwt": bool(meta.get("verify_jwt", True)), "import_map": bool(meta.get("import_map_path")),
              "entrypoint_path": meta["entrypoint_path"],
              "ezbr_sha256": hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()}
        if meta.get("import_map_path"):
            fn["import_map_path"] = meta["import_map_path"]
        project.functions[slug] = fn
        project.function_files[slug] = files
        project.function_meta[slug] = meta
        project.function_static[slug] = list(dict.fromkeys(static))
        return httpx.Response(201, json=fn)


def supabase_provider(fake: FakeSupabaseApi, root: Any, *, settings: dict[str, Any] | None = None,
                      environ: dict[str, str] | None = None, **ctx: Any) -> Any:
    """A ``SupabaseProvider`` wired to ``fake``."""
    from moai_adk.providers.base import ProviderContext
    from moai_adk.providers.supabase import SupabaseProvider

    env = {"SUPABASE_ACCESS_TOKEN": "sbp_test", "MOAI_SUPABASE_API_URL": fake.base_url}
    if environ is not None:
        env = {"MOAI_SUPABASE_API_URL": fake.base_url, **environ}
    ctx.setdefault("sleep", lambda _s: None)
    table = dict(settings or {})
    environments = table.pop("environments", {})  # [environments.<env>] tables, as workspace passes them
    return SupabaseProvider(ProviderContext(root=root, settings=table, environ=env, environments=environments,
                                            transport=fake.transport(), **ctx))
