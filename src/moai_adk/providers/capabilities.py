"""The capability protocols: what a provider can do is what it inherits.

=============  =====================================================  ==========================
protocol       methods                                                who has it
=============  =====================================================  ==========================
``Hosting``    link, deploy, get_deployment, list_deployments,        local, vercel, netlify,
               promote, rollback, production, health_headers,         firebase
               run_hooks; ``hash_algorithms``, ``limits``
``EnvStore``   env_list, env_set, env_unset; platform_environment,    local, vercel, netlify,
               mapping_note (our environment -> the platform's name)  supabase
``Secrets``    set_secrets (write-only values, set in one call)       supabase
``Channels``   list_channels, delete_channel                          firebase
``Functions``  local_functions, deploy_functions, list_functions,     supabase
               delete_function
``Traffic``    set_traffic, traffic (canary weights)                  local
``Environ-     environment_deployment, assign (point an environment   local, vercel, netlify,
ments``        at an existing deployment: build once, promote many)   firebase
=============  =====================================================  ==========================

Each is an abstract class: an adapter that claims one must implement all of
its abstract methods, and callers ask ``isinstance(provider, EnvStore)`` or
``require(provider, EnvStore, "environment variables")``. A new capability
(``Domains``, ``Flags``, ...) is one more class here, one more row above, and
the adapters that really have it inherit it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..errors import NotSupported
from .base import Deployment, DeployTarget, EnvVar, Limits, LinkResult, ProgressFn, Provider

if TYPE_CHECKING:
    from ..artifacts.snapshot import Snapshot


class Hosting(ABC):
    """A platform that hosts sites: digest deploys, preview and production."""

    name: ClassVar[str]
    # hash algorithms (see artifacts.hashing.ALGORITHMS) this platform's manifest needs
    hash_algorithms: ClassVar[tuple[str, ...]] = ("sha256",)
    limits: ClassVar[Limits] = Limits()
    # what the platform's own client leaves out when it deploys a folder (artifacts.exclude syntax)
    default_ignores: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def link(self, *, create: bool = True, dry_run: bool = False) -> LinkResult:
        """Link (or create) the remote project/site and write the platform's link file."""

    @abstractmethod
    def deploy(self, snapshot: Snapshot, target: DeployTarget, progress: ProgressFn | None = None) -> Deployment:
        """Upload what the platform lacks and return the ready deployment. Never switches production,
        except where the platform does so by itself (then ``extra["became_production"]`` says so)."""

    @abstractmethod
    def get_deployment(self, deployment_id: str) -> Deployment: ...

    @abstractmethod
    def list_deployments(self, limit: int = 20) -> list[Deployment]:
        """Newest first."""

    @abstractmethod
    def promote(self, deployment_id: str) -> Deployment: ...

    @abstractmethod
    def rollback(self, deployment_id: str | None = None) -> Deployment: ...

    def production(self) -> Deployment | None:
        """The deployment production serves now, or None before the first promotion."""
        return next((d for d in self.list_deployments(limit=20) if d.production), None)

    def deploy_notice(self, target: DeployTarget) -> str | None:
        """A sentence to show before deploying when this deploy will do something the user may not
        expect (e.g. go live by itself); None when there is nothing to say. Only reads."""
        return None

    def health_headers(self) -> dict[str, str]:
        """Headers the pipeline sends with its health check (e.g. a protection bypass)."""
        return {}

    def run_hooks(self, phase: str, echo: Callable[[str], None] | None = None) -> list[str]:
        """Run the platform's own deploy hooks for ``phase`` ("predeploy" or "postdeploy", e.g.
        firebase.json's); returns the commands run."""
        return []


class EnvStore(ABC):
    """Environment variables per environment."""

    name: ClassVar[str]

    @abstractmethod
    def env_list(self, environment: str) -> list[EnvVar]: ...

    @abstractmethod
    def env_set(self, environment: str, key: str, value: str, *, secret: bool = False) -> EnvVar: ...

    @abstractmethod
    def env_unset(self, environment: str, key: str) -> None: ...

    def platform_environment(self, environment: str) -> str:
        """The platform's own name for our ``environment``."""
        return environment

    def mapping_note(self, environment: str) -> str | None:
        """A sentence to show when ``environment`` shares its values with another one here."""
        return None

    def check_env_value(self, environment: str, key: str, value: str, *, secret: bool = False) -> None:
        """Raise what the platform would refuse (a name, a size, a secret where none is kept) before
        anything is sent, so a push of several variables changes all of them or none."""
        return None


