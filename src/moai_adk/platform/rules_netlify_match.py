"""Netlify rules for serving: sources matched, destinations filled, as ``netlify-redirector`` does.

* a ``_redirects`` source's ``*`` segment matches the rest of the path *and its bare parent*
  (``/blog/*`` matches ``/blog``); ``pre*`` at the end of a segment matches any segment starting
  with ``pre``; a ``*`` elsewhere is a literal character; ``:name`` matches one whole segment; a
  trailing ``/`` on either side is ignored; matching is case-sensitive; ``:splat`` is the first
  ``*``'s capture. Query conditions (``post=:id``) must all be met, ``:name`` values captured;
* in a destination, ``:name`` is replaced by the longest placeholder name that follows the colon
  (``:id.html`` with ``:id`` gives ``7.html``); unknown names stay as they are;
* a ``_headers`` path matches case-insensitively, its ``*`` segments match any rest (the slash
  before them optional) and ``:name`` one segment.

``NetlifyRule`` compiles its pattern when first tried, so loading 45,000 rules costs little.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import re2

from .rules_patterns import _LITERAL_SAFE, _VALUE_SAFE, SOURCE_MAX, destination_problem

_URL = ("http://", "https://")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9/:@!$'()*+,;=._~-]*")  # kept as it is by quote(value, safe=_VALUE_SAFE)


def source_problem(source: str) -> str | None:
    """Why a ``_redirects``/``_headers`` source cannot be used, or None."""
    if len(source) > SOURCE_MAX:
        return f"the source is longer than {SOURCE_MAX} characters"
    if _CONTROL.search(source):
        return "the source contains a space or a control character"
    return None


class NetlifySource:
    """A ``_redirects`` source ready to match, and the placeholder name of each of its groups.

    The common shapes (literal and ``:name`` segments, optionally ending in a ``*`` segment) are
    matched segment by segment, nothing to compile; the others become a regex: Python ``re`` with
    at most one ``*`` (``[^/]+`` groups between literal slashes and one ``.*``: matching backtracks at
    most once over the path), RE2 with more (linear whatever the pattern; Python's RE2 wrapper costs
    about 5 µs a match)."""

    __slots__ = ("regex", "names", "literal", "segments", "tail", "blank_splat")

    def __init__(self, source: str) -> None:
        path = source.rstrip("/") or "/"
        parts = path.split("/")[1:] if path != "/" else []
        out: list[str] = []
        names: list[str] = []
        for seg in parts:
            if seg == "*":
                out.append("(?:/(.*))?")
                names.append("splat")
            elif seg.startswith(":") and len(seg) > 1:
                out.append("/([^/]+)")
                names.append(seg[1:])
            elif seg.endswith("*"):
                out.append(f"/{re.escape(seg[:-1])}/?(.*)")
                names.append("splat")
            else:
                out.append("/" + re.escape(seg))
        self.names = tuple(names)
        self.literal = None if names else path
        # netlify-redirector gives `:splat` an empty value when the first `*` segment is directly
        # followed by another one, unless the source starts with it (`/a/*/*`: "", `/*/*`: the rest)
        first = parts.index("*") if "*" in parts else -1
        self.blank_splat = 0 < first < len(parts) - 1 and parts[first + 1] == "*"
        self.regex: Any = None
        self.tail = bool(parts) and parts[-1] == "*"
        head = parts[:-1] if self.tail else parts
        # (literal text, or None for a :name segment) per segment, when matching needs no regex
        simple = all(seg.startswith(":") or not seg.endswith("*") for seg in head)
        self.segments: tuple[str | None, ...] | None = None
        if names and simple:
            self.segments = tuple(None if seg.startswith(":") and len(seg) > 1 else seg for seg in head)
        elif names:
            pattern = f"^{''.join(out)}/?$"
            stars = names.count("splat")
            self.regex = re.compile(pattern, re.DOTALL) if stars <= 1 else re2.compile(pattern, _OPTIONS)

    def params(self, path: str) -> dict[str, str] | None:
        """The placeholder values when ``path`` matches (``splat``: the first ``*`` that took part), else None."""
        segments = self.segments
        if segments is not None:
            return self._by_segments(path, segments)
        if self.regex is None:
            lit = self.literal or "/"
            return {} if path == lit or path == lit + "/" else None
        m = self.regex.match(path)
        if m is None:
            return None
        values: dict[str, str] = {}
        for name, value in zip(self.names, m.groups(), strict=True):
            if name == "splat":
                if value is not None and "splat" not in values:
                    values["splat"] = value
            elif name not in values:
                values[name] = value or ""
        if "splat" in self.names:
            values.setdefault("splat", "")
            if self.blank_splat:
                values["splat"] = ""
        return values

    def _by_segments(self, path: str, segments: tuple[str | None, ...]) -> dict[str, str] | None:
        n = len(segments)
        if self.tail:  # ``/p/:x/*``: the segments, then nothing, "/" or "/<splat>"
            parts = path.split("/", n + 1)
            if len(parts) < n + 1 or parts[0]:
                return None
            rest = parts[n + 1] if len(parts) > n + 1 else ""
        else:  # one trailing slash is ignored
            parts = (path[:-1] if len(path) > 1 and path[-1] == "/" else path).split("/")
            if len(parts) != n + 1 or parts[0]:
                return None
        values: dict[str, str] = {}
        names = iter(self.names)
        for want, got in zip(segments, parts[1:n + 1], strict=True):
            if want is None:
                if not got:
                    return None
                values.setdefault(next(names), got)
            elif want != got:
                return None
        if self.tail:
            values["splat"] = rest
        return values


def match_query(wanted: dict[str, str], query: str, values: dict[str, str]) -> bool:
    """Whether the request's query string meets a rule's conditions; ``:name`` values are captured."""
    if not wanted:
        return True
    got: dict[str, str] = {}
    for part in query.split("&"):
        key, _, value = part.partition("=")
        got.setdefault(key, value)
    for key, want in wanted.items():
        if key not in got:
            return False
        if want.startswith(":"):
            values[want[1:]] = got[key]
        elif got[key] != want:
            return False
    return True


class NetlifyTemplate:
    """A destination whose ``:name`` placeholders (the longest known name wins, as Netlify replaces them)
    are filled from a match: percent-encoded in a ``Location``, as they are for a rewrite's path."""

    __slots__ = ("dest", "external", "_pieces", "_plain")

    def __init__(self, dest: str, names: list[str]) -> None:
        self.dest = dest
        self.external = dest.startswith(_URL)
        pieces: list[tuple[str, str | None]] = []
        longest_first = sorted(set(names), key=len, reverse=True)
        pos = start = 0
        while longest_first:
            at = dest.find(":", pos)
            if at < 0:
                break
            name = next((n for n in longest_first if dest.startswith(n, at + 1)), None)
            if name is None:
                pos = at + 1
                continue
            if at > start:
                pieces.append((dest[start:at], None))
            pieces.append((":" + name, name))
            pos = start = at + 1 + len(name)
        if start < len(dest):
            pieces.append((dest[start:], None))
        self._pieces = tuple((text, quote(text, safe=_LITERAL_SAFE), key) for text, key in pieces)
        self._plain = all(key is None for _, key in pieces)

    def expand(self, values: dict[str, str], *, location: bool) -> str:
        if self._plain:
            return "".join(p[1] if location else p[0] for p in self._pieces)
        out: list[str] = []
        for text, encoded, key in self._pieces:
            if key is None or key not in values:
                out.append(encoded if location else text)
            else:
                value = values[key]
                out.append(value if not location or _PLAIN_VALUE.fullmatch(value) else quote(value, safe=_VALUE_SAFE))
        result = "".join(out)
        if location and not self.external and result.startswith("//"):
            result = "/" + result.lstrip("/")
        return result


