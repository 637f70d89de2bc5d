"""Rewrites to Cloud Functions: which function a ``function`` rewrite means, and how Hosting must name it.

firebase-tools looks up the project's functions before it finalizes a version:
a 2nd-gen function runs on Cloud Run, so its rewrite is sent as
``run: {serviceId, region}`` (the Cloud Run service behind the function, the
last segment of ``serviceConfig.service``); a 1st-gen function stays
``function`` + ``functionRegion`` (the region it is deployed in). The lookup is
one listing of the Cloud Functions v2 API
(``GET /v2/projects/{project}/locations/-/functions``, paged), which returns
functions of both generations with their ``environment``.

Choosing among functions of one id follows firebase-tools: one function with
that id is used unless the rewrite names another region (an error); several
regions and no ``region`` in the rewrite pick ``us-central1`` or fail. When
the listing is refused (no permission, API not enabled) or the id is not
found, the rewrite is sent in the ``function`` form, as firebase-tools does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ...errors import AuthError, ConfigError, NotFoundError
from .._http import ApiClient
from .auth import Credential

FUNCTIONS_URL_ENV = "MOAI_FIREBASE_FUNCTIONS_URL"
DEFAULT_FUNCTIONS_URL = "https://cloudfunctions.googleapis.com"
DEFAULT_REGION = "us-central1"


@dataclass(frozen=True)
class Endpoint:
    """One deployed function: ``projects/{p}/locations/{region}/functions/{id}``."""

    id: str
    region: str
    gen2: bool
    service_id: str  # the Cloud Run service (2nd gen)


def endpoint_of(fn: dict[str, Any]) -> Endpoint | None:
    parts = str(fn.get("name", "")).split("/")
    if len(parts) != 6 or parts[2] != "locations" or parts[4] != "functions":
        return None
    service = str((fn.get("serviceConfig") or {}).get("service") or "")
    return Endpoint(id=parts[5], region=parts[3], gen2=fn.get("environment") == "GEN_2",
                    service_id=service.rsplit("/", 1)[-1] if service else parts[5])


def list_functions(base_url: str, project: str, credential: Credential, *,
                   transport: httpx.BaseTransport | None = None,
                   sleep: Callable[[float], None] | None = None) -> list[Endpoint] | None:
    """Every function of ``project`` in every region; None when the listing is refused."""
    out: list[Endpoint] = []
    with ApiClient(base_url, label="Cloud Functions", token_env=credential.source, transport=transport,
                   sleep=sleep) as client:
        token = ""
        while True:
            params = {"pageToken": token} if token else {}
            try:
                page = client.json("GET", f"/v2/projects/{project}/locations/-/functions", params=params,
                                   headers={"Authorization": f"Bearer {credential.current()}"}) or {}
            except (AuthError, NotFoundError):
                return None
            out.extend(e for e in map(endpoint_of, page.get("functions") or []) if e is not None)
            token = page.get("nextPageToken") or ""
            if not token:
                return out


def find_endpoint(endpoints: list[Endpoint], fid: str, region: str | None, where: str) -> Endpoint | None:
    """The function a rewrite means (None: not found, send the ``function`` form)."""
    same = [e for e in endpoints if e.id == fid]
    if not same:
        return None
    if len(same) == 1 and (not region or region == same[0].region):
        return same[0]
    if len(same) > 1 and not region:
        us = [e for e in same if e.region == DEFAULT_REGION]
        if us:
            return us[0]
        regions = ", ".join(sorted(e.region for e in same))
        raise ConfigError(f"firebase.json: `{where}` names function '{fid}', which is deployed in several "
                          f"regions ({regions}) and none is {DEFAULT_REGION}.",
                          hint=f'Add "region" to the rewrite\'s function: {{"functionId": "{fid}", "region": "<region>"}}.')
    match = [e for e in same if e.region == region]
    if match:
        return match[0]
    regions = ", ".join(sorted(e.region for e in same))
    raise ConfigError(f"firebase.json: `{where}` names function '{fid}' in region {region}, but it is deployed "
                      f"in {regions}.", hint=f"Set the rewrite's region to one of: {regions}.")


class RewriteResolver:
    """Turns a ``function`` rewrite into what Hosting expects, listing functions once, on first use."""

    def __init__(self, lister: Callable[[], list[Endpoint] | None]) -> None:
        self._lister = lister
        self._endpoints: list[Endpoint] | None = None
        self._listed = False
        self.looked_up = False  # the listing answered (False: refused or never needed)

    def __call__(self, fid: str, region: str | None, where: str) -> dict[str, Any]:
        if not self._listed:
            self._endpoints = self._lister()
            self._listed = True
            self.looked_up = self._endpoints is not None
        found = find_endpoint(self._endpoints or [], fid, region, where)
        if found is None:
            return {"function": fid, **({"functionRegion": region} if region else {})}
        if found.gen2:
            return {"run": {"serviceId": found.service_id, "region": found.region}}
        return {"function": found.id, "functionRegion": found.region}
