"""Netlify environment variables (``/accounts/{account_id}/env`` scoped by ``site_id``).

Requests follow Netlify's CLI (``netlify env:set``/``env:unset``):

* the ``{account_id}`` path parameter is the site's ``account_slug``;
* a new variable is sent with ``scopes``: every scope, or every scope but
  ``post-processing`` for a secret (Netlify does not allow secrets there);
  a replaced variable keeps the scopes it had;
* a secret value needs a deploy context: Netlify keeps the ``dev`` value of a
  secret readable, so a secret is never written to ``dev``, and when an
  ``all`` value is split into per-context values for a secret, ``dev`` is left
  empty;
* Netlify never reveals a secret's values (except ``dev``), so a secret is
  changed one value at a time and is never rebuilt from what a read returns.

Our environments map to contexts through ``NetlifyProvider.platform_environment`` (production,
deploy-preview, branch-deploy, dev).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import NotFoundError, ProviderError, UsageError
from .._http import ApiClient
from ..base import EnvVar

SCOPES = ("builds", "functions", "runtime", "post-processing")
SECRET_SCOPES = tuple(s for s in SCOPES if s != "post-processing")
# every context an ``all`` value stands for (Netlify's CLI: SUPPORTED_CONTEXTS without ``all``)
SPLIT_CONTEXTS = ("production", "deploy-preview", "branch-deploy", "dev", "dev-server")
DEV = "dev"


def check_secret_context(environment: str, context: str, key: str, secret: bool) -> None:
    """Netlify keeps no secret in its ``dev`` context: refuse before any request."""
    if secret and context == DEV:
        raise UsageError(
            f"Netlify cannot keep {key} secret in the {environment} environment: it is Netlify's `dev` "
            "context, whose values stay readable in the Netlify UI, API and CLI even for a secret variable. "
            "Nothing was changed.",
            hint=f"Set {key} without --secret for {environment}, or as a secret for production, preview "
                 "or staging.")


def scopes_for(item: dict[str, Any] | None, secret: bool) -> list[str]:
    """The scopes to send: the variable's own (the API answers ``post_processing``), else every scope."""
    have = [str(s).replace("_", "-") for s in (item or {}).get("scopes") or []]
    scopes = [s for s in SCOPES if s in have] or list(SCOPES)
    if secret:
        scopes = [s for s in scopes if s in SECRET_SCOPES] or list(SECRET_SCOPES)
    return scopes


def _values(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in item.get("values") or [] if isinstance(v, dict)]


def _has_all(item: dict[str, Any]) -> bool:
    return any(v.get("context") == "all" for v in _values(item))


