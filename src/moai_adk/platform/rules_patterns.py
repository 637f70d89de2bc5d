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
_VERCEL_TOKEN = re.compile(rf"/?:({_NAME})(\([^)]*\))?([*+?])?|\(([^)]*)\)|\*")
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
    return _compile("^" + "".join(out) + "$", source, syntax)


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
