"""Check recorded requests against the platforms' official API specs.

Each request must match an operation (method + path template) of
``vercel-openapi.json`` (OpenAPI 3.0) or ``netlify-swagger.yml`` (Swagger
2.0), use only the query parameters that operation declares (and all the
required ones), carry a body of a media type it accepts, and a JSON body
that validates against its request schema. Specs live in
``<repo>/../shared/provider-specs``; when absent, ``spec_dir()`` is ``None``
and callers skip with ``SPEC_MISSING_REASON``. Each spec is loaded once per
process (the Vercel one is 4 MB).

Known exceptions (calls or fields Vercel's own client uses that the public
spec lacks) are listed in ``KNOWN_EXCEPTIONS`` with the reason.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from . import Recorded

REPO = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO.parent / "shared" / "provider-specs"
SPEC_MISSING_REASON = f"official provider specs not found at {SPEC_DIR} (expected ../shared/provider-specs next to the repo)"

# (platform, method, path template) -> why it is allowed without a spec operation
KNOWN_EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("vercel", "POST", "/v9/projects/{projectId}/rollback/{deploymentId}"):
        "Vercel's CLI rolls back with this call (commands/rollback/request-rollback.ts); the public OpenAPI has no rollback.",
}
# (platform, operationId) -> why a JSON body is sent where the spec declares none
KNOWN_BODIES: dict[tuple[str, str], str] = {
    ("vercel", "requestPromote"):
        "Vercel's CLI sends `{}` and marks it required (commands/promote/request-promote.ts); the public OpenAPI "
        "declares no request body for the operation.",
}
# (platform, operationId) -> field paths removed before schema validation, with the reason
KNOWN_EXTRA_FIELDS: dict[tuple[str, str], tuple[str, str]] = {
    ("vercel", "createDeployment"): (
        "files[].mode",
        "Vercel's client sends each file's POSIX mode (packages/client utils prepareFiles); UploadedFile in the "
        "public schema does not list it.",
    ),
}


def spec_dir() -> Path | None:
    return SPEC_DIR if (SPEC_DIR / "vercel-openapi.json").is_file() and (SPEC_DIR / "netlify-swagger.yml").is_file() else None


@dataclass
class Operation:
    op_id: str
    method: str
    template: str
    regex: re.Pattern[str]
    literal: int
    query: dict[str, bool] = field(default_factory=dict)  # name -> required
    body_schema: dict[str, Any] | None = None
    body_required: bool = False
    media_types: tuple[str, ...] = ()


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` -> JSON Schema ``anyOf [.., null]`` (in place, recursively)."""
    if isinstance(node, dict):
        for v in node.values():
            _nullable(v)
        if node.pop("nullable", False):
            inner = {k: node.pop(k) for k in list(node) if k not in ("description", "example")}
            if "enum" in inner and None not in inner["enum"]:
                inner["enum"] = [*inner["enum"], None]
            node["anyOf"] = [inner, {"type": "null"}]
        elif "enum" in node and None in node["enum"] and node.get("type") == "string":
            node["type"] = ["string", "null"]
    elif isinstance(node, list):
        for v in node:
            _nullable(v)
    return node


def _template_regex(template: str) -> tuple[re.Pattern[str], int]:
    parts = re.split(r"(\{\w+\})", template)
    out = []
    literal = 0
    for p in parts:
        if p.startswith("{"):
            out.append("(.+)" if p == "{path}" else "([^/]+)")
        else:
            out.append(re.escape(p))
            literal += len(p)
    return re.compile("^" + "".join(out) + "$"), literal