class NetlifyEnv:
    def __init__(self, api: ApiClient, account_slug: str, site_id: str, resolve: Callable[[str], str]) -> None:
        self.api = api
        self.account_slug = account_slug
        self.site_id = site_id
        self.resolve = resolve

    @property
    def _params(self) -> dict[str, str]:
        return {"site_id": self.site_id}

    def _path(self, key: str | None = None) -> str:
        return f"/accounts/{self.account_slug}/env" + (f"/{key}" if key else "")

    def _get(self, key: str) -> dict[str, Any] | None:
        response = self.api.request("GET", self._path(key), params=self._params, expect={404})
        if response.status_code == 404:
            return None
        data = self.api.decode(response)
        return data if isinstance(data, dict) else None

    @staticmethod
    def _value_for(item: dict[str, Any], context: str) -> tuple[bool, str | None]:
        """(has a value for context, the value or None when hidden)."""
        for wanted in (context, "all"):
            for v in _values(item):
                if v.get("context") == wanted:
                    value = v.get("value")
                    return True, value if isinstance(value, str) else None
        return False, None

    def list_vars(self, environment: str) -> list[EnvVar]:
        context = self.resolve(environment)
        data = self.api.json("GET", self._path(), params={**self._params, "context_name": context})
        out = []
        for item in data or []:
            if not isinstance(item, dict):
                continue
            present, value = self._value_for(item, context)
            if present:
                out.append(EnvVar(str(item["key"]), value, [environment], bool(item.get("is_secret"))))
        return sorted(out, key=lambda v: v.key)

    # -- set -----------------------------------------------------------------
    def set_var(self, environment: str, key: str, value: str, *, secret: bool) -> EnvVar:
        context = self.resolve(environment)
        check_secret_context(environment, context, key, secret)
        item = self._get(key)
        if item is None:
            body = {"key": key, "scopes": scopes_for(None, secret), "values": [{"context": context, "value": value}],
                    "is_secret": secret}
            self.api.json("POST", self._path(), params=self._params, json=[body])
            return EnvVar(key, None if secret else value, [environment], secret)
        was_secret = bool(item.get("is_secret"))
        if was_secret and not secret and context != DEV:
            raise UsageError(
                f"{key} is a secret variable on Netlify: its values cannot be read back, so it cannot become a "
                "plain variable without losing the values of its other deploy contexts. Nothing was changed.",
                hint=f"Set it with --secret, or remove it with `moai-adk env unset {key} --env {environment}` "
                     "(for each environment that has it) and set it again.")
        if was_secret or (not secret and not _has_all(item)):
            # one value changes (a secret's `dev` value is a readable, non-secret value)
            self.api.json("PATCH", self._path(key), params=self._params, json={"context": context, "value": value})
            return EnvVar(key, None if was_secret and context != DEV else value, [environment], was_secret)
        values = self._split(item, context, secret=secret) + [{"context": context, "value": value}]
        body = {"key": key, "scopes": scopes_for(item, secret), "values": values, "is_secret": secret}
        self.api.json("PUT", self._path(key), params=self._params, json=body)
        return EnvVar(key, None if secret else value, [environment], secret)

    @staticmethod
    def _split(item: dict[str, Any], context: str, *, secret: bool) -> list[dict[str, Any]]:
        """The (readable) item's values without ``context``; an ``all`` value becomes one value per
        other context, with ``dev`` left empty when the variable is (becoming) a secret."""
        out: list[dict[str, Any]] = []
        explicit = {v.get("context") for v in _values(item)}
        for v in _values(item):
            if v.get("context") == context:
                continue
            if v.get("context") == "all":
                for c in SPLIT_CONTEXTS:
                    if c != context and c not in explicit:
                        out.append({"context": c, "value": "" if secret and c == DEV else str(v.get("value", ""))})
                continue
            out.append({k: v[k] for k in ("context", "context_parameter", "value") if k in v})
        return out

    # -- unset ---------------------------------------------------------------
    def unset_var(self, environment: str, key: str) -> None:
        context = self.resolve(environment)
        item = self._get(key)
        if item is None or not self._value_for(item, context)[0]:
            raise NotFoundError(f"Netlify site {self.site_id} has no variable {key} for the {environment} environment.",
                                hint=f"Run `moai-adk env list --env {environment}` to see the variables it has.")
        secret = bool(item.get("is_secret"))
        exact = [v for v in _values(item) if v.get("context") == context]
        if not _has_all(item):
            if len(_values(item)) == len(exact):  # its only value: the variable goes
                self.api.request("DELETE", self._path(key), params=self._params)
                return
            for v in exact:
                self.api.request("DELETE", f"{self._path(key)}/value/{v.get('id')}", params=self._params)
            return
        if secret:  # its `all` value is hidden: it cannot be copied into the other contexts
            raise ProviderError(
                f"{key} is a secret holding one value for all of Netlify's deploy contexts; Netlify does not "
                f"reveal it, so moai-adk cannot keep it for the other contexts while removing {environment}. "
                "Nothing was changed.",
                hint=f"Set per-context values for {key} in the Netlify UI (Site configuration > Environment "
                     f"variables), or remove the whole variable there.")
        rest = self._split(item, context, secret=False)
        if not rest:
            self.api.request("DELETE", self._path(key), params=self._params)
            return
        self.api.json("PUT", self._path(key), params=self._params,
                      json={"key": key, "scopes": scopes_for(item, False), "values": rest, "is_secret": False})
