"""Supabase through its Management API: Edge Function secrets and Edge Functions.

Supabase hosts no static sites, so it is no ``Hosting`` provider: it has the ``EnvStore``,
``Secrets`` and ``Functions`` capabilities (``providers.capabilities``).
Routes come from ``supabase-management-openapi.json``.

    _client.py     the API client (``SUPABASE_ACCESS_TOKEN``) and the project ref
    secrets.py     ``/v1/projects/{ref}/secrets``: env vars of the project's edge functions
    functions.py   ``/v1/projects/{ref}/functions[/deploy|/{slug}]``: deploy, list, delete
    importmap.py   Deno import maps and the import walk that picks the files to upload

The project ref comes from the caller: ``ProviderContext.environments[<env>]
["supabase_project_ref"]`` (``[environments.<env>]`` of moai.toml), else ``settings["project_ref"]`` (``[platforms.supabase]``),
else ``supabase/.temp/project-ref`` (written by ``supabase link``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._http import ApiClient
from ..base import EnvVar, Provider, ProviderContext
from ..capabilities import EnvStore, Functions, Secrets
from . import _client
from ._client import API_URL_ENV, DEFAULT_API_URL, ENV_REF_KEY, REF_RE, SLUG_RE, TOKEN_ENV
from .functions import ENTRYPOINTS, FunctionPlan, SupabaseFunctions
from .secrets import RESERVED_PREFIX, SECRET_NAME_MAX, SECRET_VALUE_MAX, SupabaseSecrets, check_secret


class SupabaseProvider(Provider, EnvStore, Secrets, Functions):
    name = "supabase"
    credential_envs = (TOKEN_ENV,)

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._client: ApiClient | None = None
        self._secrets = SupabaseSecrets(lambda: self.client, self.project_ref)
        self._functions = SupabaseFunctions(ctx.root, lambda: self.client, self.project_ref)

    # -- plumbing -----------------------------------------------------------
    @property
    def client(self) -> ApiClient:
        if self._client is None:
            self._client = _client.make_client(self.ctx)
        return self._client

    def close(self) -> None:
        """Close the Management API's connections; the next call opens new ones."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def project_ref(self, environment: str | None = None) -> str:
        """The project ref for ``environment``, validated (20 lowercase letters)."""
        return _client.project_ref(self.ctx, environment)

    # -- secrets ----------------------------------------------------------------
    check_secret = staticmethod(check_secret)

    def env_list(self, environment: str) -> list[EnvVar]:
        return self._secrets.listed(environment)

    def check_env_value(self, environment: str, key: str, value: str, *, secret: bool = False) -> None:
        check_secret(key, value)

    def set_secrets(self, environment: str, values: Mapping[str, str]) -> list[EnvVar]:
        """Create or overwrite several secrets in one request (all names checked first)."""
        return self._secrets.set_many(environment, dict(values))

    def env_set(self, environment: str, key: str, value: str, *, secret: bool = False) -> EnvVar:
        return self._secrets.set_many(environment, {key: value})[0]

    def env_unset(self, environment: str, key: str) -> None:
        self._secrets.unset(environment, key)

    # -- edge functions -----------------------------------------------------------
    @property
    def functions_dir(self) -> Path:
        return self._functions.functions_dir

    def functions_config(self) -> dict[str, dict[str, Any]]:
        """``[functions.<name>]`` tables of supabase/config.toml (empty when absent)."""
        return self._functions.config()

    def local_functions(self) -> list[str]:
        """Function folders under supabase/functions (names that are valid slugs)."""
        return self._functions.local()

    def function_files(self, name: str) -> tuple[list[Path], list[str]]:
        """The files a deploy of ``name`` uploads, and warnings (imports of missing files)."""
        plan = self._functions.plan(name, self._functions.config().get(name))
        return plan.files, plan.warnings

    def deploy_functions(self, names: list[str] | None = None, environment: str = "production", *,
                         dry_run: bool = False) -> list[dict[str, Any]]:
        """Deploy edge functions (all local ones when ``names`` is None); one result per function.

        ``dry_run`` checks everything that needs no request and returns the plan (files, metadata)."""
        return self._functions.deploy(names, environment, dry_run=dry_run)

    def list_functions(self, environment: str = "production") -> list[dict[str, Any]]:
        return self._functions.listed(environment)

    def delete_function(self, slug: str, environment: str = "production") -> None:
        self._functions.delete(slug, environment)


__all__ = [
    "API_URL_ENV", "DEFAULT_API_URL", "ENTRYPOINTS", "ENV_REF_KEY", "REF_RE", "RESERVED_PREFIX",
    "SECRET_NAME_MAX", "SECRET_VALUE_MAX", "SLUG_RE", "TOKEN_ENV", "FunctionPlan", "SupabaseFunctions",
    "SupabaseProvider", "SupabaseSecrets", "check_secret",
]
