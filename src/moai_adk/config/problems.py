"""Validation problems of ``moai.toml`` as one readable error: file, dotted key, line, fix.

pydantic reports each problem with a location such as ``("platforms", "vercel", "project_id")``;
``translate`` turns it into a sentence and a fix (with "did you mean" for unknown keys and
platforms), ``key_lines`` finds the line of every key and table in the text, and
``raise_problems`` joins everything into one ``ConfigError`` paragraph.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

from pydantic_core import ErrorDetails

from ..errors import ConfigError
from . import KNOWN_PLATFORMS
from .model import SETTINGS_MODELS, json_schema

Loc = tuple[str | int, ...]

_EXPECTED = {
    "string_type": "a string", "int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
    "list_type": "an array", "dict_type": "a table", "model_type": "a table",
}
_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER_RE = re.compile(rf"^\s*\[\[?\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN_RE = re.compile(rf"^\s*({_DOTTED})\s*=\s*(.*)$")


@dataclass(frozen=True)
class Problem:
    loc: Loc  # where to look for the line: tables, keys and array indexes
    dotted: str  # what the message calls it, e.g. deploy.platforms[1]
    what: str
    fix: str


def toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    for kind, name in ((str, "string"), (int, "integer"), (float, "float"), (list, "array"), (dict, "table"),
                       (datetime, "datetime"), (date, "date"), (time, "time")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def _keys(parts: Sequence[str | int]) -> tuple[str, ...]:
    return tuple(p for p in parts if isinstance(p, str) and p != "[key]")


def _place(loc: Loc) -> Loc:
    return tuple(p for p in loc if p != "[key]")


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}" if text else part
    return text


def keys_at(parents: tuple[str, ...]) -> list[str]:
    """Keys the schema allows in the table at ``parents`` (``()`` is the document)."""
    schema = json_schema()
    node: Mapping[str, Any] = schema
    for part in parents:
        if "$ref" in node:
            node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        props, patterns = node.get("properties", {}), node.get("patternProperties", {})
        if part in props:
            node = props[part]
        elif patterns:
            node = next(iter(patterns.values()))
        else:
            return []
    if "$ref" in node:
        node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return list(node.get("properties", {}))


def _table(parents: tuple[str, ...]) -> str:
    return f"[{'.'.join(parents)}]" if parents else "the top level of moai.toml"


def _unknown_key(loc: tuple[str, ...]) -> tuple[str, str]:
    *parents_list, key = loc
    parents = tuple(parents_list)
    allowed = keys_at(parents)
    kind = "platform" if parents == ("platforms",) else "key"
    guess = did_you_mean(key, allowed)
    what = f"is not a known {kind}" + (f" (did you mean `{guess}`?)" if guess else "")
    fix = f"Rename `{key}` to `{guess}`." if guess else f"Remove it; {_table(parents)} takes: {', '.join(allowed)}."
    return what, fix


def _one(err: ErrorDetails, path: Path) -> Problem:
    loc: Loc = tuple(err["loc"])
    keys, dotted, kind, value = _keys(loc), _dotted(loc), err["type"], err.get("input")
    field = keys[-1] if keys else ""
    if kind == "extra_forbidden":
        what, fix = _unknown_key(keys)
    elif kind == "missing":
        keys = keys if field == "name" else (*keys, "name")
        dotted = ".".join(keys)
        what, fix = "is missing (project.name is required)", f'Add `name = "my-site"` under [project] in {path}.'
    elif kind in ("model_type", "dict_type") and not isinstance(value, Mapping):
        what, fix = f"must be a table, not {toml_type(value)}", f"Write it as a [{dotted}] table."
    elif kind in _EXPECTED:
        what = f"must be {_EXPECTED[kind]}, not {toml_type(value)}"
        fix = f"Edit {path} so `{dotted}` is {_EXPECTED[kind]}."
    elif kind == "literal_error" and not isinstance(value, str):
        what, fix = f"must be a string, not {toml_type(value)}", f"Write a platform name: {', '.join(KNOWN_PLATFORMS)}."
    elif kind == "literal_error":
        guess = did_you_mean(value, KNOWN_PLATFORMS)
        what = f"names unknown platform '{value}'" + (f" (did you mean `{guess}`?)" if guess else "")
        fix = (f"Write `{guess}`." if guess else "") + f" Known platforms: {', '.join(KNOWN_PLATFORMS)}."
        fix = fix.strip()
    elif kind == "string_pattern_mismatch" and loc[-1] == "[key]" and "buckets" in keys[:-1]:
        what = f"'{field}' is not a bucket name Supabase Storage accepts"
        fix = "Use 1 to 100 letters, digits, spaces and _!.*'()&$=@;:+,?- (no '/'), e.g. \"user-avatars\"."
    elif kind == "string_pattern_mismatch" and loc[-1] == "[key]":
        what, fix = f"has an invalid environment name '{field}'", "Use lowercase letters, digits and '-'."
    elif kind == "string_pattern_mismatch" and field == "name":
        what = f"'{value}' is not a valid name"
        fix = "Use lowercase letters, digits and '-', starting with a letter or digit (at most 63)."
    elif kind == "string_pattern_mismatch" and field == "health_check":
        what, fix = f"'{value}' must start with '/'", 'Write a path such as "/" or "/healthz".'
    elif kind == "moai_outside":
        what, fix = f"'{value}' must be a folder inside the project", 'Use a relative path such as "dist".'
    elif kind == "greater_than":
        what, fix = f"must be greater than {err.get('ctx', {}).get('gt', 0):g}, not {value}", f"Edit `{dotted}` in {path}."
    else:
        what, fix = f"is invalid: {err['msg'][:1].lower()}{err['msg'][1:]}", f"Edit `{dotted}` in {path}."
    return Problem(keys if kind in ("missing", "extra_forbidden") else _place(loc), dotted, what, fix)


def translate(errors: Sequence[ErrorDetails], path: Path) -> list[Problem]:
    """pydantic's errors as problems (``raise_problems`` orders them by line)."""
    return [_one(err, path) for err in errors]


