"""The provider layer's shared types and its one base class.

A provider is built from a ``ProviderContext`` (explicit inputs: project root,
its settings table from moai.toml, each environment's table, an environ
mapping, an optional HTTP transport for tests) and used as a context manager
(``with make_provider(...) as p:``) so its HTTP connections are closed.

What a provider can do is the set of capability protocols it inherits, all in
``providers.capabilities``: ``Hosting`` (link, deploy, promote, rollback,
list), ``EnvStore``, ``Secrets``, ``Channels``, ``Functions``, ``Traffic``.
Callers check them with ``isinstance`` (or ``require(provider, Cap)``, which
raises ``NotSupported`` with a hint); nothing probes methods with ``getattr``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import httpx

from ..artifacts.snapshot import Limits as Limits  # re-exported: adapters declare their limits
from ..errors import NotSupported


@dataclass
class DeployTarget:
    """Where a deploy goes: ``production`` or a preview for an environment."""

    environment: str = "preview"
    production: bool = False
    branch: str | None = None
    message: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    expires: str | None = None  # e.g. "7d" for providers with expiring previews
    archive: str | None = None  # upload as one archive ("tgz") or never ("off") where the provider can; None: its choice


@dataclass
class DeployStats:
    files_total: int = 0
    files_uploaded: int = 0
    bytes_uploaded: int = 0
    requests: int = 0


@dataclass
class Deployment:
    """One deployment as a provider reports it."""

    id: str
    state: str  # "uploading" | "processing" | "ready" | "error" | "canceled"
    url: str | None = None  # the deployment's own (preview) URL
    production_url: str | None = None  # the site's production URL
    health_url: str | None = None  # a URL this machine can fetch to check health (no special DNS)
    production_health_url: str | None = None  # the same for production, where production_url needs special DNS
    production: bool = False  # currently serving production
    target: str = "preview"
    created_at: str | None = None
    error: str | None = None
    stats: DeployStats = field(default_factory=DeployStats)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return data


@dataclass
class EnvVar:
    key: str
    value: str | None  # None when the platform will not reveal it (secret/sensitive)
    environments: list[str] = field(default_factory=list)
    secret: bool = False
    id: str | None = None


ProgressFn = Callable[[int, int], None]  # (advance_files, advance_bytes)


@dataclass
class LinkResult:
    """What ``link`` found or created on the platform."""

    platform: str
    id: str | None  # the remote project/site id (None on a dry run that would create it)
    name: str | None = None
    created: bool = False
    file: Path | None = None  # the link file written (.vercel/project.json, .netlify/state.json)
    dry_run: bool = False
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"platform": self.platform, "id": self.id, "name": self.name,
                                "created": self.created, "file": str(self.file) if self.file else None,
                                "dry_run": self.dry_run, "url": self.url}
        data.update(self.extra)
        return data


@dataclass
class ProviderContext:
    """Everything a provider may use. Nothing is read from globals.

    ``settings`` is the platform's ``[platforms.<name>]`` table; ``environments``
    maps each environment of moai.toml to its ``[environments.<env>]`` table, so a
    provider finds per-environment settings (a Supabase project ref, a Vercel
    custom environment) without reading moai.toml itself."""

    root: Path
    settings: dict[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    transport: httpx.BaseTransport | None = None
    project_name: str = "site"
    sleep: Callable[[float], None] | None = None
    concurrency: int | None = None
    environments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


class Provider:
    """What every platform has: a name, its credentials and a context. The rest
    comes from the capability protocols it inherits (``providers.capabilities``)."""

    name: ClassVar[str] = "base"
    # env vars that hold this platform's credentials (any one is enough); empty: none needed
    credential_envs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    def close(self) -> None:
        """Release HTTP connections; the provider may be used again afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def environment_settings(self, environment: str) -> Mapping[str, Any]:
        """The ``[environments.<environment>]`` table of moai.toml (empty when absent)."""
        return self.ctx.environments.get(environment) or {}

    def unsupported(self, what: str) -> NotSupported:
        return NotSupported(
            f"The {self.name} platform does not support {what}.",
            hint="Run `moai-adk status` to see what each platform supports, or use --platform local.",
        )
