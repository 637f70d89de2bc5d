"""Environment variables across platforms: list, set, unset, pull, push.

Works against the ``EnvStore`` capability only (``env_list``/``env_set``/
``env_unset``), so every platform that has it (local, Vercel, Netlify,
Supabase) gets the same behaviour. Each adapter maps our environment names to
its own (``EnvStore.platform_environment``): Vercel targets or custom
environments, Netlify deploy contexts; see docs/providers/.

``pull`` writes a ``.env`` file atomically and never writes a value the
platform would not reveal (a secret) as an empty string: such keys are
listed as unreadable and keep the value the file already had, if any.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import audit
from .artifacts.secrets import is_supabase_secret_key
from .envs_files import parse_dotenv as parse_dotenv  # re-exported: callers parse .env files through envs
from .errors import UsageError
from .fsutil import atomic_write
from .providers.base import EnvVar, Provider
from .providers.capabilities import EnvStore, Secrets

KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_key(key: str) -> None:
    if not KEY_RE.match(key):
        raise UsageError(f"'{key}' is not a valid variable name (KEY).",
                         hint="Use letters, digits and '_', not starting with a digit, e.g. API_URL.")


# Prefixes front-end frameworks put into the JavaScript every visitor downloads (Next.js, Nuxt, Vite,
# Astro/SvelteKit, Create React App, Expo, Gatsby).
PUBLIC_PREFIXES = ("NEXT_PUBLIC_", "NUXT_PUBLIC_", "VITE_", "PUBLIC_", "REACT_APP_", "EXPO_PUBLIC_", "GATSBY_")


def public_prefix(key: str) -> str | None:
    return next((p for p in PUBLIC_PREFIXES if key.startswith(p)), None)


def check_public(key: str, value: str, *, secret: bool, provider: object = None) -> None:
    """Refuse a secret under a public prefix: a build inlines such variables into the client bundle. Every
    push (``env set``/``env push``, the secrets store's push, ``link``) goes through here. A write-only
    secret store (``Secrets``: Supabase function secrets) never reaches a browser and is not checked."""
    prefix = public_prefix(key)
    if prefix is None or isinstance(provider, Secrets):
        return
    if is_supabase_secret_key(value):
        raise UsageError(
            f"The value of {key} is a Supabase service-role (secret) key, which bypasses row-level security; under "
            f"the public prefix {prefix} the build puts it into the JavaScript every visitor downloads. Nothing "
            "was changed.",
            hint=f"Put the anon key under {prefix} and the service-role key only in a server-side variable without "
                 "a public prefix (SUPABASE_SERVICE_ROLE_KEY, as `moai-adk link supabase --service-role` does).")
    if secret:
        raise UsageError(
            f"{key} is a secret but starts with {prefix}, the prefix whose variables the build puts into the "
            "JavaScript every visitor downloads, so it would not stay secret. Nothing was changed.",
            hint=f"Rename it without {prefix} and read it on the server side only; or, if the value is public by "
                 "design, set it as a plain variable (without --secret, outside the secrets store).")


# -- .env files (read by envs_files with python-dotenv; written here) --------
def format_dotenv(values: Mapping[str, str], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in values.items():
        if re.fullmatch(r"[A-Za-z0-9_./:@+,-]*", value):
            lines.append(f"{key}={value}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
            lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + "\n"


# -- service ---------------------------------------------------------------
def _audit(provider: EnvStore, action: str, environment: str, details: dict[str, Any], *, dry_run: bool) -> None:
    """One entry in the audit log of the provider's project (key names and counts, never values); none for a
    dry run. Here, not in the CLI, so a library caller's changes are recorded too."""
    if not dry_run and isinstance(provider, Provider):
        audit.record(provider.ctx.root, action, environment=environment, target=provider.name, details=details)


@dataclass
class PullResult:
    path: Path
    written: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # unreadable keys whose old local value was kept
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "written": self.written, "unreadable": self.unreadable,
                "kept": self.kept, "dry_run": self.dry_run}


@dataclass
class PushResult:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "changed": self.changed, "unchanged": self.unchanged, "dry_run": self.dry_run}


def env_to_json(var: EnvVar, *, reveal: bool = False) -> dict[str, Any]:
    value: str | None = var.value
    if value is not None and not reveal and var.secret:
        value = None
    return {"key": var.key, "value": value, "secret": var.secret, "readable": var.value is not None,
            "environments": var.environments}


