"""The provider protocol: what every hosting backend implements.

A provider is constructed from a ``ProviderContext`` (explicit inputs: project
root, its settings table from moai.toml, an environ mapping, an optional HTTP
transport for tests) and then asked to ``deploy`` a snapshot, ``promote``,
``rollback``, list deployments and manage env vars. Capabilities a platform
lacks raise ``NotSupported`` with a hint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..artifacts.snapshot import Limits
from ..errors import NotSupported

if TYPE_CHECKING:
    from ..artifacts.snapshot import Snapshot

# Capability names providers declare.
CAP_PREVIEW = "preview"
CAP_PROMOTE = "promote"
CAP_ROLLBACK = "rollback"
CAP_ENV = "env"
CAP_CANARY = "canary"
CAP_ALIASES = "aliases"
CAP_SECRETS = "secrets"


@dataclass
class DeployTarget:
    """Where a deploy goes: ``production`` or a preview for an environment."""

    environment: str = "preview"
    production: bool = False
    branch: str | None = None
    message: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    expires: str | None = None  # e.g. "7d" for providers with expiring previews


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
class ProviderContext:
    """Everything a provider may use. Nothing is read from globals."""

    root: Path
    settings: dict[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    transport: httpx.BaseTransport | None = None
    project_name: str = "site"
    progress: ProgressFn | None = None
    sleep: Callable[[float], None] | None = None
    concurrency: int | None = None


class Provider:
    """Base class; concrete providers override what they support."""

    name: ClassVar[str] = "base"
    # hash algorithms (see artifacts.hashing.ALGORITHMS) this provider's manifest needs
    hash_algorithms: ClassVar[tuple[str, ...]] = ("sha256",)
    capabilities: ClassVar[frozenset[str]] = frozenset()
    limits: ClassVar[Limits] = Limits()
    # env vars that hold this platform's credentials (any one is enough); empty: none needed
    credential_envs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    # -- linking -------------------------------------------------------
    def link(self, *, create: bool = True, dry_run: bool = False) -> dict[str, Any]:
        """Link (or create) the remote project/site; returns what was linked."""
        raise self._unsupported("link")

    # -- deploys -------------------------------------------------------
    def deploy(self, snapshot: Snapshot, target: DeployTarget) -> Deployment:
        raise self._unsupported("deploy")

    def get_deployment(self, deployment_id: str) -> Deployment:
        raise self._unsupported("get_deployment")

    def list_deployments(self, limit: int = 20) -> list[Deployment]:
        raise self._unsupported("list_deployments")

    def promote(self, deployment_id: str) -> Deployment:
        raise self._unsupported("promote")

    def rollback(self, deployment_id: str | None = None) -> Deployment:
        raise self._unsupported("rollback")

    def health_headers(self) -> dict[str, str]:
        """Headers the pipeline sends with its health check (e.g. a protection bypass)."""
        return {}

    def run_hooks(self, phase: str, echo: Callable[[str], None] | None = None) -> list[str]:
        """Run the platform's own deploy hooks for ``phase`` ("predeploy" or
        "postdeploy", e.g. firebase.json's); returns the commands run."""
        return []

    def set_traffic(self, weights: dict[str, int]) -> None:
        """Split production traffic between deployments (canary); weights sum to 100.
        An empty mapping ends the split: production serves all traffic again."""
        raise self._unsupported("canary traffic split")

    def traffic(self) -> dict[str, int] | None:
        """The current split of production traffic, or None when production takes it all."""
        raise self._unsupported("canary traffic split")

    # -- env vars ------------------------------------------------------
    def env_list(self, environment: str) -> list[EnvVar]:
        raise self._unsupported("env list")

    def env_set(self, environment: str, key: str, value: str, *, secret: bool = False) -> EnvVar:
        raise self._unsupported("env set")

    def env_unset(self, environment: str, key: str) -> None:
        raise self._unsupported("env unset")

    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(
            f"The {self.name} platform does not support {what}.",
            hint="Run `moai-adk status` to see what each platform supports, or use --platform local.",
        )
