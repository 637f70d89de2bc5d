"""Access control: who may change what, per environment (see docs/access.md).

* ``gate``: the CLI's check before a change is sent (local platform: the token's grant from
  ``whoami``; cloud platforms: the project's policy ``.moai/access.json``);
* ``grant``, ``listing``, ``revoke``: ``moai-adk access grant|list|revoke``;
* the role matrix itself is ``moai_adk.roles`` (shared with the local platform's API).
"""

from __future__ import annotations

from .gate import gate, grant_of, whoami
from .policy import ACTOR_ENV, POLICY, identity
from .service import expiry, grant, listing, revoke

__all__ = ["ACTOR_ENV", "POLICY", "expiry", "gate", "grant", "grant_of", "identity", "listing", "revoke", "whoami"]
