"""What every check set shares: the ``CheckSet`` base, the test site, the deploy targets."""

from __future__ import annotations

from typing import ClassVar

from moai_adk.providers.base import DeployTarget
from moai_adk.providers.capabilities import EnvStore, Hosting

from ..conftest import Harness

PROD = DeployTarget(environment="production", production=True)
PREVIEW = DeployTarget(environment="preview", branch="feature-x")


class CheckSet:
    """The contract of one capability protocol: each ``check_<name>(harness)`` method is one test,
    written against the protocol only; what differs between platforms comes from the ``Harness``."""

    capability: ClassVar[type]

    @classmethod
    def names(cls) -> list[str]:
        return sorted(n.removeprefix("check_") for n in dir(cls) if n.startswith("check_"))

    def run(self, name: str, h: Harness) -> None:
        getattr(self, "check_" + name)(h)


def site(h: Harness, version: int) -> dict[str, str | bytes]:
    """A small site; contents carry the test's own folder name so platforms that
    share content-addressed storage across tests (the local one) see new bytes."""
    tag = h.root.name
    return {"index.html": f"<h1>v{version} {tag}</h1>",
            "assets/app.css": f"body {{ color: red }} /* {tag} */",
            "about/index.html": f"<p>about {tag}</p>"}


def production_ids(p: Hosting) -> list[str]:
    return [d.id for d in p.list_deployments() if d.production]


def ready_for_env(p: EnvStore) -> None:
    """A hosting platform keeps variables on its project or site: link it first (as the CLI does)."""
    if isinstance(p, Hosting):
        p.link()
