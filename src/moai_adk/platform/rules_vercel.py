"""``vercel.json`` routing as Vercel applies it.

``@vercel/routing-utils`` turns a ``vercel.json`` into an ordered list of
routes; Vercel's proxy runs them against each request (routes match the path
case-insensitively). This module keeps that order:

1. ``cleanUrls`` redirects (``/a.html``, ``/a/index``, ``/a/index.html`` ->
   ``/a``), then ``trailingSlash`` ones (``/.well-known/...`` is left alone);
2. ``redirects``, first match wins;
3. ``headers``: every matching entry adds its headers (a later one wins);
4. the filesystem: a file answering the path is served;
5. ``rewrites``, in order: a destination that is a file is served, otherwise
   the next rewrite sees the rewritten path; nothing -> 404.

Sources use path-to-regexp syntax (``rules_patterns.VercelPattern``): ``:p``,
``:p?``, ``:p*``, ``:p+``, ``:p(regex)``, ``(regex)``, ``{...}`` groups with
modifiers. Destinations and header values take ``:name`` (with its modifier)
and ``$1``/``$name``. ``has``/``missing`` conditions (``header``, ``cookie``,
``query``, ``host``) are tried as Vercel does: a value is a regex that must
match the whole value and its named groups become parameters; without a
value, the key's presence is enough and the value is the parameter ``key``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

from .rules_check import Problem, header_problem, load_json_with_lines
from .rules_patterns import PatternError, VercelPattern, destination_problem

REDIRECT_STATUS = (301, 302, 303, 307, 308)
CONDITION_TYPES = ("header", "cookie", "query", "host")
_VALUE_SAFE = "/:@!$'()*+,;=-._~"
_PARAM = re.compile(r"\{([^{}:]*):([A-Za-z_][A-Za-z0-9_]*)([^{}]*)\}([*+?])?"
                    r"|:([A-Za-z_][A-Za-z0-9_]*)([*+?])?|\$([1-9][0-9]*|[A-Za-z_][A-Za-z0-9_]*)")
_CLEAN = (r"^/(?:(.+)/)?index(?:\.html)?/?$", r"^/(.*)\.html/?$")
_SLASH_ADD = (r"^/\.well-known(?:/.*)?$", r"^/((?:[^/]+/)*[^/\.]+)$", r"^/((?:[^/]+/)*[^/]+\.\w+)/$")


def parse_vercel(raw: bytes, problems: list[Problem], warnings: list[str]) -> dict[str, Any] | None:
    """The checked ``vercel.json`` entries as stored with the deployment, or None when unusable."""
    try:
        conf, lines = load_json_with_lines(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem("vercel.json", getattr(exc, "lineno", None), f"not valid JSON ({exc})"))
        return None
    if not isinstance(conf, dict):
        problems.append(Problem("vercel.json", 1, "must be a JSON object"))
        return None
    out: dict[str, Any] = {"redirects": [], "rewrites": [], "headers": [],
                           "cleanUrls": conf.get("cleanUrls") is True,
                           "trailingSlash": conf.get("trailingSlash") if isinstance(conf.get("trailingSlash"),
                                                                                   bool) else None}

    def fail(line: int | None, why: str, header: str | None = None) -> None:
        problems.append(Problem("vercel.json", line, why, header=header))

    for key in ("redirects", "rewrites", "headers"):
        value = conf.get(key) or []
        if not isinstance(value, list):
            fail(lines.get(id(conf)), f"{key!r} must be a list")
            continue
        for item in value:
            line = lines.get(id(item)) if isinstance(item, dict) else None
            if not isinstance(item, dict) or not isinstance(item.get("source"), str) \
                    or (key != "headers" and not isinstance(item.get("destination"), str)):
                what = "source" if key == "headers" else "source and destination"
                fail(line, f"{key}: each entry needs a string {what}: {item!r}")
                continue
            entry = _entry(key, item, line, lines, fail, warnings)
            if entry is not None:
                out[key].append(entry)
    return out


def _entry(key: str, item: dict[str, Any], line: int | None, lines: dict[int, int], fail: Any,
           warnings: list[str]) -> dict[str, Any] | None:
    entry: dict[str, Any] = {"source": item["source"]}
    try:
        VercelPattern(item["source"])
        for field in ("has", "missing"):
            conds = item.get(field)
            if conds is None:
                continue
            if not isinstance(conds, list):
                raise PatternError(f"{field} must be a list of conditions")
            entry[field] = [_condition(c) for c in conds]
    except PatternError as exc:
        fail(line, f"{key}: {exc}")
        return None
    if key == "headers":
        pairs = []
        for h in item.get("headers") or []:
            hline = lines.get(id(h), line) if isinstance(h, dict) else line
            if not isinstance(h, dict) or not isinstance(h.get("key"), str) or not isinstance(h.get("value"), str):
                fail(hline, f"headers: each header needs a string key and value: {h!r}")
                continue
            why = header_problem(h["key"], h["value"])
            if why is not None:
                fail(hline, why, h["key"])
                continue
            pairs.append([h["key"], h["value"]])
        entry["headers"] = pairs
        return entry
    dest = item["destination"]
    if key == "rewrites" and dest.startswith(("http://", "https://")):
        warnings.append(f"vercel.json rewrites: proxying to another host is not supported: {item!r}")
        return None
    why = destination_problem(dest)
    if why is not None:
        fail(line, why)
        return None
    entry["dest"] = dest
    if key == "redirects":
        permanent = item.get("permanent")
        status = (308 if permanent else 307) if isinstance(permanent, bool) else item.get("statusCode") or 308
        if status not in REDIRECT_STATUS:
            fail(line, f"redirects: statusCode {status!r} must be one of {', '.join(map(str, REDIRECT_STATUS))}")
            return None
        entry["status"] = status
    return entry


def _condition(cond: Any) -> dict[str, str]:
    if not isinstance(cond, dict) or cond.get("type") not in CONDITION_TYPES:
        raise PatternError(f"a condition needs a type among {', '.join(CONDITION_TYPES)}: {cond!r}")
    out = {"type": str(cond["type"])}
    if cond["type"] != "host":
        if not isinstance(cond.get("key"), str) or not cond["key"]:
            raise PatternError(f"a {cond['type']} condition needs a string key: {cond!r}")
        out["key"] = cond["key"].lower() if cond["type"] == "header" else cond["key"]
    value = cond.get("value")
    if value is not None:
        if not isinstance(value, str):
            raise PatternError(f"a condition value must be a string (a regex): {cond!r}")
        VercelPattern(value, regex=f"^{value}$", flags="")
        out["value"] = value
    elif cond["type"] == "host":
        raise PatternError(f"a host condition needs a value: {cond!r}")
    return out


@dataclass(frozen=True)
class Request:
    """What conditions look at: the host name, the query string and a request-header getter."""

    host: str = ""
    query: str = ""
    header: Any = None  # (lowercase name) -> str | None

    def value(self, kind: str, key: str) -> str | None:
        if kind == "host":
            return self.host.rsplit(":", 1)[0].lower() if self.host else None
        if kind == "query":
            found = parse_qs(self.query, keep_blank_values=True).get(key)
            return found[-1] if found else None
        raw = self.header(key if kind == "header" else "cookie") if self.header else None
        if kind == "header" or raw is None:
            return raw
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except Exception:  # a malformed Cookie header: no cookie matches
            return None
        return jar[key].value if key in jar else None


class Route:
    """One compiled route: a source, its conditions and what it does when it matches."""

    __slots__ = ("pattern", "has", "missing", "dest", "status", "headers", "prefix")

    def __init__(self, source: str | None, *, regex: str | None = None, dest: str = "", status: int = 0,
                 headers: list[tuple[str, str]] | None = None, has: Any = (), missing: Any = ()) -> None:
        self.pattern = VercelPattern(source or regex or "", regex=regex)
        self.has = [(c["type"], c.get("key", ""), _cond_pattern(c)) for c in has or ()]
        self.missing = [(c["type"], c.get("key", ""), _cond_pattern(c)) for c in missing or ()]
        self.dest, self.status, self.headers = dest, status, headers or []
        self.prefix = _literal_prefix(source) if source else ""

    def match(self, path: str, req: Request, lower: str | None = None) -> dict[str | int, str] | None:
        """The route's parameters (``$1``… and names) when it applies to this request, else None.
        ``lower``: the path in lower case, to skip the regex when the literal start differs."""
        if self.prefix and not (lower if lower is not None else path.lower()).startswith(self.prefix):
            return None
        m = self.pattern.match(path)
        if m is None:
            return None
        params: dict[str | int, str] = {i: m.group(i) or "" for i in range(1, m.re.groups + 1)}
        for i, name in enumerate(self.pattern.names, 1):
            if isinstance(name, str):
                params[name] = params.get(i, "")
        for kind, key, pattern in self.has:
            if not _test(kind, key, pattern, req, params):
                return None
        for kind, key, pattern in self.missing:
            if _test(kind, key, pattern, req, {}):
                return None
        return params

    def fill(self, template: str, params: dict[str | int, str], *, location: bool) -> str:
        """``template`` with ``:name``/``$n``/``$name`` replaced (percent-encoded in a ``Location``)."""
        def one(m: re.Match[str]) -> str:
            key: str | int
            if m.group(2) is not None:  # {prefix:name suffix}: the braces go, the text stays with the value
                key = m.group(2)
                if key not in params:
                    return m.group(0)
                if not params[key] and m.group(4) in ("?", "*"):
                    return ""
                return m.group(1) + value_of(key) + m.group(3)
            if m.group(5) is not None:
                key = m.group(5)
                if key not in params:
                    return m.group(0)
            else:
                key = int(m.group(7)) if m.group(7).isdigit() else m.group(7)
                if key not in params:
                    return ""
            return value_of(key)

        def value_of(key: str | int) -> str:
            value = params[key]
            return quote(value, safe=_VALUE_SAFE) if location else value

        out = _PARAM.sub(one, template)
        if location and out.startswith("//") and not template.startswith("//"):
            out = "/" + out.lstrip("/")
        return out


def _literal_prefix(source: str) -> str:
    """What every path a source matches starts with (lower case: routes ignore case)."""
    cut = re.search(r"[:(){}*+?\\]", source)
    if cut is None:
        return source.lower()
    prefix = source[:cut.start()]
    if cut.group(0) in ":(" and prefix.endswith(("/", ".")):
        prefix = prefix[:-1]  # '/:p?' and '/(x)?' may leave out their '/' too
    return prefix.lower() if source.startswith("/") else ""


def _cond_pattern(cond: dict[str, str]) -> VercelPattern | None:
    value = cond.get("value")
    return None if value is None else VercelPattern(value, regex=f"^{value}$", flags="")


def _test(kind: str, key: str, pattern: VercelPattern | None, req: Request, params: dict[str | int, str]) -> bool:
    value = req.value(kind, key)
    if value is None:
        return False
    if pattern is None:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            params[key] = value
        return True
    m = pattern.match(value)
    if m is None:
        return False
    named = m.re.groupindex
    for name, index in named.items():
        params[name] = m.group(index) or ""
    if kind == "host" and not named:
        params["host"] = m.group(0)
    return True


class VercelRules:
    """The routes of one ``vercel.json``, compiled for serving (see the module docstring)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.clean_urls: bool = bool(data.get("cleanUrls"))
        self.trailing_slash: bool | None = data.get("trailingSlash")
        self.before: list[tuple[str, Route]] = []  # ("redirect" | "headers" | "stop", route)
        loc = "/$1/" if self.trailing_slash else "/$1"
        if self.clean_urls:
            self.before += [("redirect", Route(None, regex=r, dest=loc, status=308)) for r in _CLEAN]
        if self.trailing_slash is True:
            self.before.append(("stop", Route(None, regex=_SLASH_ADD[0])))
            self.before.append(("redirect", Route(None, regex=_SLASH_ADD[1], dest="/$1/", status=308)))
            self.before.append(("redirect", Route(None, regex=_SLASH_ADD[2], dest="/$1", status=308)))
        elif self.trailing_slash is False:
            self.before.append(("redirect", Route(None, regex=r"^/(.*)\/$", dest="/$1", status=308)))
        self.conditional = False
        self.rewrites: list[Route] = []
        for kind in ("redirects", "headers", "rewrites"):
            for raw in data.get(kind) or []:
                try:
                    route = Route(str(raw["source"]), dest=str(raw.get("dest", "")), status=int(raw.get("status", 0)),
                                  headers=[(str(k), str(v)) for k, v in raw.get("headers", [])
                                           if header_problem(str(k), str(v)) is None],
                                  has=raw.get("has"), missing=raw.get("missing"))
                except (PatternError, KeyError, TypeError, ValueError):
                    continue  # stored by an older platform and unusable today: left out
                if kind != "headers" and destination_problem(route.dest) is not None:
                    continue
                self.conditional = self.conditional or bool(route.has or route.missing)
                if kind == "rewrites":
                    self.rewrites.append(route)
                else:
                    self.before.append(("redirect" if kind == "redirects" else "headers", route))
