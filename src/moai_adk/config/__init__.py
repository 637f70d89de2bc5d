"""``moai.toml``: the project's one configuration file, read into a ``Config``.

The file's shape is the typed model in ``config/model.py`` (pydantic); the JSON Schema generated
from it ships as ``moai_adk/schemas/moai.schema.json`` for editors (``python -m moai_adk.config
--schema`` prints it). Reference: docs/config.md.

    cfg = load_config(find_config(Path.cwd()))   # ConfigError naming file, key and line

Importing this module stays cheap (no pydantic): the model is imported by the first
``parse_config``/``validate`` call, so ``moai-adk --help`` never pays for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

CONFIG_FILE = "moai.toml"
DEFAULT_ENVIRONMENTS = ("development", "preview", "staging", "production")
KNOWN_PLATFORMS = (
    "local", "vercel", "netlify", "firebase", "supabase", "cloudflare", "amplify", "azure",
)
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
NAME_RE = re.compile(NAME_PATTERN)
SCHEMA_RESOURCE = "schemas/moai.schema.json"  # inside the moai_adk package


@dataclass
class Environment:
    name: str
    platform: str | None = None
    branch: str | None = None
    url: str | None = None
    db_url_env: str | None = None
    supabase_project_ref: str | None = None
    health_check: str | None = None
    target: str | None = None  # the platform's own name for it (alias, target, context, channel)
    requires: str | None = None  # promotion here needs the artifact healthy in this environment first


@dataclass(frozen=True)
class RequiredVar:
    """One ``[env.required]`` entry: ``name`` must be set (and match ``pattern``) in ``environments``."""

    name: str
    environments: tuple[str, ...] | None = None  # None: every environment
    pattern: str | None = None
    description: str | None = None

    def applies_to(self, environment: str) -> bool:
        return self.environments is None or environment in self.environments


@dataclass(frozen=True)
class BackupSettings:
    """``[db.backups]``: where backups go and how long they are kept (docs/backups.md)."""

    location: str = ".moai/backups"
    endpoint_url: str | None = None
    region: str | None = None
    encrypt: bool = False
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 12
    schedule: str | None = None  # cron, UTC (config/cron.py); run by `platform serve --backups-for`
    schedule_environments: tuple[str, ...] = ("production",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule_environments", tuple(self.schedule_environments))


@dataclass
class Config:
    """A validated ``moai.toml``. ``root`` is the folder holding it."""

    root: Path
    name: str
    framework: str | None = None
    build_command: str | None = None
    output: str = "."
    platform: str = "local"
    platforms: list[str] = field(default_factory=lambda: ["local"])
    health_check: str = "/"
    health_timeout: float = 30.0
    exclude: list[str] = field(default_factory=list)  # [deploy] exclude globs (artifacts.exclude syntax)
    environments: dict[str, Environment] = field(default_factory=dict)
    platform_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    required_env: list[RequiredVar] = field(default_factory=list)  # [env.required]
    backend: dict[str, Any] = field(default_factory=dict)  # [backend.<name>] tables, validated (backend/)
    db_privacy: dict[str, Any] | None = None  # [db.privacy] as validated (db/forget.py reads it)
    path: Path | None = None
    backups: BackupSettings = field(default_factory=BackupSettings)  # [db.backups]

    @property
    def output_dir(self) -> Path:
        return (self.root / self.output).resolve()

    def environment(self, name: str) -> Environment:
        env = self.environments.get(name)
        if env is None:
            if name in DEFAULT_ENVIRONMENTS:
                return Environment(name=name)
            known = ", ".join(sorted(set(self.environments) | set(DEFAULT_ENVIRONMENTS)))
            raise ConfigError(
                f"Unknown environment '{name}' (--env). Known environments: {known}.",
                hint=f"Add a [environments.{name}] table to {self.path or CONFIG_FILE}, or pass one of: {known}.",
            )
        return env

    def platform_for(self, environment: str | None) -> str:
        if environment:
            env = self.environment(environment)
            if env.platform:
                return env.platform
        return self.platform

    def settings_for(self, platform: str) -> dict[str, Any]:
        return dict(self.platform_settings.get(platform, {}))


def schema_path() -> Path:
    """The JSON Schema of ``moai.toml`` shipped in the package."""
    return Path(__file__).resolve().parent.parent / SCHEMA_RESOURCE


def schema_bytes() -> bytes:
    """The shipped schema's bytes (regenerated from the model if an install lost the file)."""
    try:
        return schema_path().read_bytes()
    except FileNotFoundError:
        from .model import schema_text

        return schema_text().encode("utf-8")


def find_config(start: Path) -> Path | None:
    """Find ``moai.toml`` in ``start`` or its parents."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path) -> Config:
    """Read and validate ``path``; every problem is a ``ConfigError`` naming key and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"No {CONFIG_FILE} at {path}.", hint="Run `moai-adk init` in your project folder first."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}.", hint="Check the file's permissions and encoding (UTF-8).") from exc
    key = _cache_key(text)
    cached = _read_cache(path, key)
    if cached is not None:
        return cached
    cfg = parse_config(text, path)
    _write_cache(path, key, cfg)
    return cfg


# A validated moai.toml is remembered in .moai/cache/config.json (only where a deploy already made
# .moai/cache), keyed by the file's SHA-256 and the validating code, so the next command skips
# importing pydantic and building the model (~0.1 s of every deploy). Any doubt means validating again.
CACHE_NAME = Path(".moai") / "cache" / "config.json"