def header_regex(source: str) -> Any:
    """A ``_headers`` path as Netlify matches it: case-insensitive, ``*`` segments optional."""
    parts = []
    for seg in (s.rstrip() for s in source.split("/")):
        if not seg:
            continue
        if seg.startswith(":"):
            parts.append("([^/]+)")
        elif seg == "*":
            parts.append("?(.*)")
        else:
            parts.append("(.*)".join(re.escape(p) for p in seg.split("*")))
    return re2.compile("(?i)^/" + "/".join(parts) + "/?$", _OPTIONS)


def index_keys(source: str) -> tuple[str | None, tuple[int, str] | None]:
    """What the rule index files a source under: the whole path when it is literal, else its first
    literal segment and that segment's position when only ``:name`` segments come before it."""
    path = source.rstrip("/") or "/"
    if ":" not in path and "*" not in path:
        return path, None
    segments = path.split("/")
    key: tuple[int, str] | None = None
    literal = True
    for k in range(1, len(segments)):
        seg = segments[k]
        if seg[:1] == ":" and len(seg) > 1:
            literal = False
            continue
        if seg[-1:] == "*":
            return None, key
        if key is None:
            key = (k, seg)
    return (path, None) if literal else (None, key)


class NetlifyRule:
    """A stored ``_redirects``/netlify.toml rule for serving; its pattern is compiled when it is first
    tried, so loading 45,000 rules costs little and a request compiles only its candidates."""

    __slots__ = ("raw", "status", "force", "literal", "key", "_compiled")

    def __init__(self, raw: list[Any] | dict[str, Any]) -> None:
        if isinstance(raw, dict):  # stored by an earlier platform
            raw = [raw["source"], raw["dest"], raw["status"], raw["force"], raw.get("query") or {}]
        self.raw = raw
        self.status, self.force = int(raw[2]), bool(raw[3])
        self.literal, self.key = index_keys(str(raw[0]))
        self._compiled: tuple[NetlifySource, dict[str, str], NetlifyTemplate] | None | bool = False

    @property
    def redirects(self) -> bool:
        return 300 <= self.status < 400

    def compiled(self) -> tuple[NetlifySource, dict[str, str], NetlifyTemplate] | None:
        """The compiled rule, or None when it would not pass today's checks (it then never matches)."""
        made = self._compiled
        if made is False:
            made = None
            try:
                dest, raw_query = str(self.raw[1]), self.raw[4] if len(self.raw) > 4 else {}
                if destination_problem(dest) is None and source_problem(str(self.raw[0])) is None:
                    source = NetlifySource(str(self.raw[0]))
                    query = {str(k): str(v) for k, v in (raw_query or {}).items()}
                    names = [*source.names, *(v[1:] for v in query.values() if v.startswith(":"))]
                    made = (source, query, NetlifyTemplate(dest, names))
            except (re2.error, TypeError, ValueError, AttributeError):
                made = None
            self._compiled = made
        return made  # type: ignore[return-value]

    @property
    def query(self) -> dict[str, Any]:
        return dict(self.raw[4] or {}) if len(self.raw) > 4 else {}

    def apply(self, path: str, query: str) -> str | None:
        """The target for a matching request (a safe ``Location`` or a rewrite's path), else None."""
        made = self.compiled()
        if made is None:
            return None
        source, conditions, template = made
        values = source.params(path)
        if values is None or not match_query(conditions, query, values):
            return None
        return template.expand(values, location=self.redirects)
