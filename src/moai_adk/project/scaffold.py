"""The ``init`` service: detect -> (the CLI may prompt) -> plan every file -> apply all or nothing.

    prepared = prepare(root, example=None, force=False)        # detects and reads; writes nothing
    result = plan_init(prepared, settings, ["vercel"], overrides=set(), force=False)
    apply_init(result)                                          # skipped for --dry-run

Nothing here prints or prompts; the CLI renders ``InitResult.as_dict()``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import CONFIG_FILE, KNOWN_PLATFORMS, NAME_RE, Config, schema_bytes
from ..errors import ConfigError, UsageError
from . import examples, moaitoml
from .detect import VERCEL_FRAMEWORKS, Detection, detect
from .files import decode_text, parse_toml, plain
from .gitignore import plan_gitignore
from .moaitoml import ProjectSettings
from .plan import FileChange, apply_plan, change_for, check_writable, read_bytes
from .platforms import INIT_PLATFORMS, hosts_sites, plan_platform_files


def check_platforms(names: list[str]) -> list[str]:
    """Validate ``--baas`` values (duplicates dropped, order kept); ``UsageError`` otherwise."""
    supported = ", ".join(INIT_PLATFORMS)
    result: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if name not in KNOWN_PLATFORMS:
            raise UsageError(
                f"Unknown platform '{raw}' (--baas). Known platforms: {', '.join(KNOWN_PLATFORMS)}; "
                f"`init` can scaffold: {supported}.",
                hint=f"Use one of: {supported}, e.g. `moai-adk init --baas vercel`.",
            )
        if name not in INIT_PLATFORMS:
            raise UsageError(
                f"'{name}' (--baas) is a known platform, but `moai-adk init` cannot scaffold it yet. "
                f"`init` supports: {supported}.",
                hint=f"Pick one of: {supported}; add [platforms.{name}] to {CONFIG_FILE} by hand for now.",
            )
        if name not in result:
            result.append(name)
    return result


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UsageError(
            f"'{name}' (--name) is not a valid project name: use lowercase letters, digits and '-', "
            "starting with a letter or digit, at most 63 characters.",
            hint=f"Try `--name {slugify(name)}`.",
        )
    return name


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.split("/")[-1].lower()).strip("-")[:63].strip("-")
    return slug or "site"


@dataclass
class Prepared:
    """What init found on disk before asking anything."""

    root: Path
    detection: Detection
    defaults: ProjectSettings
    existing_text: str | None  # moai.toml as it is (None: absent, or ignored because of --force)
    existing_platforms: list[str]
    example: str | None = None


def _package_name(root: Path) -> str | None:
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


def prepare(root: Path, *, example: str | None = None, force: bool = False, dry_run: bool = False) -> Prepared:
    """Detect the framework and read any existing moai.toml (malformed: ``ConfigError`` unless ``force``).

    Unless ``dry_run``, first makes sure ``root`` exists and can be written.
    """
    root = root.resolve()
    if not dry_run:
        check_writable(root)
    if example is not None:
        detection = detect(examples.detection_root(example))
    else:
        detection = detect(root)
    name = slugify(_package_name(root) or root.name)
    defaults = ProjectSettings(name, detection.framework, detection.build_command, detection.output)
    old = read_bytes(root / CONFIG_FILE)
    existing_text: str | None = None
    platforms: list[str] = []
    if old is not None:
        try:
            text = decode_text(CONFIG_FILE, old)
            doc = parse_toml(CONFIG_FILE, text)
        except ConfigError:
            if not force:
                raise
            doc = None
        if doc is not None:
            platforms = moaitoml.existing_platforms(text, root / CONFIG_FILE)
        if doc is not None and not force:  # --force starts over from what detection finds
            existing_text = text
            project = plain(doc.get("project", {}))
            build = plain(doc.get("build", {}))
            project = project if isinstance(project, dict) else {}
            build = build if isinstance(build, dict) else {}
            defaults = ProjectSettings(
                str(project.get("name") or name),
                str(project["framework"]) if project.get("framework") else detection.framework,
                str(build["command"]) if "command" in build else detection.build_command,
                str(build.get("output", detection.output)),
            )
    return Prepared(root, detection, defaults, existing_text, platforms, example)


@dataclass
class InitResult:
    root: Path
    dry_run: bool
    detection: Detection
    config: Config
    changes: list[FileChange]
    notes: list[str] = field(default_factory=list)
    links: list[dict[str, Any]] | None = None  # filled by --link

    def as_dict(self) -> dict[str, Any]:
        d = self.detection
        return {
            "project_dir": str(self.root),
            "dry_run": self.dry_run,
            "detected": {"framework": d.framework, "evidence": d.evidence,
                         "build_command": d.build_command, "output": d.output},
            "project": {"name": self.config.name, "framework": self.config.framework},
            "build": {"command": self.config.build_command, "output": self.config.output},
            "platform": self.config.platform,
            "platforms": list(self.config.platforms),
            "backends": [name for name in self.config.platforms if not hosts_sites(name)],
            "files": [c.as_dict(with_content=self.dry_run) for c in self.changes],
            "notes": list(self.notes),
            **({"links": self.links} if self.links is not None else {}),
        }


def resolve_platforms(prepared: Prepared, requested: list[str]) -> list[str]:
    """Merging: the platforms moai.toml names plus new ``--baas`` ones; fresh: ``--baas`` (default local).
    ``moaitoml.fresh_document`` then puts a platform that hosts sites first (local when none does)."""
    existing = list(prepared.existing_platforms)
    if prepared.existing_text is not None:
        names = existing + [r for r in requested if r not in existing]
    else:
        names = requested or existing
    return names or ["local"]


def plan_init(prepared: Prepared, settings: ProjectSettings, requested: list[str], *,
              overrides: set[str] | None = None, force: bool = False, dry_run: bool = False) -> InitResult:
    """Every file init would write, with its action; writes nothing."""
    root = prepared.root
    if not dry_run:
        check_writable(root)
    notes = list(prepared.detection.notes)
    changes: list[FileChange] = []
    if prepared.example:
        changes += examples.plan_example(root, prepared.example, force=force)

    platforms = resolve_platforms(prepared, requested)
    if prepared.existing_text is None:
        text = moaitoml.render(moaitoml.fresh_document(settings, platforms))
    else:
        doc, merge_notes = moaitoml.merge_document(prepared.existing_text, settings, platforms, overrides or set())
        text = moaitoml.render(doc)
        notes += merge_notes
    config = moaitoml.validated(text, root / CONFIG_FILE, prepared.existing_text)
    old = read_bytes(root / CONFIG_FILE)
    changes.append(change_for(root, CONFIG_FILE, text.encode("utf-8"), old, force=force))
    if moaitoml.references_schema(text):
        copy = moaitoml.SCHEMA_COPY
        changes.append(change_for(root, copy, schema_bytes(), read_bytes(root / copy), force=force))
    notes += _default_notes(prepared, requested, config)

    platform_changes, platform_notes = plan_platform_files(
        root, config, VERCEL_FRAMEWORKS.get(config.framework or ""), force=force)
    changes += platform_changes
    notes += platform_notes
    for name in config.platforms:
        if name not in INIT_PLATFORMS:
            notes.append(f"{CONFIG_FILE} names '{name}', for which `init` writes no files yet.")
    changes.append(plan_gitignore(root, config.platforms))
    return InitResult(root, dry_run, prepared.detection, config, changes, notes)


def _default_notes(prepared: Prepared, requested: list[str], config: Config) -> list[str]:
    """What to say about ``deploy.platform`` when the user's moai.toml keeps its own."""
    if prepared.existing_text is None:
        return []
    if not hosts_sites(config.platform):
        hosting = [name for name in config.platforms if hosts_sites(name)] or ["local"]
        return [f"{CONFIG_FILE} has deploy.platform = '{config.platform}', which hosts no sites, so "
                f"`moai-adk deploy` refuses it; set [deploy] platform to {' or '.join(repr(n) for n in hosting)}."]
    wanted = next((name for name in requested if hosts_sites(name)), None)
    if wanted is not None and wanted != config.platform:
        return [f"{CONFIG_FILE} keeps deploy.platform = '{config.platform}'; edit [deploy] platform "
                f"to make '{wanted}' the default."]
    return []


def apply_init(result: InitResult) -> None:
    """Write the plan (all or nothing). Does nothing for a dry run."""
    if result.dry_run:
        return
    check_writable(result.root)
    apply_plan(result.root, result.changes)


def run_init(root: Path, requested: list[str], *, name: str | None = None, example: str | None = None,
             force: bool = False, dry_run: bool = False) -> InitResult:
    """Non-interactive init in one call (what ``moai-adk init --yes`` does)."""
    requested = check_platforms(requested)
    prepared = prepare(root, example=example, force=force, dry_run=dry_run)
    settings = prepared.defaults
    overrides: set[str] = set()
    if name is not None:
        settings = ProjectSettings(check_name(name), settings.framework, settings.build_command, settings.output)
        overrides.add("project.name")
    result = plan_init(prepared, settings, requested, overrides=overrides, force=force, dry_run=dry_run)
    apply_init(result)
    return result
