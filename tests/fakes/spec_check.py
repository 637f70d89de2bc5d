"""The spec layer of the fakes: requests and answers checked against the
platforms' official API specs.

The specs are the in-repo subsets in ``tests/fakes/specs/`` (written by
``scripts/update-specs`` from ``../shared/provider-specs``): Vercel's OpenAPI
3.0, Netlify's Swagger 2.0, Supabase's Management OpenAPI 3.0 (checked here
by ``Spec``) and Firebase Hosting's discovery document (checked by
``spec_check_discovery.DiscoveryDoc``), and ``supabase-storage.json``, the bucket routes of a
project's Storage API written by hand from supabase/storage's route schemas (Storage publishes no
OpenAPI file; ``scripts/update-specs`` leaves it alone). Both expose the same three calls the
fakes use:

- ``match_id(method, path)``: the operation id, or ``None``;
- ``check_request(rec) -> (operation id, problems)``: method + path template,
  path and query parameters (names, required ones, values against their
  schema), the body's media type, a JSON body against the request schema and
  a multipart body's fields;
- ``check_response(op_id, status, content_type, body) -> problems``: the status
  is one the operation declares (for 2xx) and a JSON answer validates against
  the response schema declared for that status.

Known exceptions (calls or fields the vendors' own clients use that the
public spec lacks, answers the real API gives that the spec cannot express)
are listed below with the reason.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import jsonschema

if TYPE_CHECKING:
    from . import Recorded

SPECS_DIR = Path(__file__).resolve().with_name("specs")
PLATFORMS = ("vercel", "netlify", "firebase", "supabase", "supabase-storage")
# Google APIs described by discovery documents (the Firebase backend's), and the fakes that serve several
DISCOVERY = ("firebase", "firebaserules", "firestore", "identitytoolkit", "firebasemanagement")
COMBINED: dict[str, tuple[str, ...]] = {
    "firebase_backend": ("firebase", "firebaserules", "firestore", "identitytoolkit", "firebasemanagement"),
}

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
# platform -> why its ``oneOf`` is read as ``anyOf``
ONE_OF_AS_ANY_OF: dict[str, str] = {
    "vercel": "Vercel's OpenAPI is generated from TypeScript unions, which need not be exclusive: a full deployment "
              "matches both branches of getDeployment's oneOf, any object matches both of uploadFile's.",
}
# platform -> why ``null`` values are dropped from answers before validation
NULLS_IN_ANSWERS: dict[str, str] = {
    "netlify": "Swagger 2.0 cannot mark a field nullable; Netlify answers null for unset fields (published_deploy "
               "of a site never deployed, error_message, branch, title), as its Go and JS clients expect.",
}


class Checker(Protocol):
    platform: str

    def match_id(self, method: str, path: str) -> str | None: ...

    def check_request(self, rec: Recorded) -> tuple[str | None, list[str]]: ...

    def check_response(self, op_id: str, status: int, content_type: str, body: bytes) -> list[str]: ...


@dataclass
class Operation:
    op_id: str
    method: str
    template: str
    regex: re.Pattern[str]
    literal: int
    params: dict[str, tuple[str, bool, dict[str, Any]]] = field(default_factory=dict)  # name -> (in, required, schema)
    body_schema: dict[str, Any] | None = None
    body_required: bool = False
    media_types: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # media type -> schema
    responses: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # status -> JSON schema or None


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


def _any_of(node: Any) -> Any:
    if isinstance(node, dict):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        for v in node.values():
            _any_of(v)
    elif isinstance(node, list):
        for v in node:
            _any_of(v)
    return node


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def template_regex(template: str) -> tuple[re.Pattern[str], int]:
    parts = re.split(r"(\{\w+\})", template)
    out = []
    literal = 0
    for p in parts:
        if p.startswith("{"):
            name = p[1:-1]
            out.append(f"(?P<{name}>.+)" if name == "path" else f"(?P<{name}>[^/]+)")
        else:
            out.append(re.escape(p))
            literal += len(p)
    return re.compile("^" + "".join(out) + "$"), literal


def parse_multipart(ctype: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """(field name, file name or None, bytes) of each part of a multipart/form-data body."""
    msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
    out = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        out.append((str(name), part.get_filename(), payload if isinstance(payload, bytes) else b""))
    return out


def _typed(value: str, schema: dict[str, Any]) -> Any:
    """A query/path string as the JSON value its schema describes (left as is when it does not parse)."""
    typ = schema.get("type")
    if typ == "array":
        return [_typed(v, schema.get("items") or {}) for v in value.split(",")]
    try:
        if typ == "integer":
            return int(value)
        if typ == "number":
            return float(value)
    except ValueError:
        return value
    if typ == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


class Spec:
    """An OpenAPI 3.0 or Swagger 2.0 document (or the in-repo subset of one)."""

    def __init__(self, platform: str, doc: dict[str, Any]) -> None:
        self.platform = platform
        self.swagger = "swagger" in doc
        self.doc = doc if self.swagger else _nullable(copy.deepcopy(doc))
        if platform in ONE_OF_AS_ANY_OF:
            _any_of(self.doc)
        self.ops: list[Operation] = []
        self._validators: dict[int, jsonschema.Draft4Validator] = {}
        for template, item in self.doc.get("paths", {}).items():
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    self.ops.append(self._operation(template, method, op, item.get("parameters", [])))
        self.ops.sort(key=lambda o: -o.literal)

    def _operation(self, template: str, method: str, op: dict[str, Any], shared: list[Any]) -> Operation:
        regex, literal = template_regex(template)
        o = Operation(op.get("operationId", f"{method} {template}"), method.upper(), template, regex, literal)
        for param in [*shared, *op.get("parameters", [])]:
            param = self.deref(param)
            where = param.get("in")
            if where == "body":
                o.body_schema, o.body_required = param.get("schema"), bool(param.get("required"))
            elif where in ("query", "path"):
                schema = param.get("schema") or {k: v for k, v in param.items()
                                                  if k in ("type", "format", "enum", "pattern", "items", "minimum",
                                                           "maximum", "minLength", "maxLength")}
                o.params[param["name"]] = (where, bool(param.get("required")), schema)
        if self.swagger:
            consumes = op.get("consumes") or self.doc.get("consumes") or ["application/json"]
            o.media_types = {m: o.body_schema for m in consumes}
            for status, resp in op.get("responses", {}).items():
                o.responses[status] = self.deref(resp).get("schema")
        else:
            body = self.deref(op.get("requestBody") or {})
            o.media_types = {m: c.get("schema") for m, c in (body.get("content") or {}).items()}
            o.body_required = bool(body.get("required"))
            o.body_schema = o.media_types.get("application/json")
            for status, resp in op.get("responses", {}).items():
                content = self.deref(resp).get("content") or {}
                o.responses[status] = (content.get("application/json") or {}).get("schema")
        return o

    def deref(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if not ref:
            return node
        target: Any = self.doc
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return self.deref(target)

    def match(self, method: str, path: str) -> Operation | None:
        for o in self.ops:
            if o.method == method and o.regex.match(path):
                return o
        return None

    def match_id(self, method: str, path: str) -> str | None:
        op = self.match(method, path)
        return op.op_id if op else None

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft4Validator:
        found = self._validators.get(id(schema))
        if found is None:
            root = dict(schema)
            for key in ("definitions", "components"):
                if key in self.doc:
                    root[key] = self.doc[key]
            found = self._validators[id(schema)] = jsonschema.Draft4Validator(root)
        return found

    def errors(self, value: Any, schema: dict[str, Any], where: str) -> list[str]:
        out = []
        for err in self.validator(schema).iter_errors(value):
            loc = "/".join(str(p) for p in err.absolute_path) or "<top>"
            out.append(f"{where} {loc}: {err.message[:200]}")
        return out

    # -- requests ------------------------------------------------------------
    def check(self, rec: Recorded) -> list[str]:
        return self.check_request(rec)[1]

    def check_request(self, rec: Recorded) -> tuple[str | None, list[str]]:
        where = f"{rec.method} {rec.path}"
        op = self.match(rec.method, rec.path)
        if op is None:
            for (platform, method, template), _why in KNOWN_EXCEPTIONS.items():
                if platform == self.platform and method == rec.method and template_regex(template)[0].match(rec.path):
                    return None, []
            return None, [f"{where}: no operation in the {self.platform} spec"]
        where = f"{where} ({op.op_id})"
        problems = self._params(op, rec, where)
        ctype = rec.headers.get("content-type", "")
        media = ctype.split(";")[0].strip()
        if rec.body:
            if not op.media_types:
                if (self.platform, op.op_id) not in KNOWN_BODIES or media != "application/json":
                    problems.append(f"{where}: sends a body but the operation takes none")
            elif media not in op.media_types:
                problems.append(f"{where}: content type {media!r} not in {sorted(op.media_types)}")
            elif media == "application/json" and op.body_schema is not None:
                problems += self.errors(self._without_known_extras(op, rec.json()), op.body_schema, f"{where}: body")
            elif media == "multipart/form-data" and op.media_types[media] is not None:
                problems += self._multipart(parse_multipart(ctype, rec.body), op.media_types[media] or {}, where)
        elif op.body_required and op.body_schema is not None and op.body_schema.get("type") not in (None, "object"):
            problems.append(f"{where}: the operation requires a body")
        return op.op_id, problems

    def _params(self, op: Operation, rec: Recorded, where: str) -> list[str]:
        problems = []
        found = op.regex.match(rec.path)
        for name, value in (found.groupdict() if found else {}).items():
            _, _, schema = op.params.get(name, ("path", True, {}))
            problems += self.errors(_typed(value, schema), schema, f"{where}: path parameter {name}={value!r}")
        for name, values in rec.query.items():
            where_in, _, schema = op.params.get(name, ("", False, {}))
            if where_in != "query":
                problems.append(f"{where}: query parameter '{name}' is not in the spec")
                continue
            for v in values:
                problems += self.errors(_typed(v, schema), schema, f"{where}: query {name}={v!r}")
        for name, (where_in, required, _) in op.params.items():
            if required and where_in == "query" and name not in rec.query:
                problems.append(f"{where}: required query parameter '{name}' is missing")
        return problems

    def _without_known_extras(self, op: Operation, body: Any) -> Any:
        extra = KNOWN_EXTRA_FIELDS.get((self.platform, op.op_id))
        if extra and extra[0] == "files[].mode" and isinstance(body, dict):
            body = copy.deepcopy(body)
            for f in body.get("files") or []:
                if isinstance(f, dict):
                    f.pop("mode", None)
        return body

    def _multipart(self, parts: list[tuple[str, str | None, bytes]], schema: dict[str, Any], where: str) -> list[str]:
        schema = self.deref(schema)
        props = schema.get("properties", {})
        names = [n for n, _, _ in parts]
        errs = [f"{where}: unknown form field {n!r}" for n in dict.fromkeys(names) if n not in props]
        errs += [f"{where}: form field {r!r} is required" for r in schema.get("required", []) if r not in names]
        for name, filename, data in parts:
            prop = self.deref(props.get(name, {}))
            item = self.deref(prop.get("items", prop)) if prop.get("type") == "array" else prop
            if item.get("format") == "binary":
                if filename is None:
                    errs.append(f"{where}: form field {name!r} must be a file part")
            elif item.get("type") == "object" or "$ref" in props.get(name, {}):
                try:
                    errs += self.errors(json.loads(data), item, f"{where}: form field {name!r}")
                except json.JSONDecodeError:
                    errs.append(f"{where}: form field {name!r} is not JSON")
        return errs

    # -- answers -------------------------------------------------------------
    def check_response(self, op_id: str, status: int, content_type: str, body: bytes) -> list[str]:
        op = next(o for o in self.ops if o.op_id == op_id)
        where = f"{op.method} {op.template} ({op_id}) answered {status}"
        code = str(status)
        if code in op.responses:
            schema = op.responses[code]
        elif f"{code[0]}XX" in op.responses:
            schema = op.responses[f"{code[0]}XX"]
        elif status < 300:
            return [f"{where}: the spec declares no {status} answer (only {sorted(op.responses)})"]
        elif "default" in op.responses:
            schema = op.responses["default"]
        else:
            return []
        if schema is None or not body or not content_type.startswith("application/json"):
            return []
        data = json.loads(body)
        if self.platform in NULLS_IN_ANSWERS:
            data = _drop_nulls(data)
        return self.errors(data, schema, f"{where}: answer")


@cache
def load(platform: str) -> Checker:
    """The checker of ``platform`` over its in-repo spec subset (loaded once per process); a fake serving
    several APIs (``COMBINED``) gets one checker over all their subsets."""
    if platform in COMBINED:
        from .spec_check_discovery import Combined

        return Combined([load(p) for p in COMBINED[platform]])
    doc = json.loads((SPECS_DIR / f"{platform}.json").read_text(encoding="utf-8"))
    return from_doc(platform, doc)


def from_doc(platform: str, doc: dict[str, Any]) -> Checker:
    if platform in DISCOVERY:
        from .spec_check_discovery import DiscoveryDoc

        return DiscoveryDoc(doc)
    if platform not in PLATFORMS:
        raise ValueError(platform)
    return Spec(platform, doc)


def sample_path(template: str) -> str:
    """A concrete path for a fake's route template (``{path}`` holds a slash, as file paths do)."""
    return template.replace("{path}", "a/b.txt").replace("{", "x").replace("}", "")


def uncovered_routes(fake: Any, checker: Checker | None = None) -> list[str]:
    """The routes of ``fake`` that match no operation of its spec (and are no listed known exception)."""
    checker = checker or load(fake.label)
    return [f"{method} {template}" for method, template in fake.templates
            if (fake.label, method, template) not in KNOWN_EXCEPTIONS
            and checker.match_id(method, sample_path(template)) is None]


def check_all(platform: str, requests: list[Recorded]) -> list[str]:
    spec = load(platform)
    problems: list[str] = []
    for rec in requests:
        problems.extend(spec.check_request(rec)[1])
    return problems


def operations_used(platform: str, requests: list[Recorded]) -> set[str]:
    spec = load(platform)
    return {spec.match_id(rec.method, rec.path) or f"{rec.method} {rec.path}" for rec in requests}
