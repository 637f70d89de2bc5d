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
from .rules_patterns import _LITERAL_SAFE, _VALUE_SAFE, SOURCE_MAX, destination_problem

REDIRECTS, HEADERS, TOML = "_redirects", "_headers", "netlify.toml"
UNSUPPORTED_CONDITIONS = ("Country", "Language", "Role", "Cookie")
_WORDS = re.compile(r"\s+")
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


def parse_redirects(text: str, problems: list[Problem], warnings: list[str]) -> list[dict[str, Any]]:
    """The rules of a ``_redirects`` file; refused lines go to ``problems`` with their line number."""
    rules: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        words = [w for w in _WORDS.split(line.strip()) if w]
        if not words or words[0].startswith("#"):
            continue
        for i, word in enumerate(words):
            if word.startswith("#"):
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


def check_redirect(raw: dict[str, Any], file: str, line: int | None, problems: list[Problem],
                   warnings: list[str], where: str = "") -> dict[str, Any] | None:
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
    return {"source": source, "dest": dest, "status": status, "force": bool(raw.get("force")),
            "query": {str(k): str(v) for k, v in query.items()}}


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
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``[[redirects]]`` and ``[[headers]]`` of a ``netlify.toml``."""
    try:
        conf = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem(TOML, None, f"not valid TOML ({exc})"))
        return [], []
    text = raw.decode("utf-8")
    redirects: list[dict[str, Any]] = []
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
    """A compiled ``_redirects`` source: an RE2 regex, the placeholder names of its groups, and what the
    index needs (``literal``: the whole path when it has no placeholder; ``head``: its first segment)."""

    __slots__ = ("regex", "names", "literal", "head")

    def __init__(self, source: str) -> None:
        path = source.rstrip("/") or "/"
        out: list[str] = []
        names: dict[str, str] = {}
        literal = True
        for i, seg in enumerate(path.split("/")[1:] if path != "/" else []):
            group = f"g{i}"
            if seg == "*":
                out.append(f"(?:/(?P<{group}>.*))?")
                names[group] = "splat"
            elif seg.startswith(":") and len(seg) > 1:
                out.append(f"/(?P<{group}>[^/]+)")
                names[group] = seg[1:]
            elif seg.endswith("*"):
                out.append(f"/{re.escape(seg[:-1])}/?(?P<{group}>.*)")
                names[group] = "splat"
            else:
                out.append("/" + re.escape(seg))
                continue
            literal = False
        self.names = names
        self.literal = path if literal else None
        self.regex = None if literal else re2.compile(f"^{''.join(out)}/?$", _OPTIONS)
        first = path.split("/")[1] if path != "/" else ""
        self.head = first if first and not first.startswith(":") and "*" not in first else None

    def params(self, path: str) -> dict[str, str] | None:
        """The placeholder values when ``path`` matches (``splat``: the first ``*`` that took part), else None."""
        if self.regex is None:
            lit = self.literal or "/"
            return {} if path == lit or path == lit + "/" else None
        m = self.regex.match(path)
        if m is None:
            return None
        values: dict[str, str] = {}
        for group, name in self.names.items():
            value = m.group(group)
            if name == "splat":
                if value is not None and "splat" not in values:
                    values["splat"] = value
            elif name not in values:
                values[name] = value or ""
        if "splat" in self.names.values():
            values.setdefault("splat", "")
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

    __slots__ = ("dest", "external", "_pieces")

    def __init__(self, dest: str, names: list[str]) -> None:
        self.dest = dest
        self.external = dest.startswith(_URL)
        pieces: list[tuple[str, str | None]] = []
        pos = 0
        if names:
            token = re.compile(":(" + "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True)) + ")")
            for m in token.finditer(dest):
                if m.start() > pos:
                    pieces.append((dest[pos:m.start()], None))
                pieces.append((m.group(0), m.group(1)))
                pos = m.end()
        if pos < len(dest):
            pieces.append((dest[pos:], None))
        self._pieces = tuple(pieces)

    def expand(self, values: dict[str, str], *, location: bool) -> str:
        out: list[str] = []
        for text, key in self._pieces:
            if key is None or key not in values:
                out.append(quote(text, safe=_LITERAL_SAFE) if location else text)
            else:
                out.append(quote(values[key], safe=_VALUE_SAFE) if location else values[key])
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


class NetlifyRule:
    """A stored ``_redirects``/netlify.toml rule compiled for serving."""

    __slots__ = ("source", "query", "template", "status", "force", "literal", "head")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.source = NetlifySource(str(raw["source"]))
        self.query: dict[str, str] = {str(k): str(v) for k, v in (raw.get("query") or {}).items()}
        names = [*self.source.names.values(), *(v[1:] for v in self.query.values() if v.startswith(":"))]
        self.template = NetlifyTemplate(str(raw["dest"]), names)
        self.status, self.force = int(raw["status"]), bool(raw["force"])
        self.literal, self.head = self.source.literal, self.source.head

    @property
    def redirects(self) -> bool:
        return 300 <= self.status < 400

    def apply(self, path: str, query: str) -> str | None:
        """The target for a matching request (a safe ``Location`` or a rewrite's path), else None."""
        values = self.source.params(path)
        if values is None or not match_query(self.query, query, values):
            return None
        return self.template.expand(values, location=self.redirects)