class Spec:
    def __init__(self, platform: str, doc: dict[str, Any]) -> None:
        self.platform = platform
        self.doc = doc
        self.ops: list[Operation] = []
        swagger = "swagger" in doc
        for template, item in doc.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                regex, literal = _template_regex(template)
                o = Operation(op.get("operationId", f"{method} {template}"), method.upper(), template, regex, literal)
                for param in [*shared, *op.get("parameters", [])]:
                    param = self._deref(param)
                    if param.get("in") == "query":
                        o.query[param["name"]] = bool(param.get("required"))
                    elif param.get("in") == "body":
                        o.body_schema = param.get("schema")
                        o.body_required = bool(param.get("required"))
                if swagger:
                    o.media_types = tuple(op.get("consumes") or doc.get("consumes") or ["application/json"])
                else:
                    body = op.get("requestBody") or {}
                    content = body.get("content") or {}
                    o.media_types = tuple(content)
                    o.body_required = bool(body.get("required"))
                    if "application/json" in content:
                        o.body_schema = content["application/json"].get("schema")
                self.ops.append(o)
        self.ops.sort(key=lambda o: -o.literal)

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if not ref:
            return node
        target: Any = self.doc
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return target

    def match(self, method: str, path: str) -> Operation | None:
        for o in self.ops:
            if o.method == method and o.regex.match(path):
                return o
        return None

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft4Validator:
        root = dict(schema)
        for key in ("definitions", "components"):
            if key in self.doc:
                root[key] = self.doc[key]
        return jsonschema.Draft4Validator(root)

    def check(self, rec: Recorded) -> list[str]:
        where = f"{rec.method} {rec.path}"
        op = self.match(rec.method, rec.path)
        if op is None:
            for (platform, method, template), _why in KNOWN_EXCEPTIONS.items():
                if platform == self.platform and method == rec.method and _template_regex(template)[0].match(rec.path):
                    return []
            return [f"{where}: no operation in the {self.platform} spec"]
        problems = []
        for name in rec.query:
            if name not in op.query:
                problems.append(f"{where} ({op.op_id}): query parameter '{name}' is not in the spec")
        for name, required in op.query.items():
            if required and name not in rec.query:
                problems.append(f"{where} ({op.op_id}): required query parameter '{name}' is missing")
        ctype = rec.headers.get("content-type", "").split(";")[0].strip()
        if rec.body:
            if not op.media_types:
                if (self.platform, op.op_id) not in KNOWN_BODIES or ctype != "application/json":
                    problems.append(f"{where} ({op.op_id}): sends a body but the operation takes none")
            elif ctype not in op.media_types:
                problems.append(f"{where} ({op.op_id}): content type {ctype!r} not in {op.media_types}")
        elif op.body_required and op.body_schema is not None and op.body_schema.get("type") not in (None, "object"):
            problems.append(f"{where} ({op.op_id}): the operation requires a body")
        if rec.body and ctype == "application/json" and op.body_schema is not None:
            body = rec.json()
            extra = KNOWN_EXTRA_FIELDS.get((self.platform, op.op_id))
            if extra and extra[0] == "files[].mode" and isinstance(body, dict):
                body = copy.deepcopy(body)
                for f in body.get("files") or []:
                    if isinstance(f, dict):
                        f.pop("mode", None)
            for err in self.validator(op.body_schema).iter_errors(body):
                loc = "/".join(str(p) for p in err.absolute_path) or "<body>"
                problems.append(f"{where} ({op.op_id}): body {loc}: {err.message[:200]}")
        return problems


@cache
def load(platform: str) -> Spec:
    folder = spec_dir()
    if folder is None:
        raise FileNotFoundError(SPEC_MISSING_REASON)
    if platform == "vercel":
        doc = json.loads((folder / "vercel-openapi.json").read_text(encoding="utf-8"))
        return Spec("vercel", _nullable(doc))
    if platform == "netlify":
        doc = yaml.load((folder / "netlify-swagger.yml").read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return Spec("netlify", doc)
    raise ValueError(platform)


def check_all(platform: str, requests: list[Recorded]) -> list[str]:
    spec = load(platform)
    problems: list[str] = []
    for rec in requests:
        problems.extend(spec.check(rec))
    return problems


def operations_used(platform: str, requests: list[Recorded]) -> set[str]:
    spec = load(platform)
    out = set()
    for rec in requests:
        op = spec.match(rec.method, rec.path)
        out.add(op.op_id if op else f"{rec.method} {rec.path}")
    return out
