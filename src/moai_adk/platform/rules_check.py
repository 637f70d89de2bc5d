"""What a deployment's rules may not do, checked at finalize (and again when rules are loaded).

A refused rule is a ``Problem`` (file, line, reason, and the header when one is
at fault); ``RulesError`` carries them all and reads as the first one. The
platform answers it with ``422 bad_rules``.

Header rules may set neither message framing nor hop-by-hop headers: every site
shares the server's connections, so a ``Content-Length`` or ``Connection`` from
one site's ``_headers`` could make a keep-alive connection carry bytes into the
answer to the next request, which may be for another site. ``Content-Encoding``
is the platform's (it serves its own gzip/brotli variants) and ``X-Moai-*``
names are reserved for it. Names must be RFC 9110 tokens and values visible
ASCII, spaces and tabs (no CR/LF, no other control or non-ASCII character).
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from json.decoder import JSONObject  # type: ignore[attr-defined]
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from typing import Any

RULES_MAX = 100_000  # rules of all kinds (redirects, rewrites, header blocks) in one deployment
HEADER_VALUE_MAX = 8192
FORBIDDEN_HEADERS = frozenset({
    "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer",
    "host", "content-encoding", "proxy-connection", "http2-settings",
})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[^\t\x20-\x7e]")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    reason: str
    header: str | None = None

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason, "header": self.header}


class RulesError(ValueError):
    """The rule files of a deployment cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("rules", None, problems)]
        self.problems = problems
        first, more = problems[0], len(problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''} in the rule files)" if more else ""
        super().__init__(f"{first}{tail}")

    def details(self) -> dict[str, Any]:
        """The first problem's fields plus the first 50 problems, for the API's error body."""
        first = self.problems[0]
        return {"file": first.file, "line": first.line, "header": first.header,
                "problems": [p.as_dict() for p in self.problems[:50]]}


def header_problem(name: str, value: str) -> str | None:
    """Why a rule may not set header ``name`` to ``value``, or None."""
    if not _TOKEN.fullmatch(name):
        return f"{name!r} is not a valid header name (RFC 9110: letters, digits and !#$%&'*+-.^_`|~)"
    lower = name.lower()
    if lower in FORBIDDEN_HEADERS:
        return (f"header {name!r} is set by the platform (message framing, hop-by-hop or compression); "
                "a rule may not set it")
    if lower.startswith("x-moai-"):
        return f"header {name!r} is reserved for the platform (X-Moai-*)"
    bad = _BAD_VALUE.search(value)
    if bad is not None:
        char = bad.group(0)
        kind = "a control character" if ord(char) < 0x80 else f"the non-ASCII character {char!r}"
        return (f"the value of header {name!r} contains {kind} (U+{ord(char):04X}); header values must be "
                "visible ASCII, spaces and tabs (percent-encode other characters)")
    if len(value) > HEADER_VALUE_MAX:
        return f"the value of header {name!r} is longer than {HEADER_VALUE_MAX} characters"
    return None


class _LineDecoder(json.JSONDecoder):
    """A JSON decoder that remembers the line where each object starts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.lines: dict[int, int] = {}
        self.parse_object = self._object
        self.scan_once = py_make_scanner(self)

    def _object(self, s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
        result, end = JSONObject(s_and_end, *args)
        self.lines[id(result)] = bisect.bisect_right(self.starts, s_and_end[1] - 1)
        return result, end


def load_json_with_lines(text: str) -> tuple[Any, dict[int, int]]:
    """``json.loads(text)`` and ``{id(obj): line}`` for every object in it (objects stay alive in the result)."""
    decoder = _LineDecoder(text)
    return decoder.decode(text), decoder.lines
