"""The project a command works on, and the providers it talks to.

Every command starts the same way: find ``moai.toml`` from a folder, then
open the provider for a platform (or for the platform an environment names).
``open_provider`` fills the ``ProviderContext`` from the config, so adapters
never read ``moai.toml`` or ``os.environ`` themselves. ``project_status`` is
what ``moai-adk status`` shows, as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from .config import Config, find_config, load_config
from .errors import ConfigError, MoaiError, UsageError
from .providers import available, make_provider
from .providers.base import Deployment, Provider, ProviderContext
from .providers.capabilities import Hosting, capabilities_of

CONCURRENCY_ENV = "MOAI_UPLOAD_CONCURRENCY"


def load_project(start: Path) -> Config:
    """The ``moai.toml`` in ``start`` or the nearest folder above it."""
    path = find_config(start)
    if path is None:
        raise ConfigError(
            f"No moai.toml in {start} or any folder above it.",
            hint="Run `moai-adk init` in your project folder (or pass -C DIR).",
        )
    return load_config(path)


def upload_concurrency(environ: Mapping[str, str]) -> int | None:
    raw = environ.get(CONCURRENCY_ENV)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{CONCURRENCY_ENV}={raw!r} is not a positive whole number.", hint="Unset it, or set it to e.g. 8.")
    return int(raw)


def environment_tables(cfg: Config) -> dict[str, dict[str, Any]]:
    """Each ``[environments.<env>]`` table of moai.toml as a plain mapping (unset keys left out)."""
    return {name: {k: v for k, v in vars(env).items() if v is not None and k != "name"}
            for name, env in cfg.environments.items()}


def provider_context(cfg: Config, name: str, environ: Mapping[str, str], *, concurrency: int | None = None,
                     transport: httpx.BaseTransport | None = None) -> ProviderContext:
    return ProviderContext(root=cfg.root, settings=cfg.settings_for(name), environ=environ,
                           project_name=cfg.name, concurrency=concurrency, transport=transport,
                           environments=environment_tables(cfg))


def open_provider(cfg: Config, environ: Mapping[str, str], platform: str | None = None,
                  environment: str | None = None, *, concurrency: int | None = None,
                  transport: httpx.BaseTransport | None = None) -> Provider:
    """The provider for ``platform``, else the one moai.toml names for ``environment``, else the default."""
    name = platform or cfg.platform_for(environment)
    if concurrency is None:
        concurrency = upload_concurrency(environ)
    return make_provider(name, provider_context(cfg, name, environ, concurrency=concurrency, transport=transport))


def deployment_row(d: Deployment) -> dict[str, Any]:
    return {"id": d.id, "state": d.state, "production": d.production, "target": d.target,
            "url": d.url, "production_url": d.production_url, "created_at": d.created_at}


def project_status(cfg: Config, environ: Mapping[str, str], *,
                   transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """The project, and for each of its platforms what it can do and what production serves."""
    platforms: list[dict[str, Any]] = []
    for name in cfg.platforms:
        entry: dict[str, Any] = {"platform": name}
        try:
            with open_provider(cfg, environ, name, transport=transport) as provider:
                entry["capabilities"] = capabilities_of(provider)
                live = provider.production() if isinstance(provider, Hosting) else None
            entry["production"] = deployment_row(live) if live else None
            entry["ok"] = True
        except MoaiError as exc:
            entry.update(ok=False, error=exc.message, hint=exc.hint)
        platforms.append(entry)
    return {"project": cfg.name, "config": str(cfg.path), "output": str(cfg.output_dir),
            "build_command": cfg.build_command, "default_platform": cfg.platform,
            "environments": sorted(set(cfg.environments) | {"development", "preview", "staging", "production"}),
            "platforms": platforms, "known_platforms": sorted(available())}
