"""Routing rules of a deployment: Netlify ``_redirects``/``_headers``/``netlify.toml`` and ``vercel.json``.

``parse_rules(read)`` runs once when a deployment is finalized and returns a
JSON-serialisable dict stored with the deployment; ``CompiledRules`` turns it
into matchers once when the deployment is loaded for serving.

Semantics kept:

* Netlify rules (``_redirects`` first, then netlify.toml ``[[redirects]]``)
  are tried top to bottom, first match wins. A rule only applies when no file
  answers the path ("shadowing"), unless it is forced (``301!``). Status 200
  is a rewrite, 404 serves the target with status 404, other 3xx redirect.
  Parsing and pattern semantics are Netlify's: see ``rules_netlify`` and
  ``rules_netlify_match``; ``RuleIndex`` finds the candidates of a path by
  literal prefix instead of trying every rule.
* ``vercel.json``: see ``rules_vercel`` (Vercel's route order, ``has``/``missing``
  conditions, path-to-regexp sources, ``cleanUrls``/``trailingSlash``).

Every rule is checked when the deployment is finalized (``RulesError`` lists
each refused rule with its file and line; see ``rules_check`` for what header
rules may not set and ``rules_patterns`` for sources and destinations). Rules
loaded for serving are checked again and unusable ones left out, so rules
stored before a check existed never reach a response.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import re2

from .rules_check import (
    RULES_MAX,
    Problem,
    RulesError,
    header_problem,
)
from .rules_netlify import parse_headers, parse_redirects, parse_toml
from .rules_netlify_match import NetlifyRule, header_regex
from .rules_patterns import PatternError, Template, compile_pattern, destination_problem, substitute
from .rules_vercel import Request, VercelRules, parse_vercel

__all__ = ["RULE_FILES", "CompiledRules", "Problem", "Request", "Rule", "RuleIndex", "RulesError", "compile_pattern",
           "parse_rules", "substitute"]

RULE_FILES = ("_redirects", "_headers", "netlify.toml", "vercel.json")
MATCH_PATH_MAX = 8192  # longer request paths match no rule (bounds the work one request can cost)
VERCEL_LISTS = ("redirects", "rewrites", "headers")


def parse_rules(read: Callable[[str], bytes | None]) -> dict[str, Any]:
    """Parse and check the rule files of a deployment; ``read(path)`` returns bytes or None.

    Raises ``RulesError`` listing every rule the platform refuses."""
    out: dict[str, Any] = {"netlify": [], "headers": [], "warnings": []}
    problems: list[Problem] = []
    raw = read("_redirects")
    if raw is not None:
        out["netlify"] = parse_redirects(raw.decode("utf-8", "replace"), problems, out["warnings"])
    raw = read("_headers")
    if raw is not None:
        out["headers"].extend(parse_headers(raw.decode("utf-8", "replace"), problems, out["warnings"]))
    raw = read("netlify.toml")
    if raw is not None:  # after the files, as Netlify merges them
        redirects, headers = parse_toml(raw, problems, out["warnings"])
        out["netlify"].extend(redirects)
        out["headers"].extend(headers)
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


@dataclass(frozen=True)
class Rule:
    regex: Any  # a compiled RE2 pattern
    dest: str
    status: int
    force: bool
    template: Template
    literal: str | None = None  # the index keys (see RuleIndex); a vercel.json rule has none
    key: tuple[int, str] | None = None

    @property
    def redirects(self) -> bool:
        return 300 <= self.status < 400

    def target(self, m: Any) -> str:
        """A redirect's ``Location`` (values percent-encoded, kept on the site) or a rewrite's path."""
        return self.template.expand(m, location=self.redirects)

    def apply(self, path: str, query: str) -> str | None:
        m = self.regex.match(path)
        return None if m is None else self.target(m)


AnyRule = Rule | NetlifyRule


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


def _netlify_rule(raw: Any) -> NetlifyRule | None:
    """A stored Netlify rule for serving (checked and compiled when first tried), or None if malformed."""
    try:
        return NetlifyRule(raw)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _header_block(raw: Any) -> tuple[Any, list[tuple[str, str]]] | None:
    try:
        source, syntax = str(raw["source"]), str(raw["syntax"])
        regex = header_regex(source) if syntax == "netlify" else compile_pattern(source, syntax)
        pairs = [(str(k), str(v)) for k, v in raw["headers"]]
    except (PatternError, re2.error, KeyError, TypeError, ValueError):
        return None
    return regex, [(k, v) for k, v in pairs if header_problem(k, v) is None]


class RuleIndex:
    """Rules in their order, indexed by literal prefix so a request only tries the rules that can
    match it: a rule for one literal path is found by that path; a rule with a literal segment at a
    fixed position (``/blog/*``: segment 1 is ``blog``; ``/:lang/docs/*``: segment 2 is ``docs``) by
    the request's segment at that position; only the others (``/*``, ``/:a/*``, Vercel regexes) are
    tried for every path. Candidates are merged back into rule order: the first match still wins."""

    def __init__(self, rules: Iterable[AnyRule]) -> None:
        self.rules = list(rules)
        self.exact: dict[str, list[int]] = {}
        self.keyed: dict[tuple[int, str], list[int]] = {}
        self.rest: list[int] = []
        for i, rule in enumerate(self.rules):
            if rule.literal is not None:
                self.exact.setdefault(rule.literal, []).append(i)
            elif rule.key is not None:
                self.keyed.setdefault(rule.key, []).append(i)
            else:
                self.rest.append(i)
        self.positions = sorted({k for k, _ in self.keyed})

    def __bool__(self) -> bool:
        return bool(self.rules)

    def candidates(self, path: str) -> Iterable[int]:
        lists: list[list[int]] = []
        if self.exact:
            found = self.exact.get(path.rstrip("/") or "/")
            if found:
                lists.append(found)
        if self.positions:
            segments = path.split("/")
            for k in self.positions:
                if k >= len(segments):
                    break
                found = self.keyed.get((k, segments[k]))
                if found:
                    lists.append(found)
        if self.rest:
            lists.append(self.rest)
        if len(lists) <= 1:
            return lists[0] if lists else ()
        return heapq.merge(*lists)

    def first(self, path: str, query: str = "", *, forced_only: bool = False) -> tuple[AnyRule, str] | None:
        """The first rule matching ``path`` (and ``query``) and its target (see ``Rule.target``)."""
        if len(path) > MATCH_PATH_MAX:
            return None
        rules = self.rules
        for i in self.candidates(path):
            rule = rules[i]
            if forced_only and not rule.force:
                continue
            target = rule.apply(path, query)
            if target is not None:
                return rule, target
        return None


class CompiledRules:
    """The rules of one deployment, compiled once (RE2 or bounded patterns: matching is linear in the path)."""

    def __init__(self, data: dict[str, Any] | None) -> None:
        data = data or {}
        self.netlify = RuleIndex(r for r in (_netlify_rule(x) for x in data.get("netlify", [])) if r is not None)
        self.headers = [h for h in (_header_block(x) for x in data.get("headers", [])
                                    if isinstance(x, dict) and x.get("syntax") != "vercel") if h is not None]
        vercel = data.get("vercel") or _stored_before_routes(data)
        self.vercel: VercelRules | None = VercelRules(vercel) if vercel else None
        self.conditional = bool(self.vercel and self.vercel.conditional)
        # whether a rule looks at the query string (then a path's answer depends on it)
        self.by_query = any(isinstance(r, NetlifyRule) and r.query for r in self.netlify.rules)
        self.empty = not (self.netlify or self.headers or self.vercel)

    @staticmethod
    def first(rules: RuleIndex, path: str, query: str = "", *, forced_only: bool = False
              ) -> tuple[AnyRule, str] | None:
        """The first rule of ``rules`` matching ``path`` and its target (see ``Rule.target``)."""
        return rules.first(path, query, forced_only=forced_only)

    def extra_headers(self, path: str) -> list[tuple[str, str]]:
        """Headers from ``_headers`` and netlify.toml for a request path (later rules override)."""
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
