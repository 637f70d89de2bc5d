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
* ``_headers``: path lines start with ``/`` (indented or not), header lines are
  ``Name: value``; a name repeated in one block is joined with ``", "`` and
  list values are normalised to ``", "``; empty values are dropped (warning);
* ``netlify.toml``: ``[[redirects]]`` (``from``, ``to``, ``status``, ``force``,
  ``query``, ``conditions``, and the old names ``origin``/``destination``/
  ``params``) after the ``_redirects`` rules, ``[[headers]]`` (``for`` and
  ``values``, a list value joined with ``", "``) after the ``_headers`` blocks.

How the rules match is in ``rules_netlify_match``. Rules a local server cannot
apply (Country/Language/Role/Cookie conditions, proxying to another host, a
source naming another host) are left out with a warning.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from .rules_check import Problem, header_problem
from .rules_netlify_match import source_problem
from .rules_patterns import DEST_MAX, SOURCE_MAX, destination_problem

REDIRECTS, HEADERS, TOML = "_redirects", "_headers", "netlify.toml"
UNSUPPORTED_CONDITIONS = ("Country", "Language", "Role", "Cookie")
_INT = re.compile(r"[+-]?\d+")
_URL = ("http://", "https://")


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
