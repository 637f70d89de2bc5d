"""Check HTTP requests (and the fake's answers) against a Google API Discovery document.

``DiscoveryDoc.check(method, path, query, body)`` finds the API method whose
``httpMethod`` and ``flatPath`` match, checks the path parameters against
their ``pattern``, every query parameter against the method's and the API's
global parameters (types, enums, field masks naming real fields), and the JSON
body against the method's request schema (unknown or read-only fields, types,
formats, enums). It returns the method id (``firebasehosting.projects.sites.
versions.create``) or raises ``SpecViolation``. ``check_response_data`` validates
an answer against the method's response schema. ``check_request`` and
``check_response`` give the same interface as ``spec_check.Spec`` (problems as
a list) so every fake shares one spec layer. The document is the in-repo
subset ``tests/fakes/specs/firebase.json`` (see ``spec_check.load``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Recorded


class SpecViolation(AssertionError):
    pass


@dataclass
class _Method:
    id: str
    http: str
    regex: re.Pattern[str]
    path_template: str
    params: dict[str, Any]
    request: str | None
    response: str | None


def _walk(resources: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for res in resources.values():
        out.extend(res.get("methods", {}).values())
        out.extend(_walk(res.get("resources", {})))
    return out


def _flat_regex(flat: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/:]+)", re.escape(flat))
    return re.compile("^/" + pattern + "$")


class DiscoveryDoc:
    platform = "firebase"

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.schemas: dict[str, Any] = doc["schemas"]
        self.global_params: dict[str, Any] = doc.get("parameters", {})
        self.methods: list[_Method] = []
        for m in _walk(doc["resources"]):
            flat = m.get("flatPath") or m["path"]
            self.methods.append(_Method(m["id"], m["httpMethod"], _flat_regex(flat), m["path"], m.get("parameters", {}),
                                        (m.get("request") or {}).get("$ref"), (m.get("response") or {}).get("$ref")))

    # -- the interface shared with spec_check.Spec -----------------------------
    def match_id(self, method: str, path: str) -> str | None:
        try:
            return self.match(method, path)[0].id
        except SpecViolation:
            return None

    def check_request(self, rec: Recorded) -> tuple[str | None, list[str]]:
        try:
            body = json.loads(rec.body) if rec.body else None
        except json.JSONDecodeError:
            return self.match_id(rec.method, rec.path), [f"{rec.method} {rec.path}: the body is not JSON"]
        try:
            return self.check(rec.method, rec.path, rec.query, body), []
        except SpecViolation as exc:
            return self.match_id(rec.method, rec.path), [str(exc)]

    def check_response(self, op_id: str, status: int, content_type: str, body: bytes) -> list[str]:
        """Success answers against the method's response schema (the document describes no error bodies)."""
        if not 200 <= status < 300 or not body or not content_type.startswith("application/json"):
            return []
        try:
            self.check_response_data(op_id, json.loads(body))
        except SpecViolation as exc:
            return [f"{op_id} answered {status}: {exc}"]
        return []

    # ------------------------------------------------------------------
    def match(self, method: str, path: str) -> tuple[_Method, str]:
        candidates = [m for m in self.methods if m.regex.match(path)]
        if not candidates:  # a {+name} whose pattern allows '/' (a Rules release "firebase.storage/<bucket>")
            candidates = [m for m in self.methods if self._fits_template(m, path)]
        if not candidates:
            raise SpecViolation(f"{method} {path}: no method of the discovery doc has this path")
        for m in candidates:
            if m.http == method:
                return m, path
        raise SpecViolation(f"{method} {path}: path exists but not for {method} (only {sorted({m.http for m in candidates})})")

    def _fits_template(self, m: _Method, path: str) -> bool:
        try:
            params = self._path_params(m, path)
        except SpecViolation:
            return False
        return all(re.match(m.params.get(k, {}).get("pattern") or ".*", v) for k, v in params.items())

    def _path_params(self, m: _Method, path: str) -> dict[str, str]:
        # template like "v1beta1/{+parent}/versions:clone" or "v1beta1/{+name}"
        rx = "^/" + re.sub(r"\\\{\\\+?(\w+)\\\}", r"(?P<\1>.+?)", re.escape(m.path_template)) + "$"
        found = re.match(rx, path)
        if not found:
            raise SpecViolation(f"{path}: does not fit the method path {m.path_template}")
        return found.groupdict()

    def check(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> str:
        m, _ = self.match(method, path)
        for name, value in self._path_params(m, path).items():
            pattern = m.params.get(name, {}).get("pattern")
            if pattern and not re.match(pattern, value):
                raise SpecViolation(f"{m.id}: path parameter {name}={value!r} does not match {pattern}")
        for name, values in query.items():
            spec = m.params.get(name) or self.global_params.get(name)
            if spec is None or spec.get("location") != "query":
                raise SpecViolation(f"{m.id}: unknown query parameter {name!r}")
            for v in values:
                self._check_query_value(m, name, spec, v)
        for name, spec in m.params.items():
            if spec.get("required") and spec.get("location") == "query" and name not in query:
                raise SpecViolation(f"{m.id}: required query parameter {name!r} missing")
        if m.request is None:
            if body not in (None, b"", {}):
                raise SpecViolation(f"{m.id}: this method takes no request body")
        elif body is not None:
            self.check_value(body, {"$ref": m.request}, m.request, request=True)
        return m.id

    def _check_query_value(self, m: _Method, name: str, spec: dict[str, Any], value: str) -> None:
        typ = spec.get("type")
        if typ == "integer" and not re.fullmatch(r"-?\d+", value):
            raise SpecViolation(f"{m.id}: query {name}={value!r} is not an integer")
        if typ == "boolean" and value not in ("true", "false"):
            raise SpecViolation(f"{m.id}: query {name}={value!r} is not a boolean")
        if "enum" in spec and value not in spec["enum"]:
            raise SpecViolation(f"{m.id}: query {name}={value!r} not in {spec['enum']}")
        if spec.get("format") == "google-fieldmask" and m.request:
            fields = set(self.schemas[m.request].get("properties", {}))
            for part in value.split(","):
                if part.split(".")[0] not in fields:
                    raise SpecViolation(f"{m.id}: {name} names {part!r}, not a field of {m.request}")

    def check_response_data(self, method_id: str, data: Any) -> None:
        m = next(x for x in self.methods if x.id == method_id)
        if m.response and data is not None:
            self.check_value(data, {"$ref": m.response}, m.response, request=False)

    # ------------------------------------------------------------------
    def check_value(self, value: Any, schema: dict[str, Any], where: str, *, request: bool) -> None:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        typ = schema.get("type")
        if typ == "any" or typ is None and "properties" not in schema:
            return
        if typ == "object" or "properties" in schema:
            if not isinstance(value, dict):
                raise SpecViolation(f"{where}: expected an object, got {type(value).__name__}")
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                if props is not None and key in props:
                    sub = props[key]
                    if request and sub.get("readOnly"):
                        raise SpecViolation(f"{where}.{key}: read-only field sent in a request")
                    self.check_value(item, sub, f"{where}.{key}", request=request)
                elif extra is not None:
                    self.check_value(item, extra, f"{where}[{key!r}]", request=request)
                else:
                    raise SpecViolation(f"{where}: unknown field {key!r}")
            return
        if typ == "array":
            if not isinstance(value, list):
                raise SpecViolation(f"{where}: expected an array, got {type(value).__name__}")
            for i, item in enumerate(value):
                self.check_value(item, schema.get("items", {}), f"{where}[{i}]", request=request)
            return
        if typ == "string":
            if not isinstance(value, str):
                raise SpecViolation(f"{where}: expected a string, got {value!r}")
            fmt = schema.get("format")
            if fmt in ("int64", "uint64") and not re.fullmatch(r"-?\d+", value):
                raise SpecViolation(f"{where}: {value!r} is not an int64 string")
            if fmt == "google-duration" and not re.fullmatch(r"-?\d+(\.\d+)?s", value):
                raise SpecViolation(f"{where}: {value!r} is not a duration like '604800s'")
            if fmt == "google-datetime" and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value):
                raise SpecViolation(f"{where}: {value!r} is not an RFC 3339 UTC time")
            if "enum" in schema and value not in schema["enum"]:
                raise SpecViolation(f"{where}: {value!r} not in {schema['enum']}")
            return
        if typ == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise SpecViolation(f"{where}: expected an integer, got {value!r}")
            return
        if typ == "boolean":
            if not isinstance(value, bool):
                raise SpecViolation(f"{where}: expected a boolean, got {value!r}")
            return
        if typ == "number" and not isinstance(value, (int, float)):
            raise SpecViolation(f"{where}: expected a number, got {value!r}")


class Combined:
    """One checker over several APIs' documents (a fake serving several Google APIs): each request goes to
    the first document with a method for its path."""

    def __init__(self, checkers: list[Any]) -> None:
        self.checkers = checkers

    def _owner(self, method: str, path: str) -> Any:
        for checker in self.checkers:
            if checker.match_id(method, path) is not None:
                return checker
        for checker in self.checkers:  # the path exists, for another method: let that document say so
            try:
                checker.match(method, path)
            except SpecViolation as exc:
                if "path exists" in str(exc):
                    return checker
        return self.checkers[0]

    def match_id(self, method: str, path: str) -> str | None:
        return next((i for c in self.checkers if (i := c.match_id(method, path)) is not None), None)

    def check_request(self, rec: Recorded) -> tuple[str | None, list[str]]:
        result: tuple[str | None, list[str]] = self._owner(rec.method, rec.path).check_request(rec)
        return result

    def check_response(self, op_id: str, status: int, content_type: str, body: bytes) -> list[str]:
        for checker in self.checkers:
            if any(m.id == op_id for m in getattr(checker, "methods", [])):
                problems: list[str] = checker.check_response(op_id, status, content_type, body)
                return problems
        return []
