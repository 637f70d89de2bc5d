"""Edge Functions: deploy through the API as ``supabase functions deploy --use-api`` does, list, delete.

``POST /v1/projects/{ref}/functions/deploy?slug=<name>`` takes a multipart form: one
``metadata`` JSON part, then one ``file`` part per source file. As in the Supabase CLI
(``pkg/function/deploy.go``), every path is relative to the project root (the folder
holding ``supabase/``), written with ``/``:

* file parts are named by that path (``supabase/functions/hello/index.ts``,
  ``supabase/functions/_shared/cors.ts``);
* ``entrypoint_path`` and ``import_map_path`` are such paths (config.toml's ``entrypoint``
  and ``import_map`` are relative to supabase/, so they gain the ``supabase/`` prefix);
* ``static_patterns`` are config.toml's ``static_files`` globs with the same ``supabase/``
  base (``./functions/hello/*.html`` -> ``supabase/functions/hello/*.html``), always sent
  (an empty list when there are none), and the files they match are uploaded too.

Files sent: the import map (and the map a ``deno.json`` ``importMap`` key names), the
static files, the entrypoint and every local file it imports, transitively, through
relative paths and import-map aliases (see ``importmap``). ``GET|DELETE
/v1/projects/{ref}/functions[/{slug}]`` list and delete.
"""

from __future__ import annotations

import glob
import json
import posixpath
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError, UsageError
from .._http import ApiClient
from ._client import SLUG_RE
from .importmap import ImportMap, find_import_map, walk

ENTRYPOINTS = ("index.ts", "index.js", "index.tsx", "index.jsx", "index.mjs")
SUPABASE_DIR = "supabase"


