"""Reading, merging and writing the project's config files.

- ``parse_json`` / ``parse_toml``: an existing file, or a ``ConfigError`` naming file, line and column.
- ``merge_missing``: add the keys a file lacks, keep every value the user set.

The platform link files (``.vercel/project.json``, ``.netlify/state.json``) belong to their
adapters (``providers/vercel/_link.py``, ``providers/netlify/_link.py``), not to this module.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.toml_document import TOMLDocument

from ..errors import ConfigError
from .plan import FileChange, change_for, read_bytes


def _fix_hint(rel: str) -> str:
    return (f"Fix {rel} at the line named above, or run `moai-adk init --force` to replace it "
            "with a fresh one (your edits in it are then lost).")


def parse_json(rel: str, text: str) -> Any:
    """Parse an existing JSON config file (``rel`` names it in errors)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{rel}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}).",
                          hint=_fix_hint(rel)) from exc


def parse_toml(rel: str, text: str) -> TOMLDocument:
    """Parse an existing TOML file keeping its comments and layout."""
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        reason = str(exc).split(" at line ")[0]
        raise ConfigError(f"{rel}:{exc.line}:{exc.col}: not valid TOML ({reason}).",
                          hint=_fix_hint(rel)) from exc


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def merge_missing(target: MutableMapping[str, Any], wanted: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Copy into ``target`` every key of ``wanted`` it lacks (recursing into tables).

    Values the user already set are kept; each one that differs from ``wanted`` is
    returned as a ``"key: yours=..., default=..."`` line so the caller can report it.
    """
    differences: list[str] = []
    for key, value in wanted.items():
        dotted = f"{prefix}{key}"
        if key not in target:
            target[key] = value
        elif isinstance(value, Mapping) and isinstance(target[key], MutableMapping):
            differences += merge_missing(target[key], value, dotted + ".")
        elif plain(target[key]) != plain(value):
            differences.append(f"{dotted}: kept yours ({_show(target[key])}), init would write {_show(value)}")
    return differences


def plain(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


def _show(value: Any) -> str:
    text = json.dumps(plain(value), ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def decode_text(rel: str, old: bytes) -> str:
    try:
        return old.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{rel} is not UTF-8 text (byte {exc.start}).", hint=_fix_hint(rel)) from exc


def json_change(root: Path, rel: str, wanted: dict[str, Any], *, force: bool,
                note: str | None = None) -> tuple[FileChange, list[str]]:
    """Plan a JSON config file: create it, add only its missing keys, or (``force``) replace it."""
    old = read_bytes(root / rel)
    if old is None or force:
        return change_for(root, rel, dump_json(wanted), old, force=force, note=note), []
    data = parse_json(rel, decode_text(rel, old))
    if not isinstance(data, dict):
        raise ConfigError(f"{rel} must hold a JSON object, found {type(data).__name__}.", hint=_fix_hint(rel))
    before = copy.deepcopy(data)
    differences = merge_missing(data, wanted)
    new = dump_json(data) if data != before else None
    return change_for(root, rel, new, old, force=False, note=note), [f"{rel} {d}" for d in differences]


def toml_change(root: Path, rel: str, wanted: TOMLDocument, *, force: bool,
                note: str | None = None) -> tuple[FileChange, list[str]]:
    """Plan a TOML config file: create it, add only its missing keys (comments kept), or replace it."""
    old = read_bytes(root / rel)
    if old is None or force:
        text = tomlkit.dumps(wanted).rstrip("\n") + "\n"
        return change_for(root, rel, text.encode("utf-8"), old, force=force, note=note), []
    doc = parse_toml(rel, decode_text(rel, old))
    differences = merge_missing(doc, wanted)
    return (change_for(root, rel, doc.as_string().encode("utf-8"), old, force=False, note=note),
            [f"{rel} {d}" for d in differences])
