"""Supabase through its Management API: Edge Function secrets and Edge Functions.

Supabase hosts no static sites, so ``deploy()`` is ``NotSupported`` with a hint
to deploy the frontend elsewhere; edge functions are deployed on their own
with ``deploy_functions``. Routes (``supabase-management-openapi.json``):

- ``GET|POST|DELETE /v1/projects/{ref}/secrets``: env vars of the project's
  edge functions. The API only ever returns digests, so listed values are
  ``None`` and every var is secret.
- ``POST /v1/projects/{ref}/functions/deploy?slug=<name>``: multipart with one
  ``file`` part per source file (named by its path from the project root, as
  the Supabase CLI does) and a ``metadata`` JSON part
  (``entrypoint_path``, ``name``, ``verify_jwt``, ``import_map_path``,
  ``static_patterns``); ``GET|DELETE /v1/projects/{ref}/functions[/{slug}]``.

The project ref comes from moai.toml ``[environments.<env>] supabase_project_ref``,
else ``[platforms.supabase] project_ref``, else ``supabase/.temp/project-ref``
(written by ``supabase link``).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import CONFIG_FILE, load_config
from ..errors import AuthError, ConfigError, NotFoundError, UsageError
from ._http import ApiClient
from .base import EnvVar, Provider, ProviderContext
from .capabilities import EnvStore, Functions, Secrets

if TYPE_CHECKING:
    pass

TOKEN_ENV = "SUPABASE_ACCESS_TOKEN"
API_URL_ENV = "MOAI_SUPABASE_API_URL"
DEFAULT_API_URL = "https://api.supabase.com"
REF_RE = re.compile(r"^[a-z]{20}$")
SLUG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
SECRET_VALUE_MAX = 24_576
SECRET_NAME_MAX = 256
RESERVED_PREFIX = "SUPABASE_"
ENTRYPOINTS = ("index.ts", "index.js", "index.tsx", "index.jsx", "index.mjs")
IMPORT_MAPS = ("deno.json", "deno.jsonc", "import_map.json")
_IMPORT = re.compile(r"""(?:import|export)\s+(?:[\w*{}\s,]+?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)""")
_SKIP = frozenset({"node_modules", ".git", ".DS_Store"})


class SupabaseProvider(Provider, EnvStore, Secrets, Functions):
    name = "supabase"
    hash_algorithms = ("sha256",)
    credential_envs = ("SUPABASE_ACCESS_TOKEN",)

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._client: ApiClient | None = None

    # -- plumbing -----------------------------------------------------------
    @property
    def client(self) -> ApiClient:
        if self._client is None:
            token = self.ctx.environ.get(TOKEN_ENV, "").strip()
            if not token:
                raise AuthError(
                    f"No Supabase access token: {TOKEN_ENV} is not set.",
                    hint=f"Create a token at https://supabase.com/dashboard/account/tokens and export {TOKEN_ENV}=sbp_...",
                )
            self._client = ApiClient(
                self.ctx.environ.get(API_URL_ENV) or DEFAULT_API_URL, label="Supabase Management", token=token,
                token_env=TOKEN_ENV, transport=self.ctx.transport, sleep=self.ctx.sleep,
                link_hint="Check supabase_project_ref in moai.toml: the project may be deleted or paused.",
            )
        return self._client

    def project_ref(self, environment: str | None = None) -> str:
        """The project ref for ``environment``, validated (20 lowercase letters)."""
        ref, source = None, ""
        toml = self.ctx.root / CONFIG_FILE
        if environment and toml.is_file():
            env = load_config(toml).environments.get(environment)
            if env is not None and env.supabase_project_ref:
                ref, source = env.supabase_project_ref, f"{toml} [environments.{environment}] supabase_project_ref"
        if ref is None and self.ctx.settings.get("project_ref"):
            ref, source = str(self.ctx.settings["project_ref"]), f"{toml} [platforms.supabase] project_ref"
        linked = self.ctx.root / "supabase" / ".temp" / "project-ref"
        if ref is None and linked.is_file():
            ref, source = linked.read_text(encoding="utf-8").strip(), str(linked)
        if ref is None:
            where = f"[environments.{environment}]" if environment else "[platforms.supabase]"
            raise ConfigError(
                f"No Supabase project ref for environment '{environment or '-'}'.",
                hint=f'Add `supabase_project_ref = "<ref>"` under {where} in {toml} (the ref is the '
                     "<ref> in https://<ref>.supabase.co).",
            )
        if not REF_RE.match(ref):
            raise ConfigError(
                f"Supabase project ref '{ref}' (from {source}) is not 20 lowercase letters.",
                hint="Copy the ref from your project's URL https://<ref>.supabase.co or its dashboard settings.",
            )
        return ref

    # -- secrets ----------------------------------------------------------------
    @staticmethod
    def check_secret(key: str, value: str | None = None) -> None:
        if not key or len(key) > SECRET_NAME_MAX or re.search(r"[\s=]", key):
            raise UsageError(f"'{key}' is not a usable secret name.",
                             hint=f"Use letters, digits and '_' (at most {SECRET_NAME_MAX} characters), e.g. STRIPE_KEY.")
        if key.startswith(RESERVED_PREFIX):
            raise UsageError(f"Secret names starting with {RESERVED_PREFIX} are reserved by Supabase ('{key}').",
                             hint=f"Rename it, e.g. MY_{key[len(RESERVED_PREFIX):]}; Supabase sets the {RESERVED_PREFIX}* values itself.")
        if value is not None and len(value) > SECRET_VALUE_MAX:
            raise UsageError(f"The value of {key} is {len(value):,} characters; Supabase accepts at most {SECRET_VALUE_MAX:,}.",
                             hint="Store large values elsewhere (Supabase Storage or Vault) and keep a reference in the secret.")

    def check_env_value(self, environment: str, key: str, value: str, *, secret: bool = False) -> None:
        self.check_secret(key, value)

    def env_list(self, environment: str) -> list[EnvVar]:
        ref = self.project_ref(environment)
        rows = self.client.json("GET", f"/v1/projects/{ref}/secrets") or []
        return sorted((EnvVar(key=r["name"], value=None, environments=[environment], secret=True) for r in rows),
                      key=lambda v: v.key)

    def set_secrets(self, environment: str, values: Mapping[str, str]) -> list[EnvVar]:
        """Create or overwrite several secrets in one request (all names checked first)."""
        for key, value in values.items():
            self.check_secret(key, value)
        ref = self.project_ref(environment)
        self.client.request("POST", f"/v1/projects/{ref}/secrets",
                            json=[{"name": k, "value": v} for k, v in values.items()])
        return [EnvVar(key=k, value=None, environments=[environment], secret=True) for k in values]

    def env_set(self, environment: str, key: str, value: str, *, secret: bool = False) -> EnvVar:
        return self.set_secrets(environment, {key: value})[0]

    def env_unset(self, environment: str, key: str) -> None:
        ref = self.project_ref(environment)
        names = {v.key for v in self.env_list(environment)}
        if key not in names:
            raise NotFoundError(f"Supabase project {ref} has no secret named {key}.",
                                hint=f"List them with `moai-adk env list --env {environment} --platform supabase`.")
        self.client.request("DELETE", f"/v1/projects/{ref}/secrets", json=[key])

    # -- edge functions -----------------------------------------------------------
    @property
    def functions_dir(self) -> Path:
        return self.ctx.root / "supabase" / "functions"

    def functions_config(self) -> dict[str, dict[str, Any]]:
        """``[functions.<name>]`` tables of supabase/config.toml (empty when absent)."""
        path = self.ctx.root / "supabase" / "config.toml"
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
        return {str(k): dict(v) for k, v in functions.items()}

    def local_functions(self) -> list[str]:
        """Function folders under supabase/functions (names that are valid slugs; ``_shared`` is not one)."""
        folder = self.functions_dir
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and SLUG_RE.match(p.name))

    def _rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.ctx.root.resolve()).as_posix()

    def _entrypoint(self, name: str, cfg: dict[str, Any]) -> Path:
        folder = self.functions_dir / name
        if cfg.get("entrypoint"):
            entry = (self.ctx.root / "supabase" / str(cfg["entrypoint"])).resolve()
            if not entry.is_file():
                raise ConfigError(f"supabase/config.toml [functions.{name}] entrypoint {cfg['entrypoint']} does not exist.",
                                  hint=f"Point it at a file relative to supabase/, e.g. ./functions/{name}/index.ts.")
            return entry
        for candidate in ENTRYPOINTS:
            if (folder / candidate).is_file():
                return folder / candidate
        raise UsageError(f"No edge function '{name}': {folder}/index.ts does not exist.",
                         hint=f"Create it with `supabase functions new {name}`, or pick one of: "
                              f"{', '.join(self.local_functions()) or '(none found)'}.")

    def function_files(self, name: str, entry: Path, extra: list[Path]) -> tuple[list[Path], list[str]]:
        """The function's folder plus every relative import reachable from it (inside the project)."""
        root = self.ctx.root.resolve()
        files: dict[Path, None] = {}
        for path in sorted((self.functions_dir / name).rglob("*")):
            if path.is_file() and not any(p in _SKIP or p.startswith(".") for p in path.relative_to(self.functions_dir).parts):
                files[path.resolve()] = None
        files.update({p.resolve(): None for p in extra})
        warnings: list[str] = []
        queue = [p for p in files if p.suffix in (".ts", ".tsx", ".js", ".jsx", ".mjs")]
        seen: set[Path] = set()
        while queue:
            current = queue.pop()
            if current in seen:
                continue
            seen.add(current)
            try:
                text = current.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for m in _IMPORT.finditer(text):
                spec = (m.group(1) or m.group(2) or "").strip()
                if not spec.startswith(("./", "../")) or not Path(spec).suffix:
                    continue
                target = (current.parent / spec).resolve()
                if target != root and root not in target.parents:
                    raise ConfigError(f"{current} imports {spec}, which is outside the project folder {root}.",
                                      hint="Move the shared code under supabase/functions/_shared/.")
                if not target.is_file():
                    warnings.append(f"{self._rel(current)} imports {spec}, which does not exist")
                    continue
                if target not in files:
                    files[target] = None
                    queue.append(target)
        return list(files), warnings

    def deploy_functions(self, names: list[str] | None = None, environment: str = "production", *,
                         dry_run: bool = False) -> list[dict[str, Any]]:
        """Deploy edge functions (all local ones when ``names`` is None); one result per function.

        ``dry_run`` checks everything that needs no request and returns the plan (files, metadata)."""
        config = self.functions_config()
        wanted = list(names) if names else self.local_functions()
        if not wanted:
            raise UsageError(f"There are no edge functions under {self.functions_dir}.",
                             hint="Create one with `supabase functions new <name>`.")
        for name in wanted:
            if not SLUG_RE.match(name):
                raise UsageError(f"'{name}' is not a valid function name.",
                                 hint="Use letters, digits, '-' and '_', starting with a letter.")
        plans: list[tuple[str, dict[str, Any], Path | None, list[Path], list[str]]] = []
        for name in wanted:
            cfg = config.get(name, {})
            if cfg.get("enabled") is False:
                plans.append((name, cfg, None, [], []))
                continue
            entry = self._entrypoint(name, cfg)
            import_map = self._import_map(name, cfg)
            files, warnings = self.function_files(name, entry, [entry] + ([import_map] if import_map else []))
            plans.append((name, cfg, entry, files, warnings))
        ref = self.project_ref(environment)
        results = []
        for name, cfg, entry_path, files, warnings in plans:
            if entry_path is None:
                results.append({"slug": name, "skipped": True, "reason": "enabled = false in supabase/config.toml"})
                continue
            meta: dict[str, Any] = {"entrypoint_path": self._rel(entry_path), "name": name,
                                    "verify_jwt": bool(cfg.get("verify_jwt", True))}
            import_map = self._import_map(name, cfg)
            if import_map:
                meta["import_map_path"] = self._rel(import_map)
            if cfg.get("static_files"):
                meta["static_patterns"] = [str(p) for p in cfg["static_files"]]
            parts = [("file", (self._rel(f), f.read_bytes(), "application/octet-stream")) for f in files]
            if dry_run:
                results.append({"slug": name, "planned": True, "metadata": meta, "files": len(files),
                                "paths": [p[1][0] for p in parts], "bytes": sum(len(p[1][1]) for p in parts),
                                "warnings": warnings})
                continue
            answer = self.client.json("POST", f"/v1/projects/{ref}/functions/deploy", params={"slug": name},
                                      data={"metadata": json.dumps(meta)}, files=parts)
            results.append({"slug": answer.get("slug", name), "id": answer.get("id"), "version": answer.get("version"),
                            "status": answer.get("status"), "verify_jwt": meta["verify_jwt"], "files": len(files),
                            "bytes": sum(len(p[1][1]) for p in parts), "warnings": warnings})
        return results

    def _import_map(self, name: str, cfg: dict[str, Any]) -> Path | None:
        if cfg.get("import_map"):
            path = (self.ctx.root / "supabase" / str(cfg["import_map"])).resolve()
            if not path.is_file():
                raise ConfigError(f"supabase/config.toml [functions.{name}] import_map {cfg['import_map']} does not exist.",
                                  hint="Point it at a file relative to supabase/.")
            return path
        for candidate in IMPORT_MAPS:
            if (self.functions_dir / name / candidate).is_file():
                return self.functions_dir / name / candidate
        return None

    def list_functions(self, environment: str = "production") -> list[dict[str, Any]]:
        ref = self.project_ref(environment)
        rows = self.client.json("GET", f"/v1/projects/{ref}/functions") or []
        keys = ("slug", "name", "status", "version", "verify_jwt", "entrypoint_path", "updated_at")
        return [{k: r.get(k) for k in keys} for r in rows]

    def delete_function(self, slug: str, environment: str = "production") -> None:
        if not SLUG_RE.match(slug):
            raise UsageError(f"'{slug}' is not a valid function name.", hint="Run `moai-adk functions list` to see them.")
        ref = self.project_ref(environment)
        self.client.request("DELETE", f"/v1/projects/{ref}/functions/{slug}")