def list_env(provider: EnvStore, environment: str) -> list[EnvVar]:
    return sorted(provider.env_list(environment), key=lambda v: v.key)


def set_env(provider: EnvStore, environment: str, key: str, value: str, *, secret: bool = False,
            dry_run: bool = False) -> dict[str, Any]:
    check_key(key)
    check_public(key, value, secret=secret, provider=provider)
    provider.check_env_value(environment, key, value, secret=secret)
    existing = {v.key: v for v in provider.env_list(environment)}
    action = "change" if key in existing else "add"
    if existing.get(key) is not None and existing[key].value == value and existing[key].secret == secret:
        action = "unchanged"
    if not dry_run and action != "unchanged":
        provider.env_set(environment, key, value, secret=secret)
    _audit(provider, "env set", environment, {"key": key, "action": action, "secret": secret}, dry_run=dry_run)
    return {"key": key, "environment": environment, "platform": provider.name, "action": action,
            "secret": secret, "dry_run": dry_run}


def unset_env(provider: EnvStore, environment: str, key: str, *, dry_run: bool = False) -> dict[str, Any]:
    check_key(key)
    existing = {v.key for v in provider.env_list(environment)}
    if key not in existing:
        raise UsageError(
            f"{key} is not set for the {environment} environment on {provider.name}.",
            hint=f"Run `moai-adk env list --env {environment} --platform {provider.name}` to see what is set.",
        )
    if not dry_run:
        provider.env_unset(environment, key)
    _audit(provider, "env unset", environment, {"key": key, "action": "remove"}, dry_run=dry_run)
    return {"key": key, "environment": environment, "platform": provider.name, "action": "remove",
            "dry_run": dry_run}


def pull_env(provider: EnvStore, environment: str, path: Path, *, dry_run: bool = False) -> PullResult:
    """Write the environment's readable variables to ``path``; unreadable ones keep their local value."""
    current: dict[str, str] = {}
    if path.exists():
        current = parse_dotenv(path.read_text(encoding="utf-8"), path)
    result = PullResult(path=path, dry_run=dry_run)
    values: dict[str, str] = {}
    for var in list_env(provider, environment):
        if var.value is None:
            result.unreadable.append(var.key)
            if var.key in current:
                values[var.key] = current[var.key]
                result.kept.append(var.key)
            continue
        values[var.key] = var.value
        result.written.append(var.key)
    header = f"Pulled by moai-adk from {provider.name} ({environment})."
    if result.unreadable:
        header += "\nNot readable (secret): " + ", ".join(result.unreadable)
    if not dry_run:
        atomic_write(path, format_dotenv(values, header), mode=0o600)
    return result


def push_env(provider: EnvStore, environment: str, path: Path, *, secret: bool = False,
             secret_keys: frozenset[str] = frozenset(), dry_run: bool = False) -> PushResult:
    """Set every ``KEY=value`` of ``path`` on the platform; unchanged values are not sent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"No such file: {path} (--file).",
                         hint=f"Create it, or run `moai-adk env pull --env {environment}` first.") from None
    return push_values(provider, environment, parse_dotenv(text, path), secret=secret, secret_keys=secret_keys,
                       dry_run=dry_run)


def push_values(provider: EnvStore, environment: str, wanted: Mapping[str, str], *, secret: bool = False,
                secret_keys: frozenset[str] = frozenset(), dry_run: bool = False) -> PushResult:
    """Set every key of ``wanted`` on the platform (from a .env file, or decrypted in memory by
    ``moai_adk.secrets``); unchanged values are not sent."""
    for key, value in wanted.items():  # everything the platform would refuse, before the first write
        check_key(key)
        check_public(key, value, secret=secret or key in secret_keys, provider=provider)
        provider.check_env_value(environment, key, value, secret=secret or key in secret_keys)
    existing = {v.key: v for v in provider.env_list(environment)}
    result = PushResult(dry_run=dry_run)
    for key, value in wanted.items():
        is_secret = secret or key in secret_keys
        old = existing.get(key)
        if old is None:
            result.added.append(key)
        elif old.value == value and old.secret == is_secret:
            result.unchanged.append(key)
            continue
        else:
            result.changed.append(key)
        if not dry_run:
            provider.env_set(environment, key, value, secret=is_secret)
    _audit(provider, "env push", environment, {"added": result.added, "changed": result.changed}, dry_run=dry_run)
    return result
