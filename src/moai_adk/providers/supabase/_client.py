"""The Management API client and the project ref, shared by secrets and functions.

The project ref is taken from what the caller passes in the ``ProviderContext``
(this module reads no moai.toml), in this order:

1. ``environments[<env>]["supabase_project_ref"]``: moai.toml's
   ``[environments.<env>] supabase_project_ref`` (``workspace.open_provider`` fills it);
2. ``settings["project_ref"]`` (moai.toml ``[platforms.supabase] project_ref``);
3. ``supabase/.temp/project-ref``, written by ``supabase link``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...errors import AuthError, ConfigError
from .._http import ApiClient
from ..base import ProviderContext

TOKEN_ENV = "SUPABASE_ACCESS_TOKEN"
API_URL_ENV = "MOAI_SUPABASE_API_URL"
DEFAULT_API_URL = "https://api.supabase.com"
REF_RE = re.compile(r"^[a-z]{20}$")
SLUG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
ENV_REF_KEY = "supabase_project_ref"
LINKED_REF_FILE = ("supabase", ".temp", "project-ref")


def make_client(ctx: ProviderContext) -> ApiClient:
    """An authenticated Management API client, or ``AuthError`` when no token is set."""
    token = ctx.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise AuthError(
            f"No Supabase access token: {TOKEN_ENV} is not set.",
            hint=f"Create a token at https://supabase.com/dashboard/account/tokens and export {TOKEN_ENV}=sbp_...",
        )
    return ApiClient(
        ctx.environ.get(API_URL_ENV) or DEFAULT_API_URL, label="Supabase Management", token=token,
        token_env=TOKEN_ENV, transport=ctx.transport, sleep=ctx.sleep,
        link_hint="Check supabase_project_ref in moai.toml: the project may be deleted or paused.",
    )


def _environment_ref(environments: Mapping[str, Any], environment: str | None) -> str | None:
    if not environment:
        return None
    entry = environments.get(environment)
    if not isinstance(entry, Mapping):
        return None
    ref = entry.get(ENV_REF_KEY)
    return str(ref) if ref else None


def project_ref(ctx: ProviderContext, environment: str | None = None) -> str:
    """The project ref for ``environment``, validated (20 lowercase letters)."""
    ref, source = _environment_ref(ctx.environments, environment), ""
    if ref is not None:
        source = f"moai.toml [environments.{environment}] {ENV_REF_KEY}"
    if ref is None and ctx.settings.get("project_ref"):
        ref, source = str(ctx.settings["project_ref"]), "moai.toml [platforms.supabase] project_ref"
    linked = ctx.root.joinpath(*LINKED_REF_FILE)
    if ref is None and linked.is_file():
        ref, source = linked.read_text(encoding="utf-8").strip(), str(linked)
    if ref is None:
        where = f"[environments.{environment}]" if environment else "[platforms.supabase]"
        raise ConfigError(
            f"No Supabase project ref for environment '{environment or '-'}'.",
            hint=f'Add `{ENV_REF_KEY} = "<ref>"` under {where} in moai.toml (the ref is the <ref> in '
                 "https://<ref>.supabase.co), or run `supabase link`.",
        )
    if not REF_RE.match(ref):
        raise ConfigError(
            f"Supabase project ref '{ref}' (from {source}) is not 20 lowercase letters.",
            hint="Copy the ref from your project's URL https://<ref>.supabase.co or its dashboard settings.",
        )
    return ref
