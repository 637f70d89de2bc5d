"""Rule sources and destinations: compiled with RE2, expanded safely.

* ``compile_pattern`` turns a ``_redirects``/``_headers`` source (``:name``,
  ``*``) or a ``vercel.json`` source (path-to-regexp: ``:name``, ``:name*``,
  ``:name+``, ``:name?``, ``:name(regex)``, ``(regex)``) into an anchored RE2
  regex. RE2 matches in time linear in the path, whatever the pattern, so one
  site's rules cannot stall the event loop that serves every other site
  (Python's ``re`` backtracks: ``(a*a*a*a*b)`` on ``aaaa…c`` takes seconds).
  Back-references and look-arounds are not RE2 syntax: such sources are
  refused at finalize.
* ``Template`` is a parsed destination. ``expand(m, location=True)`` builds a
  ``Location``: substituted values are percent-encoded (no CR/LF, ``\\``,
  ``?`` or ``#`` can come from the request), and a destination that starts
  with ``/`` stays a path on the site (``/:splat`` with ``/evil.example``
  never becomes ``//evil.example``). ``location=False`` gives the raw path
  for a rewrite's file lookup.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import quote

import re2

SOURCE_MAX = 2048
DEST_MAX = 2048

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NETLIFY_TOKEN = re.compile(rf":({_NAME})|\*")
_SUBST = re.compile(rf":({_NAME})\*?|\$(\d+)")
_GROUP_NAME = re.compile(r"(?<!\\)\(\?P?<([^>=!]*)>")
_EXTERNAL = re.compile(r"https?://", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# what a substituted value may keep as it is in a Location: RFC 3986 pchar and '/', minus '&'
_VALUE_SAFE = "/:@!$'()*+,;=-._~"
# what a literal part of a destination keeps: every reserved character and existing %XX escapes
_LITERAL_SAFE = ":/?#[]@!$&'()*+,;=-._~%"

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern to stderr


class PatternError(ValueError):
    """A rule source or destination the platform cannot use; the message says why."""


def compile_pattern(source: str, syntax: str) -> Any:
    """Compile a rule source into an anchored RE2 regex over the URL path; ``PatternError`` says why not."""
    if len(source) > SOURCE_MAX:
        raise PatternError(f"the source is longer than {SOURCE_MAX} characters")
    if _CONTROL.search(source):
        raise PatternError("the source contains a space or a control character")
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
        return _compile(f"(?i)^{body}$", source, syntax)
    return VercelPattern(source)


def _compile(pattern: str, source: str, syntax: str) -> Any:
    twice = [name for name, n in Counter(_GROUP_NAME.findall(pattern)).items() if n > 1]
    if twice:
        if twice[0] == "splat" and syntax == "netlify":
            raise PatternError("'*' may appear only once in a source (it captures :splat)")
        raise PatternError(f"the placeholder :{twice[0]} appears more than once in the source")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(f"the source {source!r} is not a valid pattern ({reason}; rules use RE2 syntax: "
                           "no back-references or look-arounds)") from None


def destination_problem(dest: str) -> str | None:
    """Why a redirect or rewrite destination is unusable, or None."""
    if not dest:
        return "the destination is empty"
    if len(dest) > DEST_MAX:
        return f"the destination is longer than {DEST_MAX} characters"
    if _CONTROL.search(dest):
        return "the destination contains a space or a control character"
    if _EXTERNAL.match(dest):
        authority = re.split(r"[/?#]", dest.split("://", 1)[1], maxsplit=1)[0]
        if not authority or _SUBST.search(authority):
            return "the host of an external destination must be written out (placeholders only after it)"
        return None
    if dest.startswith("//") or dest.startswith("/\\"):
        return "a destination starting with '//' names another host: write it as https://host/…"
    if not dest.startswith("/"):
        return "the destination must start with '/' or be an http:// or https:// URL"
    return None


class Template:
    """A destination split into literal text and placeholders (``:name``, ``:name*``, ``$n``)."""

    __slots__ = ("dest", "external", "_pieces", "_plain")

    def __init__(self, dest: str) -> None:
        self.dest = dest
        self.external = bool(_EXTERNAL.match(dest))
        # (raw literal, literal as it goes into a Location, placeholder key or None)
        pieces: list[tuple[str, str, str | int | None]] = []
        pos = 0
        for m in _SUBST.finditer(dest):
            if m.start() > pos:
                lit = dest[pos:m.start()]
                pieces.append((lit, quote(lit, safe=_LITERAL_SAFE), None))
            token = m.group(0)
            key: str | int = m.group(1) if m.group(1) is not None else int(m.group(2))
            pieces.append((token, quote(token, safe=_LITERAL_SAFE), key))
            pos = m.end()
        if pos < len(dest):
            lit = dest[pos:]
            pieces.append((lit, quote(lit, safe=_LITERAL_SAFE), None))
        self._pieces = tuple(pieces)
        self._plain = all(key is None for _, _, key in pieces)

    def expand(self, m: Any, *, location: bool) -> str:
        """The destination for match ``m``: a safe ``Location`` value, or the raw path of a rewrite."""
        if self._plain:
            return "".join(p[1] if location else p[0] for p in self._pieces)
        groups = m.groupdict()
        out: list[str] = []
        for raw, encoded, key in self._pieces:
            value: str | None = None
            if isinstance(key, str):
                if key in groups:
                    value = groups[key] or ""
            elif key is not None:
                try:
                    value = m.group(key) or ""
                except IndexError:
                    value = None
            if value is None:
                out.append(encoded if location else raw)
            else:
                out.append(quote(value, safe=_VALUE_SAFE) if location else value)
        result = "".join(out)
        if location and not self.external and result.startswith("//"):
            result = "/" + result.lstrip("/")  # a value may not turn the path into another host
        return result


def safe_location(location: str) -> str:
    """A redirect's ``Location`` as sent: characters a header cannot carry are percent-encoded, and a
    path stays a path (no destination that passed the checks starts with ``//``, so leading
    slashes there came from the request: ``cleanUrls``/``trailingSlash`` redirects of ``//host/``)."""
    if not location.isascii() or _CONTROL.search(location) or "\\" in location:
        location = quote(location, safe=_LITERAL_SAFE)
    if location.startswith("//"):
        location = "/" + location.lstrip("/")
    return location


def with_query(location: str, query: str) -> str:
    """``location`` with the request's query string, unless it has its own; the query goes before a
    ``#fragment`` (``/b#top`` with ``x=1`` is ``/b?x=1#top``)."""
    if not query:
        return location
    path, hash_, fragment = location.partition("#")
    if "?" in path:
        return location
    return f"{path}?{query}{hash_}{fragment}"


def substitute(dest: str, m: Any) -> str:
    """``dest`` with the placeholders filled from match ``m`` as they are (a rewrite's path)."""
    return Template(dest).expand(m, location=False)


# -- vercel.json sources: path-to-regexp 6.1 as @vercel/routing-utils calls it -------------------
# (strict, case-sensitive compile, '/' delimiter; Vercel then matches routes case-insensitively)
_P2R_ESCAPE = re.compile(r"([.+*?=^!:${}()\[\]|/\\])")
_P2R_DEFAULT = "[^\\/]+?"
_LOOKAHEAD = re.compile(r"\(\?[=!]")


def _p2r_lex(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(source):
        c = source[i]
        if c in "*+?":
            tokens.append(("MOD", c))
        elif c == "\\":
            tokens.append(("ESC", source[i + 1:i + 2]))
            i += 1
        elif c in "{}":
            tokens.append(("OPEN" if c == "{" else "CLOSE", c))
        elif c == ":":
            m = re.match(r"[0-9A-Za-z_]+", source[i + 1:])
            if not m:
                raise PatternError(f"missing parameter name at {i} in {source!r}")
            tokens.append(("NAME", m.group(0)))
            i += len(m.group(0))
        elif c == "(":
            depth, j, pattern = 1, i + 1, ""
            if source[j:j + 1] == "?":
                raise PatternError(f"a group may not start with '?' at {j} in {source!r} (write a look-ahead "
                                   "inside a group: /((?!api).*))")
            while j < len(source) and depth:
                if source[j] == "\\":
                    pattern += source[j:j + 2]
                    j += 2
                    continue
                if source[j] == ")":
                    depth -= 1
                    if not depth:
                        j += 1
                        break
                elif source[j] == "(":
                    depth += 1
                    if source[j + 1:j + 2] != "?":
                        raise PatternError(f"capturing groups are not allowed at {j} in {source!r} "
                                           "(use (?:...) inside a group)")
                pattern += source[j]
                j += 1
            if depth or not pattern:
                raise PatternError(f"unbalanced or empty group at {i} in {source!r}")
            tokens.append(("PATTERN", pattern))
            i = j
            continue
        else:
            tokens.append(("CHAR", c))
        i += 1
    tokens.append(("END", ""))
    return tokens


def vercel_source_regex(source: str) -> tuple[str, list[str | int]]:
    """The regex (JavaScript syntax, as routing-utils writes a route's ``src``) and the parameter
    names (numbers for unnamed groups) of a ``vercel.json`` source."""
    tokens, pos, key = _p2r_lex(source), 0, 0
    parts: list[str | dict[str, Any]] = []

    def take(kind: str) -> str | None:
        nonlocal pos
        if tokens[pos][0] == kind:
            pos += 1
            return tokens[pos - 1][1]
        return None

    def text() -> str:
        out = ""
        while (v := take("CHAR")) is not None or (v := take("ESC")) is not None:
            out += v
        return out

    path = ""
    while pos < len(tokens):
        char, name, pattern = take("CHAR"), take("NAME"), take("PATTERN")
        if name is not None or pattern is not None:
            prefix = char or ""
            if prefix not in "./":
                path, prefix = path + prefix, ""
            if path:
                parts.append(path)
                path = ""
            parts.append({"name": name if name is not None else key, "prefix": prefix, "suffix": "",
                          "pattern": pattern or _P2R_DEFAULT, "mod": take("MOD") or ""})
            key += name is None
            continue
        value = char if char is not None else take("ESC")
        if value is not None:
            path += value
            continue
        if path:
            parts.append(path)
            path = ""
        if take("OPEN") is not None:
            prefix, name, pattern = text(), take("NAME") or "", take("PATTERN") or ""
            suffix = text()
            if take("CLOSE") is None:
                raise PatternError(f"'{{' without its '}}' in {source!r}")
            parts.append({"name": name or (key if pattern else ""), "prefix": prefix, "suffix": suffix,
                          "pattern": _P2R_DEFAULT if name and not pattern else pattern, "mod": take("MOD") or ""})
            key += bool(pattern and not name)
            continue
        if take("END") is None:
            raise PatternError(f"unexpected {tokens[pos][1]!r} at token {pos} in {source!r}")
    names: list[str | int] = []
    route = "^"
    for part in parts:
        if isinstance(part, str):
            route += _P2R_ESCAPE.sub(r"\\\1", part)
            continue
        pre, suf = _P2R_ESCAPE.sub(r"\\\1", part["prefix"]), _P2R_ESCAPE.sub(r"\\\1", part["suffix"])
        pat, mod = part["pattern"], part["mod"]
        if not pat:
            route += f"(?:{pre}{suf}){mod}"
            continue
        names.append(part["name"])
        if (pre or suf) and mod in ("+", "*"):
            route += f"(?:{pre}((?:{pat})(?:{suf}{pre}(?:{pat}))*){suf}){'?' if mod == '*' else ''}"
        elif pre or suf:
            route += f"(?:{pre}({pat}){suf}){mod}"
        else:
            route += f"({pat}){mod}"
    return route + "$", names


def _group_at(regex: str, at: int) -> int | None:
    """The number of the capturing group whose '(' stands right before ``at`` (0: the start)."""
    if regex[:at] in ("^", ""):
        return 0
    if at == 0 or regex[at - 1] != "(" or (at > 1 and regex[at - 2] == "\\"):
        return None
    count, i = 0, 0
    while i < at - 1:
        if regex[i] == "\\":
            i += 2
            continue
        if regex[i] == "(" and (regex[i + 1:i + 2] != "?" or regex[i + 1:i + 3] in ("?<", "?P")) \
                and regex[i + 1:i + 4] not in ("?<=", "?<!"):
            count += 1
        i += 1
    return count + 1


def _closing(regex: str, start: int) -> int:
    depth, i = 0, start
    while i < len(regex):
        if regex[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(regex[i], 0)
        if depth == 0:
            return i
        i += 1
    raise PatternError("unbalanced parentheses")


class VercelPattern:
    """A ``vercel.json`` source or ``has`` value compiled for RE2 (``(?<name>`` groups allowed).

    RE2 has no look-arounds, so a look-ahead ``(?!x)``/``(?=x)`` at the start of a capturing group
    (``/feedback/((?!general).*)``, the form Vercel documents) or of the whole pattern becomes a
    check: the pattern matches without it, then ``x`` is tried (RE2 again, anchored) where that
    group starts. Both steps are linear in the path. Elsewhere a look-around is refused."""

    __slots__ = ("source", "regex", "names", "checks")

    def __init__(self, source: str, *, regex: str | None = None, flags: str = "(?i)") -> None:
        self.source = source
        self.names: list[str | int] = []
        if regex is None:
            if len(source) > SOURCE_MAX:
                raise PatternError(f"the source is longer than {SOURCE_MAX} characters")
            if _CONTROL.search(source):
                raise PatternError("the source contains a space or a control character")
            regex, self.names = vercel_source_regex(source)
        self.checks: list[tuple[int, bool, Any]] = []
        while (la := _LOOKAHEAD.search(regex)) is not None:
            group = _group_at(regex, la.start())
            end = _closing(regex, la.start())
            body = regex[la.start() + 3:end]
            if group is None or _LOOKAHEAD.search(body) or "(?<=" in body or "(?<!" in body:
                raise PatternError(f"the source {source!r} has a look-ahead the platform cannot run (RE2 syntax "
                                   "has none; one is accepted only at the start of a group, as in "
                                   "/feedback/((?!general).*))")
            self.checks.append((group, la.group(0) == "(?!", _compile(f"{flags}(?:{body})", source, "vercel")))
            regex = regex[:la.start()] + regex[end + 1:]
        self.regex = _compile(flags + regex.replace("(?<", "(?P<").replace("(?P<=", "(?<=")
                              .replace("(?P<!", "(?<!"), source, "vercel")

    def match(self, path: str) -> Any:
        m = self.regex.match(path)
        if m is None:
            return None
        for group, negative, check in self.checks:
            at = m.start(group) if group else 0
            if at < 0:  # an optional group that took no part: Vercel's look-ahead did not run either
                continue
            if (check.match(path, at) is not None) == negative:
                return None
        return m
