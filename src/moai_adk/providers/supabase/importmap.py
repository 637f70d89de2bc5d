"""Deno import maps and the module walk that decides which files a function deploy uploads.

Which import map a function uses (the Supabase CLI's precedence, ``internal/functions/deploy``
and ``pkg/config``):

1. ``import_map`` of ``[functions.<name>]`` in supabase/config.toml (relative to supabase/);
2. for a function with a config.toml table, ``deno.json`` / ``deno.jsonc`` beside its entrypoint;
3. ``deno.json``, ``deno.jsonc``, then the deprecated ``import_map.json`` in
   ``supabase/functions/<name>/``;
4. the global fallback ``supabase/functions/import_map.json``.

A ``deno.json(c)`` with neither ``imports`` nor ``scopes`` but an ``importMap`` key points at
the real map (relative to itself); both files are uploaded. Maps may hold comments and
trailing commas (JSONC). Relative values and scope prefixes are resolved against the map's
folder; URLs and ``npm:``/``jsr:`` targets are remote and not followed.

Lookup follows Deno's rules: the scopes whose prefix holds the importing file, most specific
first, then ``imports``; a key ending in ``/`` maps every specifier it prefixes, any other key
only itself; the longest matching key wins. The walk starts at the entrypoint and follows
every local import with a file extension, transitively (``import``/``export ... from``,
side-effect ``import "..."`` and ``import("...")``), as the CLI does.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError

DENO_CONFIGS = ("deno.json", "deno.jsonc")
LEGACY_MAP = "import_map.json"
CODE_SUFFIXES = frozenset({".ts", ".tsx", ".js", ".jsx", ".mjs", ".mts", ".cjs", ".cts"})
_IMPORT = re.compile(
    r"""\b(?:import|export)\s+(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"'\n]+)["']"""
    r"""|\bimport\(\s*["']([^"'\n]+)["']\s*\)"""
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_JSONC_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r'("(?:\\.|[^"\\])*")|,(\s*[}\]])')


def parse_jsonc(text: str) -> Any:
    """JSON with ``//`` and ``/* */`` comments and trailing commas, as Deno accepts it."""
    text = _JSONC_TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
    text = _TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), text)
    return json.loads(text)


def _is_relative(spec: str) -> bool:
    return spec.startswith(("./", "../"))


def _join(base: str, relative: str) -> str:
    """``relative`` resolved against the folder ``base`` (posix), keeping a trailing ``/``."""
    joined = posixpath.normpath(posixpath.join(base, relative))
    return joined + "/" if relative.endswith("/") and not joined.endswith("/") else joined


@dataclass
class ImportMap:
    """A loaded map: the files it came from, and its entries with local paths made absolute."""

    files: list[Path] = field(default_factory=list)
    imports: dict[str, str] = field(default_factory=dict)
    scopes: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ImportMap:
        result = cls()
        data = result._read(path)
        if path.name.lower() in DENO_CONFIGS and not data.get("imports") and not data.get("scopes") \
                and isinstance(data.get("importMap"), str):
            data = result._read((path.parent / data["importMap"]).resolve())
        return result

    def _read(self, path: Path) -> dict[str, Any]:
        path = path.resolve()
        try:
            data = parse_jsonc(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Import map {path} does not exist.",
                              hint="Fix the importMap key that points at it, or create the file.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Import map {path} is not valid JSON: {exc}.",
                              hint="Fix the syntax at the position named above.") from None
        if not isinstance(data, dict):
            raise ConfigError(f"Import map {path} must hold a JSON object.", hint='Write {"imports": {...}}.')
        self.files.append(path)
        base = path.parent.as_posix()
        imports, scopes = data.get("imports") or {}, data.get("scopes") or {}
        if not isinstance(imports, dict) or not isinstance(scopes, dict) \
                or not all(isinstance(v, dict) for v in scopes.values()):
            raise ConfigError(f"Import map {path}: `imports` must map names to paths and `scopes` must map "
                              "prefixes to such tables.", hint="See https://docs.deno.com/runtime/fundamentals/modules/")
        self.imports = self._entries(imports, base)
        self.scopes = {self._key(str(prefix), base): self._entries(table, base) for prefix, table in scopes.items()}
        return data

    @staticmethod
    def _key(key: str, base: str) -> str:
        return _join(base, key) if _is_relative(key) else key

    @classmethod
    def _entries(cls, table: dict[str, Any], base: str) -> dict[str, str]:
        out = {}
        for key, value in table.items():
            if isinstance(value, str):
                out[cls._key(str(key), base)] = _join(base, value) if _is_relative(value) else value
        return out

    @staticmethod
    def _lookup(table: dict[str, str], spec: str) -> str | None:
        if spec in table:
            return table[spec]
        prefixes = [k for k in table if k.endswith("/") and spec.startswith(k)]
        if not prefixes:
            return None
        key = max(prefixes, key=len)
        return table[key] + spec[len(key):]

    def resolve(self, spec: str, referrer: Path) -> str:
        """``spec`` as imported from ``referrer``: an absolute local path, or unchanged (bare, URL)."""
        normal = _join(referrer.parent.as_posix(), spec) if _is_relative(spec) else spec
        where = referrer.as_posix()
        for prefix in sorted(self.scopes, key=len, reverse=True):
            if where == prefix or (prefix.endswith("/") and where.startswith(prefix)):
                hit = self._lookup(self.scopes[prefix], normal)
                if hit is not None:
                    return hit
        hit = self._lookup(self.imports, normal)
        return normal if hit is None else hit


