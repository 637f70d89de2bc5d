"""Thin client of the Firebase Hosting REST API (v1beta1) over ``ApiClient``.

One method per API call moai-adk makes; resource names use the
``projects/-/sites/{site}`` form. Each request carries the credential's
current access token (renewed shortly before it expires); a 401 gets one
fresh token and one retry; any other auth failure becomes an ``AuthError``
naming the credential's source.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from ...errors import AuthError, DeployFailed, NotFoundError
from .._http import ApiClient, poll_until
from .auth import Credential

API_VERSION = "v1beta1"
OPERATION_TIMEOUT = 600.0


class HostingApi:
    def __init__(self, base_url: str, site: str, credential: Credential, *,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] | None = None) -> None:
        self.site = site
        self.credential = credential
        self.sleep = sleep or time.sleep
        self.client = ApiClient(
            base_url, label="Firebase Hosting", token_env=credential.source,
            transport=transport, sleep=sleep,
            link_hint=f"Check that the site '{site}' exists in your Firebase project ([platforms.firebase] site in moai.toml).",
        )
        self.site_path = f"/{API_VERSION}/projects/-/sites/{site}"

    @property
    def request_count(self) -> int:
        return self.client.request_count

    def close(self) -> None:
        self.client.close()

    # -- plumbing -------------------------------------------------------
    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> httpx.Response:
        sent = self.credential.current()
        try:
            return self.client.request(method, url, headers={**(headers or {}), "Authorization": f"Bearer {sent}"},
                                       **kwargs)
        except AuthError as exc:
            if exc.status == 401 and self.credential.refresher is not None:
                fresh = self.credential.refresh(sent)
                try:
                    return self.client.request(method, url, headers={**(headers or {}),
                                                                     "Authorization": f"Bearer {fresh}"}, **kwargs)
                except AuthError as again:
                    exc = again
            raise self._auth_error(exc, method, url) from exc

    def _auth_error(self, exc: AuthError, method: str, url: str) -> AuthError:
        what = "was refused (expired, revoked or wrong)" if exc.status == 401 else "lacks permission"
        return AuthError(
            f"Firebase Hosting: {self.credential.description} {what} for {method} {url.split('?')[0]} "
            f"on site '{self.site}' ({exc.message}).",
            hint=(f"Set {self.credential.source} to a valid credential of an account with the Firebase Hosting "
                  "Admin role on this project."),
            status=exc.status,
        )

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.client.decode(self.request(method, url, **kwargs))

    def version_name(self, version_id: str) -> str:
        return f"sites/{self.site}/versions/{version_id}"

    # -- versions -------------------------------------------------------
    def create_version(self, labels: dict[str, str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "CREATED"}
        if labels:
            body["labels"] = labels
        return dict(self.json("POST", f"{self.site_path}/versions", json=body))

    def populate_files(self, version_id: str, files: dict[str, str]) -> dict[str, Any]:
        return dict(self.json("POST", f"{self.site_path}/versions/{version_id}:populateFiles", json={"files": files}) or {})

    def upload(self, upload_url: str, file_hash: str, gzipped: bytes) -> None:
        self.request("POST", f"{upload_url.rstrip('/')}/{file_hash}", content=gzipped,
                     headers={"Content-Type": "application/octet-stream"})

    def finalize(self, version_id: str, config: dict[str, Any]) -> dict[str, Any]:
        return dict(self.json("PATCH", f"{self.site_path}/versions/{version_id}",
                              params={"updateMask": "status,config"},
                              json={"status": "FINALIZED", "config": config}))

    def get_version(self, version_id: str) -> dict[str, Any]:
        return dict(self.json("GET", f"{self.site_path}/versions/{version_id}"))

    def list_versions(self, limit: int) -> list[dict[str, Any]]:
        return self._paged(f"{self.site_path}/versions", "versions", limit)

    def clone_version(self, source_version: str) -> dict[str, Any]:
        """Copy a version (possibly of another site) into this site, finalized."""
        op = self.json("POST", f"{self.site_path}/versions:clone",
                       json={"sourceVersion": source_version, "finalize": True})
        return self.wait_operation(op)

    def wait_operation(self, op: dict[str, Any]) -> dict[str, Any]:
        """Poll a long-running operation (``GET /v1beta1/{name}``) until ``done``; its ``response``."""
        name = op.get("name", "?")
        if not op.get("done"):
            op = poll_until(lambda: self.json("GET", f"/{API_VERSION}/{name}"), lambda o: bool(o.get("done")),
                            what=f"Firebase Hosting operation {name}", interval=0.5, timeout=OPERATION_TIMEOUT,
                            sleep=self.sleep)
        if op.get("error"):
            err = op["error"]
            raise DeployFailed(f"Firebase Hosting operation {name} failed: {err.get('message', err)}.",
                               hint="Re-run the command; if it keeps failing, check the source version still exists.")
        return dict(op.get("response") or {})

    # -- channels and releases -------------------------------------------
    def get_channel(self, channel: str) -> dict[str, Any] | None:
        try:
            return dict(self.json("GET", f"{self.site_path}/channels/{channel}"))
        except NotFoundError:
            return None

    def create_channel(self, channel: str, ttl: str) -> dict[str, Any]:
        return dict(self.json("POST", f"{self.site_path}/channels", params={"channelId": channel}, json={"ttl": ttl}))

    def set_channel_ttl(self, channel: str, ttl: str) -> dict[str, Any]:
        return dict(self.json("PATCH", f"{self.site_path}/channels/{channel}", params={"updateMask": "ttl"},
                              json={"ttl": ttl}))

    def list_channels(self) -> list[dict[str, Any]]:
        return self._paged(f"{self.site_path}/channels", "channels", 10_000)

    def delete_channel(self, channel: str) -> None:
        self.request("DELETE", f"{self.site_path}/channels/{channel}")

    def release(self, channel: str, version_name: str, message: str | None = None) -> dict[str, Any]:
        body = {"message": message[:512]} if message else None
        return dict(self.json("POST", f"{self.site_path}/channels/{channel}/releases",
                              params={"versionName": version_name}, json=body))

    def list_releases(self, channel: str, limit: int) -> list[dict[str, Any]]:
        return self._paged(f"{self.site_path}/channels/{channel}/releases", "releases", limit)

    # -- sites -----------------------------------------------------------
    def get_site(self) -> dict[str, Any] | None:
        try:
            return dict(self.json("GET", self.site_path))
        except NotFoundError:
            return None

    def create_site(self, project: str) -> dict[str, Any]:
        return dict(self.json("POST", f"/{API_VERSION}/projects/{quote(project)}/sites", params={"siteId": self.site}, json={}))

    def _paged(self, url: str, key: str, limit: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = ""
        while len(out) < limit:
            params: dict[str, Any] = {"pageSize": min(100, max(1, limit - len(out)))}
            if token:
                params["pageToken"] = token
            page = self.json("GET", url, params=params) or {}
            out.extend(page.get(key, []))
            token = page.get("nextPageToken", "")
            if not token:
                break
        return out[:limit]
