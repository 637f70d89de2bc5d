"""``moai.toml``: the project's one configuration file, its schema and validation.

Schema (every table and key optional unless marked)::

    [project]
    name = "my-site"              # required; lowercase letters, digits, '-'
    framework = "vite"            # what ``init`` detected (informational)

    [build]
    command = "npm run build"     # empty or absent: nothing to build
    output = "dist"               # folder to deploy, relative to moai.toml (default ".")

    [deploy]
    platform = "local"            # default platform for ``moai-adk deploy``
    platforms = ["local"]         # every platform this project deploys to
    health_check = "/"            # path fetched on each new deployment before promotion
    health_timeout = 30           # seconds

    [environments.<name>]         # development, preview, staging, production, or your own
    platform = "vercel"           # overrides deploy.platform for this environment
    branch = "main"
    url = "https://..."           # public URL, informational
    db_url_env = "PROD_DB_URL"    # name of the env var holding this environment's database URL
    supabase_project_ref = "abcdefghijklmnopqrst"
    health_check = "/healthz"

    [platforms.<name>]            # per-platform settings, free-form, read by that provider

Errors name the file, the key and its line, and say how to fix it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

CONFIG_FILE = "moai.toml"
DEFAULT_ENVIRONMENTS = ("development", "preview", "staging", "production")
KNOWN_PLATFORMS = (
    "local", "vercel", "netlify", "firebase", "supabase", "cloudflare", "amplify", "azure",
)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

# table -> key -> expected python type(s)
_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "project": {"name": (str,), "framework": (str,)},
    "build": {"command": (str,), "output": (str,)},
    "deploy": {
        "platform": (str,), "platforms": (list,), "health_check": (str,),
        "health_timeout": (int, float),
    },
}
_ENV_KEYS: dict[str, tuple[type, ...]] = {
    "platform": (str,), "branch": (str,), "url": (str,), "db_url_env": (str,),
    "supabase_project_ref": (str,), "health_check": (str,),
}
_TOP = set(_SCHEMA) | {"environments", "platforms"}


@dataclass
class Environment:
    name: str
    platform: str | None = None
    branch: str | None = None
    url: str | None = None
    db_url_env: str | None = None
    supabase_project_ref: str | None = None
    health_check: str | None = None


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
    environments: dict[str, Environment] = field(default_factory=dict)
    platform_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None

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


def _line_of(text: str, table: str | None, key: str | None) -> int | None:
    """Best-effort 1-based line of ``key`` inside ``[table]`` (or of the table header)."""
    current: str | None = None
    header_line = None
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if m:
            current = m.group(1).replace('"', "").replace(" ", "")
            if table is None and key is not None and (current == key or current.startswith(key + ".")):
                return no
            if table is not None and current == table:
                header_line = no
                if key is None:
                    return no
            continue
        if key is None:
            continue
        m = re.match(r'^"?([A-Za-z0-9_.-]+)"?\s*=', line)
        if not m:
            continue
        dotted = m.group(1)
        full = f"{current}.{dotted}" if current else dotted
        want = f"{table}.{key}" if table else key
        if full == want:
            return no
    return header_line


def _where(path: Path, text: str, table: str | None, key: str | None) -> str:
    line = _line_of(text, table, key)
    return f"{path}:{line}" if line else str(path)


def _type_name(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "a table", bool: "true/false"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


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
    return parse_config(text, path)


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
    def fail(table: str | None, key: str | None, what: str, fix: str) -> ConfigError:
        dotted = ".".join(p for p in (table, key) if p)
        return ConfigError(f"{_where(path, text, table, key)}: `{dotted}` {what}.", hint=fix)

    for top in data:
        if top not in _TOP:
            raise fail(None, top, "is not a known key or table", f"Remove it; known tables are: {', '.join(sorted(_TOP))}.")
    for table, keys in _SCHEMA.items():
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise fail(None, table, "must be a table", f"Write it as [{table}].")
        for key, value in section.items():
            if key not in keys:
                raise fail(table, key, "is not a known key", f"Known keys in [{table}]: {', '.join(keys)}.")
            if not isinstance(value, keys[key]) or isinstance(value, bool):
                raise fail(table, key, f"must be {_type_name(keys[key])}, not {type(value).__name__}",
                           f"Edit {path} so `{key}` is {_type_name(keys[key])}.")

    project = data.get("project", {})
    name = project.get("name")
    if not name:
        raise fail("project", "name" if "name" in project else None, "is missing (project.name is required)",
                   f'Add `name = "my-site"` under [project] in {path}.')
    if not NAME_RE.match(name):
        raise fail("project", "name", f"'{name}' is not a valid name",
                   "Use lowercase letters, digits and '-', starting with a letter or digit (at most 63).")

    build = data.get("build", {})
    output = build.get("output", ".")
    if Path(output).is_absolute() or ".." in Path(output).parts:
        raise fail("build", "output", f"'{output}' must be a folder inside the project",
                   "Use a relative path such as \"dist\".")

    deploy = data.get("deploy", {})
    platforms = deploy.get("platforms")
    platform = deploy.get("platform")
    if platforms is not None:
        for p in platforms:
            if not isinstance(p, str) or p not in KNOWN_PLATFORMS:
                raise fail("deploy", "platforms", f"names unknown platform {p!r}",
                           f"Known platforms: {', '.join(KNOWN_PLATFORMS)}.")
    if platform is not None and platform not in KNOWN_PLATFORMS:
        raise fail("deploy", "platform", f"names unknown platform '{platform}'",
                   f"Known platforms: {', '.join(KNOWN_PLATFORMS)}.")
    platform = platform or (platforms[0] if platforms else "local")
    platforms = list(platforms or [platform])
    if platform not in platforms:
        platforms.insert(0, platform)
    health = deploy.get("health_check", "/")
    if not health.startswith("/"):
        raise fail("deploy", "health_check", f"'{health}' must start with '/'", 'Write a path such as "/" or "/healthz".')

    environments: dict[str, Environment] = {}
    envs = data.get("environments", {})
    if not isinstance(envs, dict):
        raise fail(None, "environments", "must be a table", "Write [environments.production] and so on.")
    for env_name, env_data in envs.items():
        table = f"environments.{env_name}"
        if not NAME_RE.match(env_name):
            raise fail(table, None, "has an invalid environment name", "Use lowercase letters, digits and '-'.")
        if not isinstance(env_data, dict):
            raise fail("environments", env_name, "must be a table", f"Write it as [{table}].")
        for key, value in env_data.items():
            if key not in _ENV_KEYS:
                raise fail(table, key, "is not a known key", f"Known keys: {', '.join(_ENV_KEYS)}.")
            if not isinstance(value, _ENV_KEYS[key]):
                raise fail(table, key, f"must be {_type_name(_ENV_KEYS[key])}", f"Edit {path}.")
        if env_data.get("platform") and env_data["platform"] not in KNOWN_PLATFORMS:
            raise fail(table, "platform", f"names unknown platform '{env_data['platform']}'",
                       f"Known platforms: {', '.join(KNOWN_PLATFORMS)}.")
        environments[env_name] = Environment(name=env_name, **env_data)

    psettings = data.get("platforms", {})
    if not isinstance(psettings, dict):
        raise fail(None, "platforms", "must be a table", "Write [platforms.vercel] and so on.")
    for pname, pdata in psettings.items():
        if pname not in KNOWN_PLATFORMS:
            raise fail("platforms", pname, "is not a known platform", f"Known platforms: {', '.join(KNOWN_PLATFORMS)}.")
        if not isinstance(pdata, dict):
            raise fail("platforms", pname, "must be a table", f"Write it as [platforms.{pname}].")

    return Config(
        root=path.parent.resolve(),
        name=name,
        framework=project.get("framework"),
        build_command=build.get("command") or None,
        output=output,
        platform=platform,
        platforms=platforms,
        health_check=health,
        health_timeout=float(deploy.get("health_timeout", 30)),
        environments=environments,
        platform_settings={k: dict(v) for k, v in psettings.items()},
        path=path,
    )
