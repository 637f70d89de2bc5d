"""``netlify.toml``: resolve it for one deploy context and serialise it into
the deploy manifest, as Netlify's CLI does for manual deploys, so
``[[redirects]]`` and ``[[headers]]`` apply without a Netlify build.

Resolution: ``[build]`` merged with ``[context.<context>]`` (and
``[context.<branch>]`` for a branch deploy); ``[build.environment]`` likewise.
Redirects and headers are global (Netlify does not scope them by context).
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import tomlkit

from ...errors import ConfigError

CONFIG_FILE = "netlify.toml"


def load(root: Path) -> dict[str, Any] | None:
    path = root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.", hint=f"Fix the syntax of {path}.") from exc
    _validate(data, path)
    return data


def _validate(data: dict[str, Any], path: Path) -> None:
    for i, rule in enumerate(data.get("redirects", []) or [], 1):
        if not isinstance(rule, dict) or not rule.get("from") or not rule.get("to"):
            raise ConfigError(f"{path}: [[redirects]] rule {i} needs both `from` and `to`.",
                              hint=f'Write it as from = "/old" and to = "/new" in {path}.')
        status = rule.get("status", 301)
        if not isinstance(status, int) or not 200 <= status <= 599:
            raise ConfigError(f"{path}: [[redirects]] rule {i} has status {status!r}; use an HTTP status such as 301 or 200.",
                              hint=f"Edit rule {i} in {path}.")
    for i, rule in enumerate(data.get("headers", []) or [], 1):
        if not isinstance(rule, dict) or not rule.get("for") or not isinstance(rule.get("values"), dict):
            raise ConfigError(f"{path}: [[headers]] rule {i} needs `for` and a [headers.values] table.",
                              hint=f'Write for = "/*" and [headers.values] Name = "value" in {path}.')
    for key in ("build", "context"):
        if key in data and not isinstance(data[key], dict):
            raise ConfigError(f"{path}: `{key}` must be a table.", hint=f"Write it as [{key}] in {path}.")


def resolve(data: dict[str, Any], context: str, branch: str | None = None) -> dict[str, Any]:
    """The config as it applies to ``context`` (``production``, ``deploy-preview``, ``branch-deploy``)."""
    build = dict(data.get("build") or {})
    env = dict(build.get("environment") or {})
    contexts = data.get("context") or {}
    for name in (context, branch):
        override = contexts.get(name) if name else None
        if isinstance(override, dict):
            for k, v in override.items():
                if k == "environment" and isinstance(v, dict):
                    env.update(v)
                else:
                    build[k] = v
    if env:
        build["environment"] = env
    out = {k: v for k, v in data.items() if k != "context"}
    if build:
        out["build"] = build
    return out


def serialise(resolved: dict[str, Any]) -> bytes:
    return tomlkit.dumps(resolved).encode("utf-8")


def manifest_entry(root: Path, context: str, branch: str | None) -> tuple[bytes, str] | None:
    """``(bytes, sha1)`` of the resolved ``netlify.toml`` to add to the deploy, or ``None``."""
    data = load(root)
    if data is None:
        return None
    body = serialise(resolve(data, context, branch))
    return body, hashlib.sha1(body).hexdigest()
