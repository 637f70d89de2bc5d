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
* ``vercel.json``: see ``rules_vercel`` (Vercel's route order, ``has``/``missing``
  conditions, path-to-regexp sources, ``cleanUrls``/``trailingSlash``).

Every rule is checked when the deployment is finalized (``RulesError`` lists
each refused rule with its file and line; see ``rules_check`` for what header
rules may not set and ``rules_patterns`` for sources and destinations). Rules
loaded for serving are checked again and unusable ones left out, so rules
stored before a check existed never reach a response.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .rules_check import (
    RULES_MAX,
    Problem,
    RulesError,
    header_problem,
)
from .rules_patterns import PatternError, Template, compile_pattern, destination_problem, substitute
from .rules_vercel import Request, VercelRules, parse_vercel

__all__ = ["RULE_FILES", "CompiledRules", "Problem", "Request", "Rule", "RulesError", "compile_pattern", "parse_rules",
           "substitute"]

RULE_FILES = ("_redirects", "_headers", "vercel.json")
MATCH_PATH_MAX = 8192  # longer request paths match no rule (bounds the work one request can cost)
VERCEL_LISTS = ("redirects", "rewrites", "headers")


def parse_rules(read: Callable[[str], bytes | None]) -> dict[str, Any]:
    """Parse and check the rule files of a deployment; ``read(path)`` returns bytes or None.

    Raises ``RulesError`` listing every rule the platform refuses."""
    out: dict[str, Any] = {"netlify": [], "headers": [], "warnings": []}
    problems: list[Problem] = []
    raw = read("_redirects")
    if raw is not None:
        out["netlify"] = _parse_redirects(raw.decode("utf-8", "replace"), out["warnings"], problems)
    raw = read("_headers")
    if raw is not None:
        out["headers"].extend(_parse_headers(raw.decode("utf-8", "replace"), problems))
    raw = read("vercel.json")
    if raw is not None:
        out["vercel"] = parse_vercel(raw, problems, out["warnings"])
    vercel = out.get("vercel") or {}
    count = len(out["netlify"]) + len(out["headers"]) + sum(len(vercel.get(k, [])) for k in VERCEL_LISTS)
    if count > RULES_MAX:
        problems.append(Problem("rules", None, f"{count} rules; a deployment may have at most {RULES_MAX}"))
    if problems:
        order = {name: i for i, name in enumerate(RULE_FILES)}
        raise RulesError(sorted(problems, key=lambda p: (order.get(p.file, len(order)), p.line or 0)))
    return out


def _check_source(source: str, syntax: str, file: str, line: int | None, problems: list[Problem]) -> bool:
    try:
        compile_pattern(source, syntax)
    except PatternError as exc:
        problems.append(Problem(file, line, str(exc)))
        return False
    return True


def _check_dest(dest: str, file: str, line: int | None, problems: list[Problem]) -> bool:
    why = destination_problem(dest)
    if why is not None:
        problems.append(Problem(file, line, why))
    return why is None


