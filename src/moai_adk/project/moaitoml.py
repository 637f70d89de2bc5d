"""``moai.toml`` as ``init`` writes it: a fresh document, or a merge into the user's file.

Merging keeps every comment and value the user wrote (tomlkit round trip) and only adds
what is missing: absent tables and keys, new platforms appended to ``deploy.platforms``
and their ``[platforms.<name>]`` tables. ``[environments]`` is added only when the file has
none at all, so renamed or removed environments stay that way. Values passed in
``overrides`` (``--name``, answers typed at the prompts) replace the user's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Comment, Table, Trivia
from tomlkit.toml_document import TOMLDocument

from ..config import CONFIG_FILE, Config, parse_config
from ..errors import ConfigError
from .files import merge_missing, parse_toml, plain
from .platforms import doc_page, with_hosting_default

HEADER = ("moai-adk project configuration. Re-running `moai-adk init` keeps your edits and comments;",
          "it only adds what is missing. Reference: docs/init.md")


DETECTED_KEYS = ("project.framework", "build.command", "build.output")

# Taplo / Even Better TOML read this first-line directive; the path is relative to moai.toml and
# init keeps a copy of the packaged schema there, so editors validate offline (docs/config.md).
SCHEMA_COPY = ".moai/moai.schema.json"
SCHEMA_DIRECTIVE = f"#:schema ./{SCHEMA_COPY}"


def references_schema(text: str) -> bool:
    """Whether moai.toml's header points editors at ``SCHEMA_COPY``."""
    return SCHEMA_DIRECTIVE in (line.strip() for line in text.splitlines())


@dataclass(frozen=True)
class ProjectSettings:
    """What ``init`` wants in moai.toml (detected, then possibly edited at the prompts)."""

    name: str
    framework: str | None
    build_command: str | None
    output: str


def _environments(platforms: list[str]) -> Table:
    envs = tomlkit.table(is_super_table=True)
    data = {
        "development": {"platform": "local"},
        "preview": {},
        "staging": {"branch": "staging"},
        "production": {"branch": "main"},
    }
    for name, values in data.items():
        table = tomlkit.table()
        for key, value in values.items():
            table.add(key, value)
        if "supabase" in platforms:
            table.add("db_url_env", f"{name.upper()}_DB_URL")
        envs.add(name, table)
    return envs


def _platform_table(name: str) -> Table:
    table = tomlkit.table()
    table.add(tomlkit.comment(f"settings read by the {name} provider (see {doc_page(name)})"))
    return table


def fresh_document(settings: ProjectSettings, platforms: list[str]) -> TOMLDocument:
    """A new moai.toml; ``deploy.platform`` is the first of ``platforms`` that hosts sites, else local."""
    platforms = with_hosting_default(platforms)
    doc = tomlkit.document()
    doc.add(Comment(Trivia(comment_ws="", comment=SCHEMA_DIRECTIVE, trail="\n")))
    for line in HEADER:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())

    project = tomlkit.table()
    project.add("name", settings.name)
    if settings.framework:
        project.add("framework", settings.framework)
        project["framework"].comment("detected by `moai-adk init` (informational)")
    doc.add("project", project)

    build = tomlkit.table()
    build.add("command", settings.build_command or "")
    if not settings.build_command:
        build["command"].comment("empty: nothing to build")
    build.add("output", settings.output)
    build["output"].comment("the folder that is deployed, relative to this file")
    doc.add("build", build)

    deploy = tomlkit.table()
    deploy.add("platform", platforms[0])
    deploy["platform"].comment("default for `moai-adk deploy`")
    deploy.add("platforms", list(platforms))
    deploy.add("health_check", "/")
    deploy["health_check"].comment("fetched on each new deployment before it is promoted")
    doc.add("deploy", deploy)

    doc.add("environments", _environments(platforms))

    plats = tomlkit.table(is_super_table=True)
    for name in platforms:
        plats.add(name, _platform_table(name))
    doc.add("platforms", plats)
    return doc


def _existing_platforms(doc: TOMLDocument) -> list[str]:
    deploy = doc.get("deploy")
    if not isinstance(deploy, dict):
        return []
    listed = plain(deploy.get("platforms"))
    names = [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else []
    default = plain(deploy.get("platform"))
    if isinstance(default, str) and default not in names:
        names.insert(0, default)
    return names


def existing_platforms(text: str, path: Path) -> list[str]:
    """The platforms an existing moai.toml names (for re-runs without ``--baas``)."""
    return _existing_platforms(parse_toml(path.name, text))


def merge_document(text: str, settings: ProjectSettings, platforms: list[str],
                   overrides: set[str]) -> tuple[TOMLDocument, list[str]]:
    """Merge what init wants into the user's moai.toml; returns the document and notes."""
    doc = parse_toml(CONFIG_FILE, text)
    wanted_platforms = _existing_platforms(doc) or []
    for name in platforms:
        if name not in wanted_platforms:
            wanted_platforms.append(name)
    deploy = doc.get("deploy")
    if not (isinstance(deploy, dict) and "platform" in deploy):  # no default yet: one that hosts sites
        default = with_hosting_default(wanted_platforms)[0]
        if default not in wanted_platforms:
            wanted_platforms.insert(0, default)
    fresh = fresh_document(settings, wanted_platforms)
    notes: list[str] = []

    if isinstance(deploy, dict) and "platforms" in deploy and list(deploy["platforms"]) != wanted_platforms:
        deploy["platforms"] = wanted_platforms
    if "environments" in doc:
        fresh.remove("environments")
    differences = merge_missing(doc, fresh)
    for dotted in sorted(overrides):
        table, key = dotted.split(".")
        section: Any = doc.setdefault(table, tomlkit.table())
        section[key] = fresh[table][key]
        differences = [d for d in differences if not d.startswith(dotted + ":")]
    # Only differences from what detection found are worth a note (the rest are the user's choices).
    notes += [f"{CONFIG_FILE} {d}" for d in differences if d.split(":")[0] in DETECTED_KEYS]
    return doc, notes


def render(doc: TOMLDocument) -> str:
    return tomlkit.dumps(doc)


def validated(text: str, path: Path, original: str | None) -> Config:
    """Load what init is about to write with the real loader; blame the user's file when it is at fault."""
    try:
        return parse_config(text, path)
    except ConfigError:
        if original is not None:
            parse_config(original, path)  # raises with the line numbers of the file on disk
        raise
