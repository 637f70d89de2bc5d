"""Edge Function secrets: ``GET|POST|DELETE /v1/projects/{ref}/secrets``.

The API only ever returns digests, so listed values are ``None`` and every
variable is secret. Names and sizes are checked before any request.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...errors import NotFoundError, UsageError
from .._http import ApiClient
from ..base import EnvVar

SECRET_VALUE_MAX = 24_576
SECRET_NAME_MAX = 256
RESERVED_PREFIX = "SUPABASE_"


def check_secret(key: str, value: str | None = None) -> None:
    """``UsageError`` for a name Supabase refuses or reserves, or a value over its size limit."""
    if not key or len(key) > SECRET_NAME_MAX or re.search(r"[\s=]", key):
        raise UsageError(f"'{key}' is not a usable secret name.",
                         hint=f"Use letters, digits and '_' (at most {SECRET_NAME_MAX} characters), e.g. STRIPE_KEY.")
    if key.startswith(RESERVED_PREFIX):
        raise UsageError(f"Secret names starting with {RESERVED_PREFIX} are reserved by Supabase ('{key}').",
                         hint=f"Rename it, e.g. MY_{key[len(RESERVED_PREFIX):]}; Supabase sets the "
                              f"{RESERVED_PREFIX}* values itself.")
    if value is not None and len(value) > SECRET_VALUE_MAX:
        raise UsageError(f"The value of {key} is {len(value):,} characters; Supabase accepts at most "
                         f"{SECRET_VALUE_MAX:,}.",
                         hint="Store large values elsewhere (Supabase Storage or Vault) and keep a reference in "
                              "the secret.")


class SupabaseSecrets:
    """The secrets of the project each environment maps to."""

    def __init__(self, client: Callable[[], ApiClient], ref: Callable[[str], str]) -> None:
        self._client = client
        self._ref = ref

    def listed(self, environment: str) -> list[EnvVar]:
        ref = self._ref(environment)
        rows = self._client().json("GET", f"/v1/projects/{ref}/secrets") or []
        return sorted((EnvVar(key=r["name"], value=None, environments=[environment], secret=True) for r in rows),
                      key=lambda v: v.key)

    def set_many(self, environment: str, values: dict[str, str]) -> list[EnvVar]:
        """Create or overwrite several secrets in one request (all names checked first)."""
        for key, value in values.items():
            check_secret(key, value)
        ref = self._ref(environment)
        self._client().request("POST", f"/v1/projects/{ref}/secrets",
                               json=[{"name": k, "value": v} for k, v in values.items()])
        return [EnvVar(key=k, value=None, environments=[environment], secret=True) for k in values]

    def unset(self, environment: str, key: str) -> None:
        ref = self._ref(environment)
        if key not in {v.key for v in self.listed(environment)}:
            raise NotFoundError(f"Supabase project {ref} has no secret named {key}.",
                                hint=f"List them with `moai-adk env list --env {environment} --platform supabase`.")
        self._client().request("DELETE", f"/v1/projects/{ref}/secrets", json=[key])
