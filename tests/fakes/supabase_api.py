"""A stateful fake of the Supabase Management API (secrets and edge functions),
with every request checked against ``supabase-management-openapi.json``.

State: projects by ref, each with secrets (the API answers digests, never
values) and edge functions (version bumped on each deploy, files kept as sent).
Requests that break the OpenAPI document (unknown route or query parameter,
path/query values outside their schema, a JSON or multipart body that does
not fit the request schema) are answered 400 and recorded in ``violations``.
Without ``../shared/provider-specs`` the fake still enforces its own rules
(reserved names, sizes, entrypoint present) and skips the spec check.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

import httpx

from .spec_check_discovery import specs_dir


class SpecViolation(AssertionError):
    pass


class OpenApiCheck:
    """Route + parameter + body check of requests against an OpenAPI 3.0 document."""

    def __init__(self, doc: dict[str, Any]) -> None:
        from jsonschema import Draft7Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        self.doc = doc
        self._validator_cls = Draft7Validator
        self.registry = Registry().with_resource("urn:api", Resource(contents=doc, specification=DRAFT7))
        routes = []
        for template, item in doc["paths"].items():
            rx = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
            literal = len(re.sub(r"\{\w+\}", "", template))
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    routes.append((literal, method.upper(), rx, template, op))
        self.routes = sorted(routes, key=lambda r: -r[0])  # literal segments win over parameters

    @classmethod
    def load(cls) -> OpenApiCheck | None:
        folder = specs_dir()
        path = folder / "supabase-management-openapi.json" if folder else None
        return cls(json.loads(path.read_text())) if path and path.is_file() else None

    def _errors(self, value: Any, schema: dict[str, Any]) -> list[str]:
        if "$ref" in schema:
            schema = {"$ref": "urn:api" + schema["$ref"]}
        validator = self._validator_cls(schema, registry=self.registry)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(value)]

    def check(self, method: str, path: str, query: dict[str, list[str]], ctype: str, body: bytes) -> str:
        matches = [r for r in self.routes if r[2].match(path)]
        if not matches:
            raise SpecViolation(f"{method} {path}: no such path in the OpenAPI document")
        found = next((r for r in matches if r[1] == method), None)
        if found is None:
            raise SpecViolation(f"{method} {path}: path exists but not for {method}")
        _, _, rx, template, op = found
        params = {p["name"]: p for p in op.get("parameters", [])}
        for name, value in rx.match(path).groupdict().items():  # type: ignore[union-attr]
            errs = self._errors(value, params[name]["schema"])
            if errs:
                raise SpecViolation(f"{op['operationId']}: path parameter {name}={value!r}: {errs[0]}")
        for name, values in query.items():
            p = params.get(name)
            if p is None or p.get("in") != "query":
                raise SpecViolation(f"{op['operationId']}: unknown query parameter {name!r}")
            for v in values:
                typed: Any = {"true": True, "false": False}.get(v, v) if p["schema"].get("type") == "boolean" else v
                errs = self._errors(typed, p["schema"])
                if errs:
                    raise SpecViolation(f"{op['operationId']}: query {name}={v!r}: {errs[0]}")
        for name, p in params.items():
            if p.get("required") and p.get("in") == "query" and name not in query:
                raise SpecViolation(f"{op['operationId']}: required query parameter {name!r} missing")
        rb = op.get("requestBody")
        if rb is None:
            if body:
                raise SpecViolation(f"{op['operationId']}: takes no body")
            return str(op["operationId"])
        if not body:
            if rb.get("required"):
                raise SpecViolation(f"{op['operationId']}: request body required")
            return str(op["operationId"])
        media = ctype.split(";")[0].strip()
        content = rb["content"]
        if media not in content:
            raise SpecViolation(f"{op['operationId']}: content type {media!r} not in {sorted(content)}")
        schema = content[media]["schema"]
        if media == "application/json":
            errs = self._errors(json.loads(body), schema)
        elif media == "multipart/form-data":
            errs = self._multipart_errors(parse_multipart(ctype, body), schema)
        else:
            errs = []
        if errs:
            raise SpecViolation(f"{op['operationId']}: {errs[0]}")
        return str(op["operationId"])

    def _multipart_errors(self, parts: list[tuple[str, str | None, bytes]], schema: dict[str, Any]) -> list[str]:
        if "$ref" in schema:
            schema = self.registry.resolver().lookup("urn:api" + schema["$ref"]).contents
        props = schema.get("properties", {})
        names = [n for n, _, _ in parts]
        errs = [f"unknown form field {n!r}" for n in dict.fromkeys(names) if n not in props]
        errs += [f"form field {r!r} is required" for r in schema.get("required", []) if r not in names]
        for name, filename, data in parts:
            prop = props.get(name, {})
            item = prop.get("items", prop) if prop.get("type") == "array" else prop
            if item.get("format") == "binary":
                if filename is None:
                    errs.append(f"form field {name!r} must be a file part")
                continue
            if item.get("type") == "object":
                try:
                    errs += self._errors(json.loads(data), item)
                except json.JSONDecodeError:
                    errs.append(f"form field {name!r} is not JSON")
        return errs


def parse_multipart(ctype: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
    out = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out.append((str(name), part.get_filename(), part.get_payload(decode=True) or b""))
    return out


SPEC = OpenApiCheck.load()

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


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    ctype: str = ""
    status: int = 0


class FakeSupabaseApi:
    def __init__(self, base_url: str = "https://supabase-api.fake", *, tokens: tuple[str, ...] = ("sbp_test",),
                 refs: tuple[str, ...] = ("abcdefghijklmnopqrst",), check_spec: bool = True) -> None:
        self.base_url = base_url
        self.tokens = set(tokens)
        self.projects = {r: Project(r) for r in refs}
        self.spec = SPEC if check_spec else None
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.bursts = 0
        self.lock = threading.RLock()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        call = Call(request.method, request.url.path, parse_qs(request.url.query.decode(), keep_blank_values=True), body,
                    request.headers.get("content-type", ""))
        with self.lock:
            self.calls.append(call)
            resp = self._dispatch(request, call)
        call.status = resp.status_code
        return resp

    def _dispatch(self, request: httpx.Request, call: Call) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return httpx.Response(401, json={"message": "Unauthorized"})
        if self.bursts > 0:
            self.bursts -= 1
            return httpx.Response(429, json={"message": "Rate limit exceeded"}, headers={"Retry-After": "0"})
        ctype = request.headers.get("content-type", "")
        if self.spec is not None:
            try:
                self.spec.check(call.method, call.path, call.query, ctype, call.body)
            except SpecViolation as exc:
                self.violations.append(str(exc))
                return httpx.Response(400, json={"message": f"spec violation: {exc}"})
        m = re.fullmatch(r"/v1/projects/([^/]+)/(secrets|functions|functions/deploy|functions/([^/]+))", call.path)
        if not m:
            return httpx.Response(404, json={"message": "Not found"})
        project = self.projects.get(m.group(1))
        if project is None:
            return httpx.Response(404, json={"message": f"Project {m.group(1)} not found"})
        route = (call.method, m.group(2) if not m.group(3) or m.group(2) == "functions/deploy" else "functions/{slug}")
        if route == ("GET", "secrets"):
            return httpx.Response(200, json=[
                {"name": k, "value": hashlib.sha256(v.encode()).hexdigest(), "updated_at": t}
                for k, (v, t) in sorted(project.secrets.items())])
        if route == ("POST", "secrets"):
            items = json.loads(call.body)
            for item in items:
                if item["name"].startswith("SUPABASE_") or len(item["value"]) > 24576:
                    return httpx.Response(400, json={"message": f"Invalid secret {item['name']}"})
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for item in items:
                project.secrets[item["name"]] = (item["value"], now)
            return httpx.Response(201)
        if route == ("DELETE", "secrets"):
            for name in json.loads(call.body):
                project.secrets.pop(name, None)
            return httpx.Response(200)
        if route == ("POST", "functions/deploy"):
            return self._deploy(project, call, ctype)
        if route == ("GET", "functions"):
            return httpx.Response(200, json=list(project.functions.values()))
        if route[1] == "functions/{slug}":
            slug = m.group(3)
            if slug not in project.functions:
                return httpx.Response(404, json={"message": f"Function {slug} not found"})
            if call.method == "GET":
                return httpx.Response(200, json=project.functions[slug])
            if call.method == "DELETE":
                del project.functions[slug]
                project.function_files.pop(slug, None)
                return httpx.Response(200)
        return httpx.Response(405, json={"message": "Method not allowed"})

    def _deploy(self, project: Project, call: Call, ctype: str) -> httpx.Response:
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
