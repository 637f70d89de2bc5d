"""Vercel project environment variables (``/v10/projects/{id}/env`` and friends).

Our environments map to Vercel targets through ``moai_adk.envs``
(``staging`` shares ``preview`` unless ``[platforms.vercel]
custom_environments`` names a custom environment id). Secrets are created
with type ``sensitive`` (write-only: Vercel never returns their value, so a
listing reports ``value=None``). Vercel does not allow ``sensitive`` on the
``development`` target; there the value is stored ``encrypted``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import NotFoundError
from .._http import ApiClient, run_concurrently
from ..base import EnvVar

UNREADABLE_TYPES = frozenset({"sensitive", "secret"})


class VercelEnv:
    def __init__(self, api: ApiClient, project_id: str, resolve: Callable[[str], str]) -> None:
        self.api = api
        self.project_id = project_id
        self.resolve = resolve  # our environment name -> "production" | "preview" | "development" | "custom:<id>"

    # -- helpers ---------------------------------------------------------
    def _scope(self, environment: str) -> tuple[str | None, str | None]:
        """(target, custom environment id) for ``environment``."""
        mapped = self.resolve(environment)
        if mapped.startswith("custom:"):
            return None, mapped[len("custom:"):]
        return mapped, None

    def _all(self, custom_id: str | None) -> list[dict[str, Any]]:
        params = {"customEnvironmentId": custom_id} if custom_id else {}
        data = self.api.json("GET", f"/v10/projects/{self.project_id}/env", params=params)
        envs = data.get("envs", []) if isinstance(data, dict) else data
        return [e for e in envs or [] if isinstance(e, dict)]

    def _matching(self, environment: str) -> list[dict[str, Any]]:
        target, custom_id = self._scope(environment)
        out = []
        for e in self._all(custom_id):
            if custom_id:
                if custom_id in (e.get("customEnvironmentIds") or []):
                    out.append(e)
            elif target in (e.get("target") or []) and not e.get("gitBranch"):
                out.append(e)
        return out

    def _reveal(self, item: dict[str, Any]) -> str | None:
        if item.get("type") in UNREADABLE_TYPES:
            return None
        data = self.api.json("GET", f"/v1/projects/{self.project_id}/env/{item['id']}")
        if not isinstance(data, dict) or data.get("type") in UNREADABLE_TYPES:
            return None
        value = data.get("value")
        return value if isinstance(value, str) and data.get("decrypted", True) is not False else None

    # -- API -------------------------------------------------------------
    def list_vars(self, environment: str) -> list[EnvVar]:
        items = self._matching(environment)
        values = run_concurrently(items, lambda it: (it, self._reveal(it)), concurrency=8,
                                  throttled=self.api.throttled)
        out = [EnvVar(key=str(it["key"]), value=value, environments=[environment],
                      secret=it.get("type") in UNREADABLE_TYPES, id=str(it.get("id")))
               for it, value in values]
        return sorted(out, key=lambda v: v.key)

    def set_var(self, environment: str, key: str, value: str, *, secret: bool) -> EnvVar:
        target, custom_id = self._scope(environment)
        kind = "sensitive" if secret and target != "development" else "encrypted"
        existing = [e for e in self._matching(environment) if e.get("key") == key]
        base = f"/v10/projects/{self.project_id}/env"
        if existing:
            item = existing[0]
            targets = list(item.get("target") or [])
            if custom_id or targets == [target]:
                if item.get("type") == kind:
                    self.api.json("PATCH", f"/v9/projects/{self.project_id}/env/{item['id']}",
                                  json={"value": value, "type": kind})
                    return EnvVar(key, None if secret else value, [environment], secret, str(item["id"]))
                # a type change (e.g. to sensitive) needs a new variable
                self.api.json("DELETE", f"/v9/projects/{self.project_id}/env/{item['id']}")
            else:
                # shared with other targets: take ours out of it, then create our own
                self.api.json("PATCH", f"/v9/projects/{self.project_id}/env/{item['id']}",
                              json={"target": [t for t in targets if t != target]})
        body: dict[str, Any] = {"key": key, "value": value, "type": kind}
        if custom_id:
            body["customEnvironmentIds"] = [custom_id]
        else:
            body["target"] = [target]
        created = self.api.json("POST", base, json=body)
        new_id = None
        if isinstance(created, dict):
            got = created.get("created", created)
            if isinstance(got, list):
                got = got[0] if got else {}
            if isinstance(got, dict):
                new_id = got.get("id")
        return EnvVar(key, None if secret else value, [environment], secret, str(new_id) if new_id else None)

    def unset_var(self, environment: str, key: str) -> None:
        target, custom_id = self._scope(environment)
        existing = [e for e in self._matching(environment) if e.get("key") == key]
        if not existing:
            raise NotFoundError(
                f"Vercel project {self.project_id} has no variable {key} for the {environment} environment.",
                hint=f"Run `moai-adk env list --env {environment}` to see the variables it has.",
            )
        for item in existing:
            targets = list(item.get("target") or [])
            if custom_id or targets == [target]:
                self.api.json("DELETE", f"/v9/projects/{self.project_id}/env/{item['id']}")
            else:
                self.api.json("PATCH", f"/v9/projects/{self.project_id}/env/{item['id']}",
                              json={"target": [t for t in targets if t != target]})
