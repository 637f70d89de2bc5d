"""The provider conformance suite: one set of checks per capability protocol
(``providers.capabilities``), run on every platform that has that capability.

=====================  ==========================================================
``HostingChecks``      link, deploy (never live by itself), progress, digest
                       redeploys, promote, rollback, listing newest first
``EnvStoreChecks``     set/list/unset per environment, isolation, hidden secrets,
                       environment names, refusals before sending
``SecretsChecks``      one request for many secrets, values never listed
``ChannelsChecks``     a preview appears as a channel and can be deleted; ``live`` cannot
``FunctionsChecks``    dry runs send nothing; deploy, list, delete
``TrafficChecks``      set, read and clear a split; bad weights refused
``EnvironmentsChecks`` what an environment serves; production takes a staged artifact
=====================  ==========================================================

Checks use the protocols only; what differs between platforms is data on the
``Harness`` (tests/providers/conftest.py). ``test_conformance.py`` runs each
platform through the check sets of exactly the capabilities it has. A new
capability needs a ``CheckSet`` here (the suite fails until it has one); a
new platform needs a harness fixture of its name in conftest.py.
"""

from __future__ import annotations

from .backend import ChannelsChecks, FunctionsChecks, TrafficChecks
from .base import CheckSet
from .env import EnvStoreChecks, SecretsChecks
from .environments import EnvironmentsChecks
from .hosting import HostingChecks

CHECK_SETS: tuple[type[CheckSet], ...] = (HostingChecks, EnvStoreChecks, SecretsChecks, ChannelsChecks,
                                          FunctionsChecks, TrafficChecks, EnvironmentsChecks)

__all__ = ["CHECK_SETS", "ChannelsChecks", "CheckSet", "EnvStoreChecks", "EnvironmentsChecks", "FunctionsChecks", "HostingChecks",
           "SecretsChecks", "TrafficChecks"]
