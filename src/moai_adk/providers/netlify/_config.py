"""``netlify.toml``: find it, resolve it for one deploy context and serialise it
into the deploy manifest, as Netlify's CLI does for manual deploys, so
``[[redirects]]`` and ``[[headers]]`` apply without a Netlify build.

The rules are those of ``@netlify/config`` (netlify/build ``packages/config``):

* which file: the project root's ``netlify.toml``; when its ``[build] base``
  names a folder holding its own ``netlify.toml``, that file is used instead
  (the second file's ``base`` is not followed again);
* ``[context.<context>]`` is merged over the top level, then
  ``[context.<branch>]`` over that (so a branch section wins over
  ``production``/``deploy-preview``/``branch-deploy``). A branch matches its
  section by exact name, else every ``[context."prefix*"]`` section whose
  prefix starts the branch name;
* a context section's ``base``, ``command``, ``environment``, ``ignore``,
  ``processing``, ``publish`` and the string forms of ``functions`` and
  ``edge_functions`` are ``[build]`` settings; its other tables (the
  ``[functions]`` table, ``[[edge_functions]]``, ``[[plugins]]``) apply at
  the top level;
* tables merge key by key (``[context.production.environment]`` overrides
  single keys of ``[build.environment]``); arrays are replaced, except
  ``[[plugins]]``, merged by ``package``.

For builds Netlify gives the resolved ``[build.environment]`` precedence over
variables set in the UI/API (``@netlify/config`` ``env/main.ts``); moai-adk
uploads built files, so only the file is sent.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import tomlkit

from ...errors import ConfigError

CONFIG_FILE = "netlify.toml"
BUILD_PROPERTIES = frozenset({"base", "command", "edge_functions", "environment", "functions", "ignore",
                              "processing", "publish"})


def _parse(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.", hint=f"Fix the syntax of {path}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text.", hint=f"Save {path} as UTF-8.") from exc
    return _normalise_case(data)


def _normalise_case(data: dict[str, Any]) -> dict[str, Any]:
    """``[Build]`` and its capitalised keys (``Publish``...) mean the lower-case ones, as Netlify reads them."""
    data = dict(data)
    if "Build" in data:
        build = data.pop("Build")
        data.setdefault("build", build)
    build = data.get("build")
    if isinstance(build, dict):
        build = dict(build)
        for name in BUILD_PROPERTIES:
            capital = name.capitalize()
            if capital in build:
                value = build.pop(capital)
                build.setdefault(name, value)
        data["build"] = build
    return data


def find(root: Path) -> Path | None:
    """The ``netlify.toml`` Netlify's CLI would use for a project at ``root``, or ``None``."""
    first = root / CONFIG_FILE
    if not first.is_file():
        return None
    build = _parse(first).get("build")
    base = build.get("base") if isinstance(build, dict) else None
    if isinstance(base, str) and base.strip() not in ("", ".", "./"):
        second = root / base / CONFIG_FILE
        if second.is_file() and second.resolve() != first.resolve():
            return second
    return first


def load(root: Path) -> dict[str, Any] | None:
    path = find(root)
    if path is None:
        return None
    data = _parse(path)
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
    for name, section in (data.get("context") or {}).items():
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: `context.{name}` must be a table.",
                              hint=f'Write it as [context."{name}"] with settings such as publish = "dist" in {path}.')


def _is_build_property(key: str, value: Any) -> bool:
    if key == "functions" and isinstance(value, dict):
        return False  # the [functions] table, not build.functions (a folder)
    if key == "edge_functions" and isinstance(value, list):
        return False  # [[edge_functions]] declarations, not build.edge_functions (a folder)
    return key in BUILD_PROPERTIES


def _namespaced(section: dict[str, Any]) -> dict[str, Any]:
    """A context section in the shape of the top level: its build settings under ``build``."""
    out: dict[str, Any] = {}
    for key, value in section.items():
        if _is_build_property(key, value):
            out["build"] = {**out.get("build", {}), key: value}
        elif key == "build" and isinstance(value, dict):
            out["build"] = {**value, **out.get("build", {})}
        else:
            out[key] = value
    return out


def _matching(contexts: dict[str, Any], name: str | None) -> list[dict[str, Any]]:
    if not name:
        return []
    if contexts.get(name):
        return [contexts[name]]
    return [section for pattern, section in contexts.items()
            if pattern.endswith("*") and name.startswith(pattern[:-1]) and isinstance(section, dict)]


def _merge(low: Any, high: Any) -> Any:
    if isinstance(low, dict) and isinstance(high, dict):
        out = dict(low)
        for key, value in high.items():
            out[key] = _merge(low[key], value) if key in low else value
        return out
    if _is_plugins(low) and _is_plugins(high):
        merged: dict[str, dict[str, Any]] = {}
        for plugin in [*low, *high]:
            merged[plugin["package"]] = _merge(merged.get(plugin["package"], {}), plugin)
        return list(merged.values())
    return high


def _is_plugins(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(p, dict) and isinstance(p.get("package"), str) for p in value)


def resolve(data: dict[str, Any], context: str, branch: str | None = None) -> dict[str, Any]:
    """The config as it applies to ``context`` (``production``, ``deploy-preview``, ``branch-deploy``)
    and ``branch``."""
    contexts = data.get("context") or {}
    out: dict[str, Any] = {k: v for k, v in data.items() if k != "context"}
    for section in [*_matching(contexts, context), *_matching(contexts, branch)]:
        out = _merge(out, _namespaced(section))
    if not out.get("build"):
        out.pop("build", None)
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


def rules_file(root: Path, context: str, branch: str | None) -> bytes | None:
    """A ``netlify.toml`` holding only the resolved ``[[redirects]]`` and ``[[headers]]`` (what the local
    platform applies), or ``None`` when the project has none."""
    data = load(root)
    if data is None:
        return None
    resolved = resolve(data, context, branch)
    rules = {key: resolved[key] for key in ("redirects", "headers") if resolved.get(key)}
    return serialise(rules) if rules else None