@dataclass
class FunctionPlan:
    """What one function deploy sends; ``entry`` is None for a function disabled in config.toml."""

    name: str
    entry: Path | None
    files: list[Path] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class SupabaseFunctions:
    def __init__(self, root: Path, client: Callable[[], ApiClient], ref: Callable[[str], str]) -> None:
        self.root = root
        self._client = client
        self._ref = ref

    @property
    def supabase_dir(self) -> Path:
        return self.root / SUPABASE_DIR

    @property
    def functions_dir(self) -> Path:
        return self.supabase_dir / "functions"

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def config(self) -> dict[str, dict[str, Any]]:
        """``[functions.<name>]`` tables of supabase/config.toml (empty when absent)."""
        path = self.supabase_dir / "config.toml"
        if not path.is_file():
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}.", hint="Fix the syntax at the line named above.") from exc
        functions = data.get("functions", {})
        if not isinstance(functions, dict):
            raise ConfigError(f"{path}: `functions` must be a table.", hint="Write [functions.<name>] tables.")
        for name, table in functions.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: `functions.{name}` must be a table.", hint=f"Write it as [functions.{name}].")
            if "verify_jwt" in table and not isinstance(table["verify_jwt"], bool):
                raise ConfigError(f"{path}: `functions.{name}.verify_jwt` must be true or false.",
                                  hint=f"Edit [functions.{name}] in {path}.")
            static = table.get("static_files", [])
            if not isinstance(static, list) or not all(isinstance(p, str) for p in static):
                raise ConfigError(f"{path}: `functions.{name}.static_files` must be a list of glob strings.",
                                  hint=f'Write static_files = ["./functions/{name}/assets/*"] (relative to supabase/).')
        return {str(k): dict(v) for k, v in functions.items()}

    def local(self) -> list[str]:
        """Function folders under supabase/functions (names that are valid slugs; ``_shared`` is not one)."""
        folder = self.functions_dir
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and SLUG_RE.match(p.name))

    def _entrypoint(self, name: str, cfg: dict[str, Any]) -> Path:
        folder = self.functions_dir / name
        if cfg.get("entrypoint"):
            entry = (self.supabase_dir / str(cfg["entrypoint"])).resolve()
            if not entry.is_file():
                raise ConfigError(f"supabase/config.toml [functions.{name}] entrypoint {cfg['entrypoint']} does not "
                                  "exist.", hint=f"Point it at a file relative to supabase/, e.g. ./functions/{name}/index.ts.")
            return entry
        for candidate in ENTRYPOINTS:
            if (folder / candidate).is_file():
                return folder / candidate
        raise UsageError(f"No edge function '{name}': {folder}/index.ts does not exist.",
                         hint=f"Create it with `supabase functions new {name}`, or pick one of: "
                              f"{', '.join(self.local()) or '(none found)'}.")

    def _static(self, name: str, patterns: list[str]) -> tuple[list[str], list[Path], list[str]]:
        """config.toml ``static_files`` as sent (project-root based) and the files they match."""
        sent: list[str] = []
        files: dict[Path, None] = {}
        warnings: list[str] = []
        root = self.root.resolve()
        for raw in patterns:
            if Path(raw).is_absolute():
                try:
                    pattern = Path(raw).relative_to(root).as_posix()
                except ValueError:
                    pattern = "../"
            else:
                pattern = posixpath.normpath(posixpath.join(SUPABASE_DIR, raw))
            if pattern == ".." or pattern.startswith("../"):
                raise ConfigError(f"supabase/config.toml [functions.{name}] static_files entry {raw} points outside "
                                  f"the project folder {root}.",
                                  hint="Static files are relative to supabase/ and must stay inside the project.")
            sent.append(pattern)
            matches = sorted(glob.glob(pattern, root_dir=root, include_hidden=True))
            if not matches:
                warnings.append(f"static_files pattern {raw} of {name} matched no file")
            for match in matches:
                path = root / match
                if path.is_file():
                    files[path] = None
                else:
                    warnings.append(f"static_files pattern {raw} of {name} matched the folder {match}, which is "
                                    f"not uploaded (use {match}/*)")
        return sent, list(files), warnings

    def plan(self, name: str, cfg: dict[str, Any] | None) -> FunctionPlan:
        """Every check that needs no request, and what the deploy of ``name`` would send."""
        table = cfg or {}
        if table.get("enabled") is False:
            return FunctionPlan(name, None)
        entry = self._entrypoint(name, table)
        map_path, note = find_import_map(self.supabase_dir, name, entry, cfg)
        import_map = ImportMap.load(map_path) if map_path else None
        patterns, static, warnings = self._static(name, list(table.get("static_files", [])))
        if note:
            warnings.insert(0, note)
        starts = [*(import_map.files if import_map else []), *static, entry]
        files, missing = walk(starts, import_map, self.root)
        meta: dict[str, Any] = {"entrypoint_path": self.rel(entry)}
        if import_map:
            meta["import_map_path"] = self.rel(import_map.files[0])
        meta.update({"name": name, "static_patterns": patterns, "verify_jwt": bool(table.get("verify_jwt", True))})
        return FunctionPlan(name, entry, files, meta, warnings + missing)

    def deploy(self, names: list[str] | None = None, environment: str = "production", *,
               dry_run: bool = False) -> list[dict[str, Any]]:
        """Deploy edge functions (all local ones when ``names`` is None); one result per function.

        Every function is planned (and so checked) before the first request; ``dry_run`` returns
        the plans."""
        config = self.config()
        wanted = list(names) if names else self.local()
        if not wanted:
            raise UsageError(f"There are no edge functions under {self.functions_dir}.",
                             hint="Create one with `supabase functions new <name>`.")
        for name in wanted:
            if not SLUG_RE.match(name):
                raise UsageError(f"'{name}' is not a valid function name.",
                                 hint="Use letters, digits, '-' and '_', starting with a letter.")
        plans = [self.plan(name, config.get(name)) for name in wanted]
        ref = self._ref(environment)
        results = []
        for plan in plans:
            if plan.entry is None:
                results.append({"slug": plan.name, "skipped": True, "reason": "enabled = false in supabase/config.toml"})
                continue
            parts = [("file", (self.rel(f), f.read_bytes(), "application/octet-stream")) for f in plan.files]
            size = sum(len(p[1][1]) for p in parts)
            if dry_run:
                results.append({"slug": plan.name, "planned": True, "metadata": plan.metadata, "files": len(parts),
                                "paths": [p[1][0] for p in parts], "bytes": size, "warnings": plan.warnings})
                continue
            answer = self._client().json("POST", f"/v1/projects/{ref}/functions/deploy", params={"slug": plan.name},
                                         data={"metadata": json.dumps(plan.metadata)}, files=parts)
            results.append({"slug": answer.get("slug", plan.name), "id": answer.get("id"),
                            "version": answer.get("version"), "status": answer.get("status"),
                            "verify_jwt": plan.metadata["verify_jwt"], "files": len(parts), "bytes": size,
                            "warnings": plan.warnings})
        return results

    def listed(self, environment: str = "production") -> list[dict[str, Any]]:
        ref = self._ref(environment)
        rows = self._client().json("GET", f"/v1/projects/{ref}/functions") or []
        keys = ("slug", "name", "status", "version", "verify_jwt", "entrypoint_path", "updated_at")
        return [{k: r.get(k) for k in keys} for r in rows]

    def delete(self, slug: str, environment: str = "production") -> None:
        if not SLUG_RE.match(slug):
            raise UsageError(f"'{slug}' is not a valid function name.", hint="Run `moai-adk functions list` to see them.")
        ref = self._ref(environment)
        self._client().request("DELETE", f"/v1/projects/{ref}/functions/{slug}")