class Secrets(ABC):
    """Write-only secrets set together (the platform never reveals a value)."""

    name: ClassVar[str]

    @abstractmethod
    def set_secrets(self, environment: str, values: Mapping[str, str]) -> list[EnvVar]: ...


class Channels(ABC):
    """Named, expiring preview channels."""

    name: ClassVar[str]

    @abstractmethod
    def list_channels(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def delete_channel(self, name: str) -> None: ...


class Functions(ABC):
    """Server functions deployed apart from the site."""

    name: ClassVar[str]

    @abstractmethod
    def local_functions(self) -> list[str]: ...

    @abstractmethod
    def deploy_functions(self, names: list[str] | None = None, environment: str = "production", *,
                         dry_run: bool = False) -> list[dict[str, Any]]: ...

    @abstractmethod
    def list_functions(self, environment: str = "production") -> list[dict[str, Any]]: ...

    @abstractmethod
    def delete_function(self, slug: str, environment: str = "production") -> None: ...


class Traffic(ABC):
    """Split production traffic between deployments (canary)."""

    name: ClassVar[str]

    @abstractmethod
    def set_traffic(self, weights: dict[str, int]) -> None:
        """Weights sum to 100; an empty mapping ends the split."""

    @abstractmethod
    def traffic(self) -> dict[str, int] | None:
        """The current split, or None when production takes all traffic."""


class Environments(ABC):
    """Our environments as the platform's own targets (docs/environments.md): which deployment each
    one serves, and pointing one at a deployment that already exists (nothing rebuilt)."""

    name: ClassVar[str]

    @abstractmethod
    def environment_deployment(self, environment: str) -> Deployment | None:
        """The deployment ``environment`` serves now, or None when nothing was deployed to it."""

    def can_assign(self, environment: str) -> bool:
        """Whether ``assign`` can point ``environment`` at an existing deployment here (only reads)."""
        return True

    @abstractmethod
    def assign(self, environment: str, deployment_id: str) -> Deployment:
        """Make ``environment`` serve ``deployment_id``: that same deployment (the result has its id) or,
        where the platform only allows it so, a new deployment of the same files (another id, and
        ``extra["from_deployment"]``). ``NotSupported`` when the platform cannot point ``environment``
        at an existing deployment; the caller then re-uploads the same snapshot."""


CAPABILITIES: dict[str, type[ABC]] = {
    "hosting": Hosting, "env": EnvStore, "secrets": Secrets, "channels": Channels, "functions": Functions,
    "traffic": Traffic, "environments": Environments,
}
_WHERE: dict[type, str] = {
    Hosting: "Sites are hosted on local, vercel, netlify and firebase (--platform NAME); Supabase runs the "
             "backend: `moai-adk functions deploy` and `moai-adk db push`.",
    EnvStore: "Environment variables live on local, vercel, netlify and supabase (--platform).",
    Secrets: "Write-only secrets are Supabase's (--platform supabase).",
    Channels: "Preview channels are Firebase Hosting's (--platform firebase).",
    Functions: "Edge functions are Supabase's (--platform supabase).",
    Traffic: "Canary traffic splits run on the local platform (--platform local).",
    Environments: "Environments map to local, vercel, netlify and firebase targets (--platform NAME).",
}
C = TypeVar("C")


def capabilities_of(provider: Provider | type[Provider]) -> list[str]:
    """The names of the capabilities a provider (or provider class) has, sorted."""
    cls = provider if isinstance(provider, type) else type(provider)
    return sorted(name for name, cap in CAPABILITIES.items() if issubclass(cls, cap))


def require(provider: Provider, capability: type[C], what: str) -> C:
    """``provider`` as ``capability``, or ``NotSupported`` naming where ``what`` is available."""
    if isinstance(provider, capability):
        return provider
    raise NotSupported(f"The {provider.name} platform has no {what}.",
                       hint=_WHERE.get(capability, "Run `moai-adk status` to see what each platform supports."))