def find_import_map(supabase_dir: Path, name: str, entry: Path, cfg: dict[str, Any] | None) -> tuple[Path | None, str]:
    """The import map of function ``name`` and a note when it is one the CLI warns about."""
    functions = supabase_dir / "functions"
    if cfg and cfg.get("import_map"):
        path = (supabase_dir / str(cfg["import_map"])).resolve()
        if not path.is_file():
            raise ConfigError(f"supabase/config.toml [functions.{name}] import_map {cfg['import_map']} does not exist.",
                              hint="Point it at a file relative to supabase/, e.g. ./functions/<name>/deno.json.")
        return path, ""
    if cfg is not None:
        for candidate in DENO_CONFIGS:
            if (entry.parent / candidate).is_file():
                return entry.parent / candidate, ""
    for candidate in (*DENO_CONFIGS, LEGACY_MAP):
        if (functions / name / candidate).is_file():
            note = f"{name} uses the deprecated {LEGACY_MAP}; move its imports into deno.json" \
                if candidate == LEGACY_MAP else ""
            return functions / name / candidate, note
    if (functions / LEGACY_MAP).is_file():
        return functions / LEGACY_MAP, f"{name} uses the fallback import map supabase/functions/{LEGACY_MAP}"
    return None, ""


def walk(starts: Iterable[Path], import_map: ImportMap | None, root: Path) -> tuple[list[Path], list[str]]:
    """Every local file reachable from ``starts`` through imports (``starts`` first), and warnings
    for imports of files that do not exist. An import leaving ``root`` is a ``ConfigError``."""
    imap = import_map or ImportMap()
    root = root.resolve()
    found: dict[Path, None] = {}
    warnings: list[str] = []
    queue = [p.resolve() for p in starts]
    queue.reverse()
    while queue:
        current = queue.pop()
        if current in found:
            continue
        found[current] = None
        if current.suffix not in CODE_SUFFIXES:
            continue
        try:
            text = current.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        pending: list[Path] = []
        for m in _IMPORT.finditer(text):
            spec = (m.group(1) or m.group(2) or "").strip()
            target = imap.resolve(spec, current)
            if _SCHEME.match(target) or not target.startswith("/") or not posixpath.splitext(target)[1]:
                continue  # remote, bare or extension-less: nothing to upload (as the CLI does)
            path = Path(posixpath.normpath(target))
            if path != root and root not in path.parents:
                raise ConfigError(f"{current} imports {spec}, which resolves to {path}, outside the project "
                                  f"folder {root}.", hint="Move the shared code under supabase/functions/_shared/.")
            if not path.is_file():
                warnings.append(f"{current.relative_to(root).as_posix()} imports {spec}, which does not exist")
                continue
            pending.append(path)
        queue.extend(reversed(pending))
    return list(found), warnings
