"""Netlify environment variables (``/accounts/{account_id}/env`` scoped by ``site_id``).

A Netlify variable has one value per deploy context; our environments map to
contexts through ``moai_adk.envs`` (production, deploy-preview,
branch-deploy, dev). Secrets use ``is_secret``: Netlify then only reveals
values of the ``dev`` context, so the others list as ``value=None``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import NotFoundError
from .._http import ApiClient
from ..base import EnvVar

ALL_CONTEXTS = ("production", "deploy-preview", "branch-deploy", "dev")


class NetlifyEnv:
    def __init__(self, api: ApiClient, account_id: str, site_id: str, resolve: Callable[[str], str]) -> None:
        self.api = api
        self.account_id = account_id
        self.site_id = site_id
        self.resolve = resolve

    @property
    def _params(self) -> dict[str, str]:
        return {"site_id": self.site_id}

    def _get(self, key: str) -> dict[str, Any] | None:
        response = self.api.request("GET", f"/accounts/{self.account_id}/env/{key}", params=self._params, expect={404})
        if response.status_code == 404:
            return None
        data = self.api.decode(response)
        return data if isinstance(data, dict) else None

    @staticmethod
    def _value_for(item: dict[str, Any], context: str) -> tuple[bool, str | None]:
        """(has a value for context, the value or None when hidden)."""
        values = [v for v in item.get("values") or [] if isinstance(v, dict)]
        for wanted in (context, "all"):
            for v in values:
                if v.get("context") == wanted:
                    value = v.get("value")
                    return True, value if isinstance(value, str) else None
        return False, None

    def list_vars(self, environment: str) -> list[EnvVar]:
        context = self.resolve(environment)
        data = self.api.json("GET", f"/accounts/{self.account_id}/env",
                             params={**self._params, "context_name": context})
        out = []
        for item in data or []:
            if not isinstance(item, dict):
                continue
            present, value = self._value_for(item, context)
            if present:
                out.append(EnvVar(str(item["key"]), value, [environment], bool(item.get("is_secret"))))
        return sorted(out, key=lambda v: v.key)

    def set_var(self, environment: str, key: str, value: str, *, secret: bool) -> EnvVar:
        context = self.resolve(environment)
        item = self._get(key)
        path = f"/accounts/{self.account_id}/env/{key}"
        if item is None:
            self.api.json("POST", f"/accounts/{self.account_id}/env", params=self._params,
                          json=[{"key": key, "values": [{"value": value, "context": context}], "is_secret": secret}])
        elif bool(item.get("is_secret")) == secret and not self._has_all(item):
            self.api.json("PATCH", path, params=self._params, json={"context": context, "value": value})
        else:
            values = self._split_all(item, context)
            values.append({"value": value, "context": context})
            self.api.json("PUT", path, params=self._params, json={"key": key, "values": values, "is_secret": secret})
        return EnvVar(key, None if secret and context != "dev" else value, [environment], secret)

    @staticmethod
    def _has_all(item: dict[str, Any]) -> bool:
        return any(v.get("context") == "all" for v in item.get("values") or [])

    @staticmethod
    def _split_all(item: dict[str, Any], context: str) -> list[dict[str, Any]]:
        """The item's values without ``context``; an ``all`` value becomes one value per other context."""
        out: list[dict[str, Any]] = []
        for v in item.get("values") or []:
            if v.get("context") == context:
                continue
            if v.get("context") == "all":
                out.extend({"value": v.get("value", ""), "context": c} for c in ALL_CONTEXTS if c != context)
                continue
            out.append({k: v[k] for k in ("value", "context", "context_parameter") if k in v})
        return out

    def unset_var(self, environment: str, key: str) -> None:
        context = self.resolve(environment)
        item = self._get(key)
        present = item is not None and self._value_for(item, context)[0]
        if item is None or not present:
            raise NotFoundError(f"Netlify site {self.site_id} has no variable {key} for the {environment} environment.",
                                hint=f"Run `moai-adk env list --env {environment}` to see the variables it has.")
        path = f"/accounts/{self.account_id}/env/{key}"
        rest = self._split_all(item, context)
        exact = next((v for v in item.get("values") or [] if v.get("context") == context and v.get("id")), None)
        if not rest:
            self.api.request("DELETE", path, params=self._params)
        elif exact is not None and not self._has_all(item):
            self.api.request("DELETE", f"{path}/value/{exact['id']}", params=self._params)
        else:  # the value comes from an "all" value: keep it for every other context
            self.api.json("PUT", path, params=self._params,
                          json={"key": key, "values": rest, "is_secret": bool(item.get("is_secret"))})