def _cache_key(text: str) -> str:
    """The file's SHA-256 and the size and mtime of every module of this package (the validating code)."""
    here = Path(__file__).resolve().parent
    parts = [hashlib.sha256(text.encode("utf-8")).hexdigest()]
    try:
        for module in sorted(here.glob("*.py")):
            st = module.stat()
            parts.append(f"{module.name}:{st.st_mtime_ns}:{st.st_size}")
    except OSError:
        return ""
    return "/".join(parts)


def _read_cache(path: Path, key: str) -> Config | None:
    if not key:
        return None
    try:
        with open(path.parent / CACHE_NAME, "rb") as fh:
            data = json.load(fh)
        if data.get("key") != key:
            return None
        fields = data["config"]
        fields["environments"] = {n: Environment(**e) for n, e in fields["environments"].items()}
        fields["required_env"] = [RequiredVar(**{**r, "environments": None if r["environments"] is None
                                                 else tuple(r["environments"])}) for r in fields["required_env"]]
        fields["backups"] = BackupSettings(**fields.get("backups", {}))
        return Config(root=path.parent.resolve(), path=path, **fields)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _write_cache(path: Path, key: str, cfg: Config) -> None:
    folder = path.parent / CACHE_NAME.parent
    if not key or not folder.is_dir():
        return
    fields = asdict(cfg)
    del fields["root"], fields["path"]
    try:
        body = json.dumps({"key": key, "config": fields})
    except (TypeError, ValueError):
        return  # a TOML date in a platform table: not worth caching
    tmp = folder / f".config.json.{os.getpid()}"
    try:
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, folder / CACHE_NAME.name)
    except OSError:
        tmp.unlink(missing_ok=True)


def parse_config(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}.",
            hint="Fix the syntax at the line named above, or move the file away and run `moai-adk init` to write a new one.",
        ) from exc
    return validate(data, path, text)


def validate(data: dict[str, Any], path: Path, text: str = "") -> Config:
    """``data`` (parsed ``moai.toml``) checked against the model; all problems in one ``ConfigError``."""
    from pydantic import ValidationError  # imported on first use: keeps `moai-adk --help` fast

    from .model import MoaiToml, unknown_settings

    unknown = unknown_settings(data)
    try:
        model = MoaiToml.model_validate(data)
        errors = []
    except ValidationError as exc:
        errors = exc.errors()
    if errors or unknown:
        from .problems import misspelled_settings, raise_problems, translate

        problems = misspelled_settings(unknown) + translate(errors, path)
        if problems:
            raise_problems(problems, path, text)

    deploy = model.deploy
    platforms = list(deploy.platforms or [])
    platform = deploy.platform or (platforms[0] if platforms else "local")
    if platform not in platforms:
        platforms.insert(0, platform)
    raw_settings = data.get("platforms", {})
    required = [RequiredVar(name=name, environments=tuple(req.environments) if req.environments is not None else None,
                            pattern=req.pattern, description=req.description)
                for name, req in model.env.required.items()]
    _check_required_environments(required, set(model.environments), path)
    _check_requires({n: e.requires for n, e in model.environments.items()}, path)
    return Config(
        root=path.parent.resolve(),
        name=model.project.name,
        framework=model.project.framework,
        build_command=model.build.command or None,
        output=model.build.output,
        platform=platform,
        platforms=platforms,
        health_check=deploy.health_check,
        health_timeout=float(deploy.health_timeout),
        exclude=list(deploy.exclude),
        environments={name: Environment(name=name, **env.model_dump())
                      for name, env in model.environments.items()},
        platform_settings={name: dict(raw_settings[name]) for name in raw_settings},
        required_env=required,
        backend=model.backend.model_dump(exclude_none=True),
        db_privacy=model.db.privacy.model_dump() if model.db.privacy is not None else None,
        path=path,
        backups=BackupSettings(**model.db.backups.model_dump()),
    )


def _check_required_environments(required: list[RequiredVar], declared: set[str], path: Path) -> None:
    """An ``[env.required]`` entry naming an environment nobody has is a typo that would never be checked."""
    known = sorted(declared | set(DEFAULT_ENVIRONMENTS))
    for var in required:
        unknown = [e for e in var.environments or () if e not in known]
        if unknown:
            raise ConfigError(
                f"{path}: env.required.{var.name}.environments names unknown environment(s) {', '.join(unknown)}. "
                f"Known environments: {', '.join(known)}.",
                hint=f"Fix the name in {path}, or add an [environments.{unknown[0]}] table.")


def _check_requires(requires: dict[str, str | None], path: Path) -> None:
    """``requires`` names a known environment other than its own, and the chain has no cycle."""
    known = sorted(set(requires) | set(DEFAULT_ENVIRONMENTS))
    for name, needed in requires.items():
        if needed is None:
            continue
        if needed not in known:
            raise ConfigError(
                f"{path}: environments.{name}.requires names unknown environment '{needed}'. "
                f"Known environments: {', '.join(known)}.",
                hint=f"Fix the name in {path}, or add an [environments.{needed}] table.")
        seen = [name]
        step: str | None = needed
        while step is not None:
            if step in seen:
                raise ConfigError(
                    f"{path}: environments.{name}.requires makes a cycle ({' -> '.join([*seen, step])}): "
                    "no artifact could ever be promoted.",
                    hint=f"Remove one of the `requires` keys in {path}.")
            seen.append(step)
            step = requires.get(step)