def misspelled_settings(unknown: Iterable[tuple[str, str]]) -> list[Problem]:
    """Unknown ``[platforms.<name>]`` keys (``model.unknown_settings``) that look like a typo of a known one.

    Other unknown keys stay (settings are the adapter's business): ``team`` is kept,
    ``projct_id`` is an error.
    """
    problems: list[Problem] = []
    for name, key in unknown:
        guess = did_you_mean(key, SETTINGS_MODELS[name].model_fields, cutoff=0.8)
        if guess:
            problems.append(Problem(("platforms", name, key), f"platforms.{name}.{key}",
                                    f"is not a known key (did you mean `{guess}`?)", f"Rename `{key}` to `{guess}`."))
    return problems


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in re.findall(_KEY, dotted))


class _ArrayScan:
    """Follows an array value across lines: its depth and the line each top-level item starts on."""

    def __init__(self) -> None:
        self.depth, self.expecting = 0, False
        self.items: list[int] = []

    def feed(self, text: str, line: int) -> None:
        quote, escaped = "", False
        for ch in text:
            if quote:
                if escaped:
                    escaped = False
                elif ch == "\\" and quote == '"':
                    escaped = True
                elif ch == quote:
                    quote = ""
                continue
            if ch == "#":
                return
            if ch.isspace():
                continue
            if self.depth == 1 and self.expecting and ch not in ",]":
                self.items.append(line)
                self.expecting = False
            if ch in "\"'":
                quote = ch
            elif ch == "[":
                self.depth += 1
                self.expecting = self.depth == 1
            elif ch == "]":
                self.depth -= 1
            elif ch == "," and self.depth == 1:
                self.expecting = True


def key_lines(text: str) -> dict[Loc, int]:
    """1-based line of every table, key and array item in ``text`` (and of each table a dotted key implies)."""
    lines: dict[Loc, int] = {}
    table: tuple[str, ...] = ()
    multiline = ""
    array: _ArrayScan | None = None
    key: tuple[str, ...] = ()
    for no, raw in enumerate(text.splitlines(), 1):
        if multiline:
            if raw.count(multiline) % 2:
                multiline = ""
            continue
        if array is not None:
            array.feed(raw, no)
        else:
            header = _HEADER_RE.match(raw)
            assign = None if header else _ASSIGN_RE.match(raw)
            if header:
                table = _parts(header.group(1))
                found = table
            elif assign:
                key = found = table + _parts(assign.group(1))
                value = assign.group(2)
                multiline = next((q for q in ('"""', "'''") if value.count(q) % 2), "")
                if value.startswith("[") and not multiline:
                    array = _ArrayScan()
                    array.feed(value, no)
            else:
                continue
            for i in range(1, len(found) + 1):
                lines.setdefault(found[:i], no)
        if array is not None and array.depth <= 0:
            for index, line in enumerate(array.items):
                lines.setdefault((*key, index), line)
            array = None
    return lines


def line_of(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    """The line of ``loc``, else of its nearest enclosing table that the file names."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def raise_problems(problems: list[Problem], path: Path, text: str) -> NoReturn:
    """One ``ConfigError`` for every problem: ``<file>:<line>: `<key>` <what>`` each, then the fixes."""
    lines = key_lines(text)
    placed = sorted(((line_of(lines, p.loc), p) for p in problems), key=lambda lp: (lp[0] or 0, lp[1].dotted))
    parts = [f"{path}:{line}: `{p.dotted}` {p.what}" if line else f"{path}: `{p.dotted}` {p.what}" for line, p in placed]
    fixes = list(dict.fromkeys(p.fix for _, p in placed))
    if len(parts) == 1:
        raise ConfigError(f"{parts[0]}.", hint=fixes[0])
    raise ConfigError(f"{path} has {len(parts)} problems: " + "; ".join(parts) + ".", hint=" ".join(fixes))
