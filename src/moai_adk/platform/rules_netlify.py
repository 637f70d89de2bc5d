"""Netlify rules: ``_redirects``, ``_headers`` and the ``[[redirects]]``/``[[headers]]`` of ``netlify.toml``.

Parsed at finalize as Netlify parses them (``@netlify/redirect-parser``,
``@netlify/headers-parser``) and matched as Netlify's redirect engine
(``netlify-redirector``, the one its dev server runs) matches them:

* a ``_redirects`` line is ``from [key=value ...] to [status[!]] [Key=value ...]``:
  the query conditions are the ``key=value`` words before the first word that
  starts with ``/`` or ``http(s)://``; a word starting with ``#`` ends the line.
  ``/admin/* 200`` (no destination, a 2xx status, a source ending in ``/*``)
  rewrites to ``/admin/:splat``. Lines Netlify rejects (no destination, a status
  that is not a number, a ``/.netlify`` source...) are refused with their line;
* a source's ``*`` segment matches the rest of the path *and its bare parent*
  (``/blog/*`` matches ``/blog``); ``pre*`` at the end of a segment matches any
  segment starting with ``pre``; a ``*`` elsewhere is a literal character;
  ``:name`` matches one whole segment; a trailing ``/`` on either side is
  ignored; matching is case-sensitive. ``:splat`` is the first ``*``'s capture;
* ``_headers``: path lines start with ``/`` (indented or not), header lines are
  ``Name: value``; a name repeated in one block is joined with ``", "``, empty
  values are dropped; a block's path matches case-insensitively, ``*`` segments
  match any rest (the slash before them optional) and ``:name`` one segment.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any
from urllib.parse import quote

import re2

from .rules_check import Problem, header_problem
from .rules_patterns import _LITERAL_SAFE, _VALUE_SAFE, DEST_MAX, SOURCE_MAX, destination_problem

REDIRECTS, HEADERS, TOML = "_redirects", "_headers", "netlify.toml"
UNSUPPORTED_CONDITIONS = ("Country", "Language", "Role", "Cookie")
_INT = re.compile(r"[+-]?\d+")
_URL = ("http://", "https://")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


def _status(word: str) -> int | None:
    m = _INT.match(word.strip())
    return int(m.group(0)) if m else None


def _pairs(words: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in words:
        parts = word.split("=")
        if len(parts) > 1:
            out[parts[0]] = parts[1]
    return out


def parse_redirects(text: str, problems: list[Problem], warnings: list[str]) -> list[list[Any]]:
    """The rules of a ``_redirects`` file; refused lines go to ``problems`` with their line number."""
    rules: list[list[Any]] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        fast = _fast_rule(line)
        if fast is not None:
            rules.append(fast)
            continue
        words = line.split()
        if not words or words[0][0] == "#":
            continue
        if "#" in line:
            for i, word in enumerate(words):
                if word[0] == "#":
                    words = words[:i]
                    break
        source, parts = words[0], words[1:]
        if not parts:
            problems.append(Problem(REDIRECTS, lineno, f"needs a destination path or URL: {line.strip()!r}"))
            continue
        to: str | None = None
        if _status(parts[0]) is not None:
            query, last = {}, parts
        else:
            at = next((i for i, p in enumerate(parts) if p.startswith("/") or p.startswith(_URL)), None)
            if at is None:
                problems.append(Problem(REDIRECTS, lineno, "the destination must start with '/', 'http://' or "
                                        f"'https://': {line.strip()!r}"))
                continue
            query, to, last = _pairs(parts[:at]), parts[at], parts[at + 1:]
        status, force = None, False
        if last:
            status = _status(last[0])
            if status is None:
                problems.append(Problem(REDIRECTS, lineno, f"{last[0]!r} is not a status code (write the status, "
                                        "e.g. 301 or 200!, before conditions such as Country=...)"))
                continue
            force = last[0].endswith("!")
        rule = {"from": source, "to": to, "status": status, "force": force, "query": query,
                "conditions": _pairs(last[1:])}
        checked = check_redirect(rule, REDIRECTS, lineno, problems, warnings)
        if checked is not None:
            rules.append(checked)
    return rules


_PLAIN_VALUE = re.compile(r"[A-Za-z0-9/:@!$'()*+,;=._~-]*")  # kept as it is by quote(value, safe=_VALUE_SAFE)
# a plain line: visible-ASCII source and destination paths (the destination's second character is
# neither '/' nor '\\'), an optional 2xx-5xx status with '!', an optional trailing comment
_PLAIN_LINE = re.compile(r"[ \t]*(/[\x21-\x7e]*)[ \t]+(/(?:[\x21-\x2e\x30-\x5b\x5d-\x7e][\x21-\x7e]*)?)"
                         r"(?:[ \t]+([2-5]\d\d)(!?))?(?:[ \t]+#.*)?[ \t\r]*")


def _fast_rule(line: str) -> list[Any] | None:
    """The stored rule of the commonest lines (``/from /to [status[!]] [# comment]``: visible ASCII
    paths, a 2xx-5xx status), checked as ``check_redirect`` would; None sends the line the full way."""
    m = _PLAIN_LINE.fullmatch(line)
    if m is None:
        return None
    source, dest, status, bang = m.groups()
    if len(source) > SOURCE_MAX or len(dest) > DEST_MAX or source.startswith("/.netlify"):
        return None
    return [source, dest, int(status) if status else 301, bang == "!"]


def check_redirect(raw: dict[str, Any], file: str, line: int | None, problems: list[Problem],
                   warnings: list[str], where: str = "") -> list[Any] | None:
    """A redirect (from ``_redirects`` or netlify.toml) as stored, or None (a problem or a warning said why)."""
    where = where or (f"{file} line {line}" if line else file)
    source = raw.get("from")
    status = 301 if raw.get("status") is None else raw["status"]
    if not isinstance(source, str) or not source:
        problems.append(Problem(file, line, f"{where}: needs a 'from' path"))
        return None
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        problems.append(Problem(file, line, f"status {status!r} is not between 200 and 599"))
        return None
    dest = raw.get("to")
    if dest is None:
        if not (source.endswith("/*") and 200 <= status < 300):
            problems.append(Problem(file, line, "needs a destination (only a source ending in '/*' with a 2xx "
                                    "status may leave it out: '/app/* 200' rewrites to /app/:splat)"))
            return None
        dest = source[:-2] + "/:splat"
    if not isinstance(dest, str):
        problems.append(Problem(file, line, f"the destination must be a string: {dest!r}"))
        return None
    if source.startswith(_URL):
        warnings.append(f"{where}: a rule for another host ({source}) never applies on the local platform")
        return None
    if source.startswith("/.netlify"):
        problems.append(Problem(file, line, "a source may not start with /.netlify (reserved by Netlify)"))
        return None
    if not source.startswith("/"):
        problems.append(Problem(file, line, f"the source must start with '/': {source!r}"))
        return None
    why = source_problem(source) or destination_problem(dest)
    if why is not None:
        problems.append(Problem(file, line, why))
        return None
    conditions = {str(k).capitalize() if str(k).lower() in ("country", "language", "role", "cookie") else str(k): v
                  for k, v in (raw.get("conditions") or {}).items()}
    unsupported = [k for k in conditions if k in UNSUPPORTED_CONDITIONS]
    if unsupported:
        warnings.append(f"{where}: {'/'.join(unsupported)} conditions cannot be known by a local server; "
                        "the rule never applies on the local platform")
        return None
    if 200 <= status < 300 and dest.startswith(_URL):
        warnings.append(f"{where}: proxying to another host ({dest}) is not supported; the rule never applies")
        return None
    query = raw.get("query") or {}
    if not isinstance(query, dict):
        problems.append(Problem(file, line, f"'query' must be a table of parameter = value: {query!r}"))
        return None
    return stored(source, dest, status, bool(raw.get("force")), {str(k): str(v) for k, v in query.items()})


def stored(source: str, dest: str, status: int, force: bool, query: dict[str, str] | None = None) -> list[Any]:
    """A Netlify rule as a deployment stores it: ``[source, dest, status, force]`` and, when it has
    query conditions, ``{param: value}`` last (a compact list: 45,000 rules load in a fraction of a second)."""
    return [source, dest, status, force, query] if query else [source, dest, status, force]


def source_problem(source: str) -> str | None:
    if len(source) > SOURCE_MAX:
        return f"the source is longer than {SOURCE_MAX} characters"
    if _CONTROL.search(source):
        return "the source contains a space or a control character"
    return None


def parse_headers(text: str, problems: list[Problem], warnings: list[str], file: str = HEADERS
                  ) -> list[dict[str, Any]]:
    """The blocks of a ``_headers`` file: ``{"source", "syntax": "netlify", "headers": [[name, value]]}``."""
    blocks: list[dict[str, Any]] = []
    current: dict[str, str] | None = None
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("/"):
            current = {}
            why = source_problem(line)
            if why is not None:
                problems.append(Problem(file, lineno, why))
                continue
            blocks.append({"source": line, "syntax": "netlify", "headers": current, "line": lineno})
            continue
        if ":" not in line:
            warnings.append(f"{file} line {lineno}: neither a path nor 'Name: value'; ignored as Netlify does")
            continue
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if current is None:
            problems.append(Problem(file, lineno, f"header {name!r} comes before any path line"))
            continue
        if not name:
            problems.append(Problem(file, lineno, f"a header line needs a name before ':': {line!r}"))
            continue
        if not value:
            warnings.append(f"{file} line {lineno}: header {name!r} has an empty value; dropped")
            continue
        value = join_values(value)
        why = header_problem(name, value)
        if why is not None:
            problems.append(Problem(file, lineno, why, header=name))
            continue
        current[name] = f"{current[name]}, {value}" if name in current else value
    return [{"source": b["source"], "syntax": "netlify", "headers": [[k, v] for k, v in b["headers"].items()]}
            for b in blocks if b["headers"]]


def join_values(value: str) -> str:
    """A header value as Netlify stores it: list items separated by exactly ``", "``."""
    return ", ".join(re.split(r"\s*,\s*", value))


def parse_toml(raw: bytes, problems: list[Problem], warnings: list[str]
               ) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """The ``[[redirects]]`` and ``[[headers]]`` of a ``netlify.toml``."""
    try:
        conf = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem(TOML, None, f"not valid TOML ({exc})"))
        return [], []
    text = raw.decode("utf-8")
    redirects: list[list[Any]] = []
    lines = _table_lines(text, "redirects")
    entries = conf.get("redirects") or []
    if not isinstance(entries, list):
        problems.append(Problem(TOML, None, "'redirects' must be an array of tables ([[redirects]])"))
        entries = []
    for i, item in enumerate(entries):
        line = lines[i] if len(lines) == len(entries) else None
        where = f"netlify.toml [[redirects]] #{i + 1}"
        if not isinstance(item, dict):
            problems.append(Problem(TOML, line, f"{where} must be a table"))
            continue
        rule = check_redirect({**item, "from": item.get("from", item.get("origin")),
                               "to": item.get("to", item.get("destination")),
                               "query": item.get("query", item.get("params", item.get("parameters")))},
                              TOML, line, problems, warnings, where)
        if rule is not None:
            redirects.append(rule)
    headers: list[dict[str, Any]] = []
    lines = _table_lines(text, "headers")
    entries = conf.get("headers") or []
    if not isinstance(entries, list):
        problems.append(Problem(TOML, None, "'headers' must be an array of tables ([[headers]])"))
        entries = []
    for i, item in enumerate(entries):
        line = lines[i] if len(lines) == len(entries) else None
        block = _toml_header_block(item, line, f"netlify.toml [[headers]] #{i + 1}", problems)
        if block is not None:
            headers.append(block)
    return redirects, headers


def _toml_header_block(item: Any, line: int | None, where: str, problems: list[Problem]) -> dict[str, Any] | None:
    source = item.get("for") if isinstance(item, dict) else None
    values = item.get("values") if isinstance(item, dict) else None
    if not isinstance(source, str) or not isinstance(values, dict):
        problems.append(Problem(TOML, line, f"{where} needs a 'for' path and a [headers.values] table"))
        return None
    pairs = []
    for key, value in values.items():
        name = str(key).strip()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ", ".join(v.strip() for v in value)
        elif isinstance(value, str):
            value = join_values(value.strip())
        else:
            problems.append(Problem(TOML, line, f"{where}: header {name!r} must be a string or a list of strings"))
            continue
        why = header_problem(name, value)
        if why is not None:
            problems.append(Problem(TOML, line, why, header=name))
            continue
        pairs.append([name, value])
    source = source.strip()
    why = source_problem(source)
    if why is not None:
        problems.append(Problem(TOML, line, why))
        return None
    return {"source": source, "syntax": "netlify", "headers": pairs} if pairs else None


def _table_lines(text: str, name: str) -> list[int]:
    heading = re.compile(rf"^\s*\[\[\s*{name}\s*\]\]", re.MULTILINE)
    return [text.count("\n", 0, m.start()) + 1 for m in heading.finditer(text)]


# -- matching ------------------------------------------------------------------------------------------


class NetlifySource:
    """A ``_redirects`` source ready to match, and the placeholder name of each of its groups.

    The common shapes (literal and ``:name`` segments, optionally ending in a ``*`` segment) are
    matched segment by segment, nothing to compile; the others become a regex: Python ``re`` with
    at most one ``*`` (``[^/]+`` groups between literal slashes and one ``.*``: matching backtracks at
    most once over the path), RE2 with more (linear whatever the pattern; Python's RE2 wrapper costs
    about 5 µs a match)."""

    __slots__ = ("regex", "names", "literal", "segments", "tail")

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
