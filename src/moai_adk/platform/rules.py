"""Routing rules of a deployment: Netlify ``_redirects``/``_headers`` and ``vercel.json``.

``parse_rules(read)`` runs once when a deployment is finalized and returns a
JSON-serialisable dict stored with the deployment; ``CompiledRules`` turns it
into regexes once when the deployment is loaded for serving.

Semantics kept:

* Netlify rules are tried top to bottom, first match wins. A rule only
  applies when no file answers the path ("shadowing"), unless it is forced
  (``301!``). Status 200 is a rewrite, 404 serves the target with status
  404, other 3xx redirect. ``*`` captures into ``:splat``; ``:name`` matches
  one segment. Trailing slashes are ignored when matching.
* ``vercel.json``: ``redirects`` are checked before the filesystem,
  ``rewrites`` after it (only when no file matches), ``headers`` apply to
  matching paths, ``cleanUrls`` redirects ``/a.html`` to ``/a`` and
  ``trailingSlash`` (true/false) redirects to the canonical form. Sources use
  path-to-regexp syntax: ``:name``, ``:name*``, ``:name+``, ``:name?``,
  ``:name(regex)`` and bare ``(regex)`` groups (``$1`` in destinations).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RULE_FILES = ("_redirects", "_headers", "vercel.json")


class RulesError(ValueError):
    """A rules file is unusable (e.g. vercel.json that is not JSON)."""


def parse_rules(read: Callable[[str], bytes | None]) -> dict[str, Any]:
    """Parse the rule files of a deployment; ``read(path)`` returns bytes or None."""
    out: dict[str, Any] = {"netlify": [], "headers": [], "vredirects": [], "vrewrites": [],
                           "clean_urls": False, "trailing_slash": None, "warnings": []}
    raw = read("_redirects")
    if raw is not None:
        out["netlify"] = _parse_redirects(raw.decode("utf-8", "replace"), out["warnings"])
    raw = read("_headers")
    if raw is not None:
        out["headers"].extend(_parse_headers(raw.decode("utf-8", "replace"), out["warnings"]))
    raw = read("vercel.json")
    if raw is not None:
        _parse_vercel(raw, out)
    return out


def _parse_redirects(text: str, warnings: list[str]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2:
            warnings.append(f"_redirects line {lineno}: needs a source and a destination: {line!r}")
            continue
        source, dest, rest = parts[0], parts[1], parts[2:]
        status, force = 301, False
        if rest and re.fullmatch(r"\d{3}!?", rest[0]):
            force = rest[0].endswith("!")
            status = int(rest[0].rstrip("!"))
            rest = rest[1:]
        if rest:
            warnings.append(f"_redirects line {lineno}: conditions {' '.join(rest)!r} are not supported; "
                            "the rule applies unconditionally")
        if not source.startswith("/"):
            warnings.append(f"_redirects line {lineno}: source must start with '/': {line!r}")
            continue
        if status == 200 and dest.startswith(("http://", "https://")):
            warnings.append(f"_redirects line {lineno}: proxying to another host is not supported: {line!r}")
            continue
        rules.append({"source": source.split("?", 1)[0], "dest": dest, "status": status, "force": force})
    return rules


def _parse_headers(text: str, warnings: list[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace() and line.strip().startswith("/"):
            current = {"source": line.strip(), "syntax": "netlify", "headers": []}
            blocks.append(current)
            continue
        key, sep, value = line.strip().partition(":")
        if current is None or not sep or not key.strip():
            warnings.append(f"_headers line {lineno}: expected a path or an indented 'Name: value': {line!r}")
            continue
        current["headers"].append([key.strip(), value.strip()])
    return blocks


def _parse_vercel(raw: bytes, out: dict[str, Any]) -> None:
    try:
        conf = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"vercel.json in the deployment root is not valid JSON ({exc})") from exc
    if not isinstance(conf, dict):
        raise RulesError("vercel.json in the deployment root must be a JSON object")
    for item in conf.get("redirects") or []:
        if not isinstance(item, dict) or "source" not in item or "destination" not in item:
            out["warnings"].append(f"vercel.json redirects: entry without source/destination: {item!r}")
            continue
        status = item.get("statusCode") or (308 if item.get("permanent", True) else 307)
        out["vredirects"].append({"source": item["source"], "dest": item["destination"], "status": int(status)})
    for item in conf.get("rewrites") or []:
        if not isinstance(item, dict) or "source" not in item or "destination" not in item:
            out["warnings"].append(f"vercel.json rewrites: entry without source/destination: {item!r}")
            continue
        if str(item["destination"]).startswith(("http://", "https://")):
            out["warnings"].append(f"vercel.json rewrites: proxying to another host is not supported: {item!r}")
            continue
        out["vrewrites"].append({"source": item["source"], "dest": item["destination"], "status": 200})
    for item in conf.get("headers") or []:
        if not isinstance(item, dict) or "source" not in item:
            out["warnings"].append(f"vercel.json headers: entry without source: {item!r}")
            continue
        pairs = [[str(h["key"]), str(h["value"])] for h in item.get("headers") or []
                 if isinstance(h, dict) and "key" in h and "value" in h]
        out["headers"].append({"source": item["source"], "syntax": "vercel", "headers": pairs})
    out["clean_urls"] = bool(conf.get("cleanUrls", False))
    ts = conf.get("trailingSlash")
    out["trailing_slash"] = ts if isinstance(ts, bool) else None


# -- patterns --------------------------------------------------------------------------------------
_VERCEL_TOKEN = re.compile(r"/?:([A-Za-z_]\w*)(\([^)]*\))?([*+?])?|\(([^)]*)\)|\*")
_NETLIFY_TOKEN = re.compile(r":([A-Za-z_]\w*)|\*")


def compile_pattern(source: str, syntax: str) -> re.Pattern[str]:
    """Compile a rule source into an anchored regex over the URL path."""
    out: list[str] = []
    pos = 0
    if syntax == "netlify":
        for m in _NETLIFY_TOKEN.finditer(source):
            out.append(re.escape(source[pos:m.start()]))
            out.append("(?P<splat>.*)" if m.group(0) == "*" else f"(?P<{m.group(1)}>[^/]+)")
            pos = m.end()
        out.append(re.escape(source[pos:]))
        body = "".join(out)
        if not source.endswith(("/", "*")):
            body += "/?"
        return re.compile(f"^{body}$", re.IGNORECASE)
    for m in _VERCEL_TOKEN.finditer(source):
        out.append(re.escape(source[pos:m.start()]))
        pos = m.end()
        if m.group(0) == "*":
            out.append("(.*)")
        elif m.group(1):
            slash = "/" if m.group(0).startswith("/") else ""
            name, custom, mod = m.group(1), m.group(2), m.group(3)
            inner = custom[1:-1] if custom else ("[^/]+" if mod in (None, "?") else ".+")
            if mod in ("*", "?"):
                out.append(f"(?:{re.escape(slash)}(?P<{name}>{inner}))?")
            else:
                out.append(f"{re.escape(slash)}(?P<{name}>{inner})")
        else:
            out.append(f"({m.group(4)})")
    out.append(re.escape(source[pos:]))
    return re.compile("^" + "".join(out) + "$")


_SUBST = re.compile(r":([A-Za-z_]\w*)\*?|\$(\d+)")


def substitute(dest: str, m: re.Match[str]) -> str:
    groups = m.groupdict()

    def repl(s: re.Match[str]) -> str:
        if s.group(1) is not None:
            name = s.group(1)
            return (groups.get(name) or "") if name in groups else s.group(0)
        idx = int(s.group(2))
        try:
            return m.group(idx) or ""
        except IndexError:
            return s.group(0)

    return _SUBST.sub(repl, dest)


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    dest: str
    status: int
    force: bool


class CompiledRules:
    """The rules of one deployment, compiled once."""

    def __init__(self, data: dict[str, Any] | None) -> None:
        data = data or {}
        self.netlify = [Rule(compile_pattern(r["source"], "netlify"), r["dest"], r["status"], r["force"])
                        for r in data.get("netlify", [])]
        self.vredirects = [Rule(compile_pattern(r["source"], "vercel"), r["dest"], r["status"], True)
                           for r in data.get("vredirects", [])]
        self.vrewrites = [Rule(compile_pattern(r["source"], "vercel"), r["dest"], 200, False)
                          for r in data.get("vrewrites", [])]
        self.headers = [(compile_pattern(h["source"], h["syntax"]), [(k, v) for k, v in h["headers"]])
                        for h in data.get("headers", [])]
        self.clean_urls: bool = bool(data.get("clean_urls"))
        self.trailing_slash: bool | None = data.get("trailing_slash")
        self.empty = not (self.netlify or self.vredirects or self.vrewrites or self.headers
                          or self.clean_urls or self.trailing_slash is not None)

    @staticmethod
    def first(rules: list[Rule], path: str, *, forced_only: bool = False) -> tuple[Rule, str] | None:
        for rule in rules:
            if forced_only and not rule.force:
                continue
            m = rule.regex.match(path)
            if m is not None:
                return rule, substitute(rule.dest, m)
        return None

    def extra_headers(self, path: str) -> list[tuple[str, str]]:
        """Headers from ``_headers`` and vercel.json for a request path (later rules override)."""
        found: dict[str, tuple[str, str]] = {}
        for regex, pairs in self.headers:
            if regex.match(path):
                for k, v in pairs:
                    found[k.lower()] = (k, v)
        return list(found.values())