def _parse_redirects(text: str, warnings: list[str], problems: list[Problem]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2:
            problems.append(Problem("_redirects", lineno, f"needs a source and a destination: {line!r}"))
            continue
        source, dest, rest = parts[0], parts[1], parts[2:]
        status, force = 301, False
        if rest and re.fullmatch(r"\d{3}!?", rest[0]):
            force = rest[0].endswith("!")
            status = int(rest[0].rstrip("!"))
            rest = rest[1:]
            if not 200 <= status <= 599:
                problems.append(Problem("_redirects", lineno, f"status {status} is not between 200 and 599"))
                continue
        if rest:
            warnings.append(f"_redirects line {lineno}: conditions {' '.join(rest)!r} are not supported; "
                            "the rule applies unconditionally")
        if not source.startswith("/"):
            problems.append(Problem("_redirects", lineno, f"the source must start with '/': {line!r}"))
            continue
        if status == 200 and dest.startswith(("http://", "https://")):
            warnings.append(f"_redirects line {lineno}: proxying to another host is not supported: {line!r}")
            continue
        source = source.split("?", 1)[0]
        if _check_source(source, "netlify", "_redirects", lineno, problems) \
                and _check_dest(dest, "_redirects", lineno, problems):
            rules.append({"source": source, "dest": dest, "status": status, "force": force})
    return rules


def _parse_headers(text: str, problems: list[Problem]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace() and line.strip().startswith("/"):
            source = line.strip()
            current = {"source": source, "syntax": "netlify", "headers": []}
            if _check_source(source, "netlify", "_headers", lineno, problems):
                blocks.append(current)
            continue
        key, sep, value = line.strip().partition(":")
        name, value = key.strip(), value.strip()
        if current is None or not sep or not name:
            problems.append(Problem("_headers", lineno, "expected a path starting with '/' or an indented "
                                    f"'Name: value' below one: {line.strip()!r}"))
            continue
        why = header_problem(name, value)
        if why is not None:
            problems.append(Problem("_headers", lineno, why, header=name))
            continue
        current["headers"].append([name, value])
    return blocks


@dataclass(frozen=True)
class Rule:
    regex: Any  # a compiled RE2 pattern
    dest: str
    status: int
    force: bool
    template: Template

    @property
    def redirects(self) -> bool:
        return 300 <= self.status < 400

    def target(self, m: Any) -> str:
        """A redirect's ``Location`` (values percent-encoded, kept on the site) or a rewrite's path."""
        return self.template.expand(m, location=self.redirects)


def _rule(raw: Any, syntax: str, status: int | None = None, force: bool | None = None) -> Rule | None:
    """A stored rule compiled for serving, or None when it would not pass today's checks."""
    try:
        source, dest = str(raw["source"]), str(raw["dest"])
        if destination_problem(dest) is not None:
            return None
        return Rule(compile_pattern(source, syntax), dest, int(raw["status"] if status is None else status),
                    bool(raw["force"] if force is None else force), Template(dest))
    except (PatternError, KeyError, TypeError, ValueError):
        return None


def _header_block(raw: Any) -> tuple[Any, list[tuple[str, str]]] | None:
    try:
        regex = compile_pattern(str(raw["source"]), str(raw["syntax"]))
        pairs = [(str(k), str(v)) for k, v in raw["headers"]]
    except (PatternError, KeyError, TypeError, ValueError):
        return None
    return regex, [(k, v) for k, v in pairs if header_problem(k, v) is None]


class CompiledRules:
    """The rules of one deployment, compiled once (RE2: matching is linear in the path)."""

    def __init__(self, data: dict[str, Any] | None) -> None:
        data = data or {}
        self.netlify = [r for r in (_rule(x, "netlify") for x in data.get("netlify", [])) if r is not None]
        self.headers = [h for h in (_header_block(x) for x in data.get("headers", [])
                                    if isinstance(x, dict) and x.get("syntax") != "vercel") if h is not None]
        vercel = data.get("vercel") or _stored_before_routes(data)
        self.vercel: VercelRules | None = VercelRules(vercel) if vercel else None
        self.conditional = bool(self.vercel and self.vercel.conditional)
        self.empty = not (self.netlify or self.headers or self.vercel)

    @staticmethod
    def first(rules: list[Rule], path: str, *, forced_only: bool = False) -> tuple[Rule, str] | None:
        """The first rule matching ``path`` and its target (see ``Rule.target``)."""
        if len(path) > MATCH_PATH_MAX:
            return None
        for rule in rules:
            if forced_only and not rule.force:
                continue
            m = rule.regex.match(path)
            if m is not None:
                return rule, rule.target(m)
        return None

    def extra_headers(self, path: str) -> list[tuple[str, str]]:
        """Headers from ``_headers`` for a request path (later rules override)."""
        found: dict[str, tuple[str, str]] = {}
        if len(path) > MATCH_PATH_MAX:
            return []
        for regex, pairs in self.headers:
            if regex.match(path):
                for k, v in pairs:
                    found[k.lower()] = (k, v)
        return list(found.values())


def _stored_before_routes(data: dict[str, Any]) -> dict[str, Any] | None:
    """``vercel.json`` rules stored by an older platform (``vredirects``, ``vrewrites``…) in today's form."""
    headers = [x for x in data.get("headers", []) if isinstance(x, dict) and x.get("syntax") == "vercel"]
    if not (data.get("vredirects") or data.get("vrewrites") or headers or data.get("clean_urls")
            or data.get("trailing_slash") is not None):
        return None
    return {"redirects": data.get("vredirects", []), "rewrites": data.get("vrewrites", []), "headers": headers,
            "cleanUrls": bool(data.get("clean_urls")), "trailingSlash": data.get("trailing_slash")}
