"""``moai-adk init --link``: link (or create) the remote project/site of each platform.

Each provider's ``link(create=True, dry_run=...)`` does the work and writes its own
link file (``.vercel/project.json``, ``.netlify/state.json``) through ``project.files``.
Platforms with nothing to link (their provider raises ``NotSupported``) are reported,
not failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ..config import Config
from ..errors import NotSupported, UsageError
from ..providers import get_provider_class, make_provider
from ..providers.capabilities import Hosting
from ..workspace import provider_context


def link_platforms(root: Path, config: Config, environ: Mapping[str, str], *, dry_run: bool = False,
                   platforms: list[str] | None = None, only_with_credentials: bool = False,
                   transport: httpx.BaseTransport | None = None) -> list[dict[str, Any]]:
    """Link every platform of ``platforms`` (default: all of ``config.platforms``), in order.

    ``only_with_credentials`` (what a plain ``init`` does): link the cloud platforms whose
    token is in ``environ``; report the others as not linked, with the variable to set.
    Platforms that need no account (local) are left to the first deploy."""
    results: list[dict[str, Any]] = []
    for name in platforms if platforms is not None else config.platforms:
        if only_with_credentials:
            try:
                needs = get_provider_class(name).credential_envs
            except UsageError as exc:
                results.append({"platform": name, "linked": False, "reason": exc.message})
                continue
            if not needs:
                continue
            if not any(environ.get(var) for var in needs):
                results.append({"platform": name, "linked": False,
                                "reason": f"set {' or '.join(needs)}, then run `moai-adk init --link`; "
                                          "or let the first `moai-adk deploy` link it"})
                continue
        try:
            provider = make_provider(name, provider_context(config, name, environ, transport=transport))
        except UsageError as exc:  # the platform's module is not installed
            results.append({"platform": name, "linked": False, "reason": exc.message})
            continue
        with provider:
            if not isinstance(provider, Hosting):
                results.append({"platform": name, "linked": False,
                                "reason": f"{name} hosts no sites; its project is chosen per environment in moai.toml"})
                continue
            try:
                linked = provider.link(create=True, dry_run=dry_run)
            except NotSupported as exc:
                results.append({"platform": name, "linked": False, "reason": exc.message})
                continue
        results.append({"linked": not dry_run, **linked.to_json()})
    return results


def link_after_init(root: Path, config: Config, environ: Mapping[str, str], wanted: bool | None, *,
                    dry_run: bool = False, transport: httpx.BaseTransport | None = None) -> list[dict[str, Any]]:
    """What ``init`` does after writing files: ``wanted`` True links every platform, False none,
    None the cloud platforms whose credentials are in ``environ``."""
    if wanted is False:
        return []
    return link_platforms(root, config, environ, dry_run=dry_run, only_with_credentials=wanted is None,
                          transport=transport)
