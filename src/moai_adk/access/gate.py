"""The CLI's check before a change is sent: the role matrix of ``moai_adk.roles`` applied to

* the local platform: the token's own grant, from ``GET /_api/v1/whoami`` (the platform checks the
  same again on its side; refusing here only saves the upload and says so in the same words);
* a cloud platform: the project's policy (``policy.py``); with no policy everything is allowed.

``gate`` is called once, where a command opens the provider for the environment it changes
(``cli/options.open_provider(..., change=...)``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import AccessDenied, MoaiError, PlatformUnavailable
from ..providers.base import Provider
from ..roles import CHANGE, Grant, refusal
from . import policy

# what a command does, in the words the platform's refusals use
WHAT = {"deploy": "create a deployment", "promote": "promote a deployment", "rollback": "roll back",
        "traffic": "split production traffic", "env": "change env vars"}


def grant_of(info: Mapping[str, Any]) -> Grant:
    """A ``whoami`` answer as a Grant (an older platform answers only ``role``: all sites, all environments)."""
    def scope(key: str) -> frozenset[str] | None:
        value = info.get(key)
        return frozenset(str(v) for v in value) if isinstance(value, list) else None

    expires = info.get("expires_at")
    when = time.mktime(time.strptime(str(expires), "%Y-%m-%dT%H:%M:%SZ")) - time.timezone if expires else None
    return Grant(name=str(info.get("name") or ""), role=str(info.get("role") or "viewer"), sites=scope("sites"),
                 environments=scope("environments"), expires_at=when, id=str(info.get("id") or ""))


def whoami(provider: Provider) -> dict[str, Any]:
    """The local platform's ``whoami`` for the provider's token."""
    from ..providers.local import LocalProvider

    assert isinstance(provider, LocalProvider)
    data = provider._json("GET", "/whoami")
    return dict(data) if isinstance(data, dict) else {}


def gate(provider: Provider, root: Path, environ: Mapping[str, str], environment: str | None, change: str) -> None:
    """AccessDenied (before anything is sent) when the caller may not ``change`` in ``environment``."""
    from ..providers.local import LocalProvider

    what = WHAT.get(change, change)
    if isinstance(provider, LocalProvider):
        try:
            grant = grant_of(whoami(provider))
        except PlatformUnavailable:
            return  # the command's own request says so, with its hint
        except MoaiError:
            return  # a refused or unknown token: the platform's answer to the change itself is clearer
        why = refusal(grant, CHANGE, what=what, site=provider.site, environment=environment)
        if why is not None:
            raise AccessDenied(f"The local platform at {provider.url} would refuse this: {why}. Nothing was sent.",
                               hint=f"Use a token with that role (an admin runs `moai-adk access grant <who> "
                                    f"deployer --env {environment or 'production'}`), set as MOAI_PLATFORM_TOKEN.")
        return
    who = policy.identity(root, environ)
    grants = policy.grants_for(root, who, provider.name)
    if grants is None:
        return  # no policy: a project of one person
    live = [g for g in grants if not g.expired()]
    reasons = [refusal(g, CHANGE, what=what, environment=environment) for g in live]
    if any(r is None for r in reasons):
        return
    why = next((r for r in reasons if r), None) or (
        f"{who!r} has no grant on {provider.name}" + (" that has not expired" if grants else ""))
    raise AccessDenied(f"The project's access policy ({policy.POLICY}) refuses this: {why}. Nothing was sent to "
                       f"{provider.name}.",
                       hint=f"Ask an admin of the project to run `moai-adk access grant {who} deployer --env "
                            f"{environment or 'production'} --platform {provider.name}`, or set MOAI_ACTOR if you "
                            "are someone else.")
