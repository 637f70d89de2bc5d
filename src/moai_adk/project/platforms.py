"""Each platform's own config files, derived from the final ``moai.toml``.

    platform   files
    local      (none: moai.toml is enough)
    vercel     vercel.json
    netlify    netlify.toml
    firebase   firebase.json, .firebaserc
    supabase   supabase/config.toml, supabase/migrations/

Existing files are merged (only missing keys added) unless ``force``.

``deploy.platform`` is always one that hosts sites (its provider has the ``Hosting``
capability): Supabase is a backend, so ``--baas supabase`` alone keeps ``local`` as the
deploy default and lists Supabase beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.toml_document import TOMLDocument

from ..config import Config
from ..errors import UsageError
from ..providers import get_provider_class
from ..providers.capabilities import Hosting
from .files import json_change, toml_change
from .plan import FileChange

VERCEL_SCHEMA = "https://openapi.vercel.sh/vercel.json"
INIT_PLATFORMS = ("local", "vercel", "netlify", "firebase", "supabase")
# Netlify deploy context -> moai environment it stands for.
NETLIFY_CONTEXTS = {"production": "production", "deploy-preview": "preview", "branch-deploy": "staging"}
FIREBASE_IGNORE = ["firebase.json", "**/.*", "**/node_modules/**"]
# Config files that sit in the project root and must not be published when the output is ".".
ROOT_CONFIG_FILES = ["moai.toml", "vercel.json", "netlify.toml", "supabase/**"]

# The page documenting each platform's settings (paths in the moai-adk repository).
DOC_PAGES = {"local": "docs/platform.md", "vercel": "docs/providers/vercel.md",
             "netlify": "docs/providers/netlify.md", "firebase": "docs/providers/firebase.md",
             "supabase": "docs/providers/supabase.md"}
CONFIG_DOC = "docs/config.md"

Planned = tuple[list[FileChange], list[str]]


def doc_page(name: str) -> str:
    """The docs page for platform ``name`` (the moai.toml reference when it has none of its own)."""
    return DOC_PAGES.get(name, CONFIG_DOC)


def hosts_sites(name: str) -> bool:
    """Whether ``name``'s provider hosts sites (has ``Hosting``); False for unknown platforms."""
    try:
        return issubclass(get_provider_class(name), Hosting)
    except UsageError:
        return False


def with_hosting_default(names: list[str]) -> list[str]:
    """``names`` with the deploy default first: the first that hosts sites, else ``local`` (added)."""
    default = next((name for name in names if hosts_sites(name)), "local")
    return [default] + [name for name in names if name != default]


def vercel_json(cfg: Config, vercel_framework: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"$schema": VERCEL_SCHEMA}
    if cfg.build_command:
        data["buildCommand"] = cfg.build_command
    data["outputDirectory"] = cfg.output
    if vercel_framework:
        data["framework"] = vercel_framework
    data["cleanUrls"] = True
    data["trailingSlash"] = False
    return data


def netlify_toml(cfg: Config) -> TOMLDocument:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Netlify configuration written by `moai-adk init`; your edits are kept on re-runs."))
    doc.add(tomlkit.nl())
    build = tomlkit.table()
    if cfg.build_command:
        build.add("command", cfg.build_command)
    build.add("publish", cfg.output)
    doc.add("build", build)
    contexts = tomlkit.table(is_super_table=True)
    for context, environment in NETLIFY_CONTEXTS.items():
        table = tomlkit.table(is_super_table=True)
        env = tomlkit.table()
        env.add("MOAI_ENVIRONMENT", environment)
        env.add(tomlkit.nl())  # keeps a blank line before whatever follows when merged into a user's file
        table.add("environment", env)
        contexts.add(context, table)
    doc.add("context", contexts)
    return doc


def firebase_json(cfg: Config) -> dict[str, Any]:
    ignore = list(FIREBASE_IGNORE)
    if cfg.output in (".", ""):
        ignore += ROOT_CONFIG_FILES
    return {"hosting": {"public": cfg.output, "ignore": ignore, "cleanUrls": True, "trailingSlash": False}}


def firebase_project_id(cfg: Config) -> str:
    project = cfg.settings_for("firebase").get("project")
    return project if isinstance(project, str) and project else cfg.name


def firebaserc(cfg: Config) -> dict[str, Any]:
    return {"projects": {"default": firebase_project_id(cfg)}}


def supabase_config(cfg: Config) -> TOMLDocument:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Supabase CLI configuration written by `moai-adk init`; your edits are kept on re-runs."))
    doc.add(tomlkit.comment("project_id names the local stack; the linked project ref lives in moai.toml"))
    doc.add(tomlkit.comment("([environments.<name>] supabase_project_ref)."))
    doc.add("project_id", cfg.name)
    api = tomlkit.table()
    api.add("enabled", True)
    api.add("port", 54321)
    api.add("schemas", ["public", "graphql_public"])
    api.add("extra_search_path", ["public", "extensions"])
    api.add("max_rows", 1000)
    doc.add("api", api)
    db = tomlkit.table()
    db.add("port", 54322)
    db.add("shadow_port", 54320)
    db.add("major_version", 17)
    migrations = tomlkit.table()
    migrations.add("enabled", True)
    migrations.add("schema_paths", tomlkit.array())
    db.add("migrations", migrations)
    seed = tomlkit.table()
    seed.add("enabled", True)
    seed.add("sql_paths", ["./seed.sql"])
    db.add("seed", seed)
    doc.add("db", db)
    return doc


def _vercel(root: Path, cfg: Config, framework: str | None, force: bool) -> Planned:
    change, notes = json_change(root, "vercel.json", vercel_json(cfg, framework), force=force)
    return [change], notes


def _netlify(root: Path, cfg: Config, _framework: str | None, force: bool) -> Planned:
    change, notes = toml_change(root, "netlify.toml", netlify_toml(cfg), force=force)
    return [change], notes


def _firebase(root: Path, cfg: Config, _framework: str | None, force: bool) -> Planned:
    hosting, notes = json_change(root, "firebase.json", firebase_json(cfg), force=force)
    rc, rc_notes = json_change(root, ".firebaserc", firebaserc(cfg), force=force)
    if rc.action == "created":
        rc.note = (f"Firebase project id '{firebase_project_id(cfg)}'; edit projects.default "
                   "if your Firebase project id differs")
    return [hosting, rc], notes + rc_notes


def _supabase(root: Path, cfg: Config, _framework: str | None, force: bool) -> Planned:
    config, notes = toml_change(root, "supabase/config.toml", supabase_config(cfg), force=force)
    folder = root / "supabase" / "migrations"
    migrations = FileChange("supabase/migrations", "kept" if folder.is_dir() else "created", is_dir=True)
    return [config, migrations], notes


def _local(_root: Path, _cfg: Config, _framework: str | None, _force: bool) -> Planned:
    return [], []


BUILDERS: dict[str, Callable[[Path, Config, str | None, bool], Planned]] = {
    "local": _local, "vercel": _vercel, "netlify": _netlify, "firebase": _firebase, "supabase": _supabase,
}


def plan_platform_files(root: Path, cfg: Config, vercel_framework: str | None, *, force: bool) -> Planned:
    """The files every platform of ``cfg.platforms`` needs, in a stable order."""
    changes: list[FileChange] = []
    notes: list[str] = []
    for name in cfg.platforms:
        builder = BUILDERS.get(name)
        if builder is None:
            continue
        more, more_notes = builder(root, cfg, vercel_framework, force)
        changes += more
        notes += more_notes
    return changes, notes
