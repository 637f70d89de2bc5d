"""The Google APIs behind a Firebase backend, called as the Firebase CLI calls them.

    Firebase Rules v1      projects:test, rulesets create/get, releases list/create/patch
                           (releases ``cloud.firestore`` and ``firebase.storage/<bucket>``)
    Firestore Admin v1     collectionGroups/-/indexes list, indexes create/delete, fields list/patch
    Identity Toolkit v2    projects/<p>/config get / update (updateMask authorizedDomains)
    Firebase Management    webApps list, webApps/<app>/config

Each API has a base-URL override for tests (``MOAI_FIREBASE_RULES_URL``, ``MOAI_FIRESTORE_URL``,
``MOAI_IDENTITYTOOLKIT_URL``, ``MOAI_FIREBASE_MANAGEMENT_URL``). Credentials are the Hosting adapter's
(``providers/firebase/auth.py``: a service-account key or ``FIREBASE_TOKEN``). A 403 becomes an
``AuthError`` naming the project and the IAM permission Google says is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from ..errors import AuthError, MoaiError
from ..providers._http import ApiClient
from ..providers.firebase.auth import Credential

DEFAULT_DATABASE = "(default)"
FIELDS_FILTER = "indexConfig.usesAncestorConfig:false OR ttlConfig:*"  # what firebase-tools lists
APIS: dict[str, tuple[str, str, str]] = {  # key -> (override env var, default base URL, label)
    "rules": ("MOAI_FIREBASE_RULES_URL", "https://firebaserules.googleapis.com", "Firebase Rules"),
    "firestore": ("MOAI_FIRESTORE_URL", "https://firestore.googleapis.com", "Firestore Admin"),
    "auth": ("MOAI_IDENTITYTOOLKIT_URL", "https://identitytoolkit.googleapis.com", "Identity Toolkit"),
    "management": ("MOAI_FIREBASE_MANAGEMENT_URL", "https://firebase.googleapis.com", "Firebase Management"),
}


class FirebaseApis:
    """One client per API for one project; ``request_count`` sums their requests."""

    def __init__(self, project: str, credential: Credential, environ: Mapping[str, str],
                 transport: httpx.BaseTransport | None = None) -> None:
        self.project = project
        self.credential = credential
        self.clients = {key: ApiClient(environ.get(env) or default, label=label, token_env=credential.source,
                                       transport=transport, max_retries=4)
                        for key, (env, default, label) in APIS.items()}

    @property
    def request_count(self) -> int:
        return sum(c.request_count for c in self.clients.values())

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def call(self, api: str, method: str, url: str, *, what: str, expect: set[int] | None = None,
             **kwargs: Any) -> Any:
        """One request; ``what`` says what it does, for errors ("read the Firestore indexes")."""
        client = self.clients[api]
        headers = {"Authorization": f"Bearer {self.credential.current()}"}
        try:
            response = client.request(method, url, headers=headers, expect=expect, **kwargs)
        except AuthError as exc:
            if exc.status == 401 and self.credential.refresher is not None:
                headers = {"Authorization": f"Bearer {self.credential.refresh(headers['Authorization'][7:])}"}
                try:
                    response = client.request(method, url, headers=headers, expect=expect, **kwargs)
                except AuthError as again:
                    raise self._denied(again, api, what) from again
            else:
                raise self._denied(exc, api, what) from exc
        if expect and response.status_code in expect:
            return response
        return client.decode(response)

    def _denied(self, exc: AuthError, api: str, what: str) -> AuthError:
        label = APIS[api][2]
        if exc.status == 401:
            return AuthError(
                f"{label}: {self.credential.description} was refused (expired, revoked or wrong) when trying to "
                f"{what} of Firebase project '{self.project}'.",
                hint=f"Set {self.credential.source} to a valid credential.", status=401)
        found = re.search(r"Permission '([^']+)' denied", exc.message)
        perm = found.group(1) if found else None
        missing = f"the permission {perm} is missing" if perm else "the account lacks permission"
        return AuthError(
            f"{label}: {self.credential.description} cannot {what} of Firebase project '{self.project}': {missing} "
            f"(or the project does not exist).",
            hint=(f"Grant the account a role with {perm or 'that permission'} on project '{self.project}' (Firebase "
                  "Admin covers every call moai-adk makes; Google Cloud console > IAM), or set the right project in "
                  "[backend.firebase] project / [backend.firebase.environments.<env>] project."),
            status=exc.status)

    # -- Firebase Rules ---------------------------------------------------------
    def test_rules(self, files: list[dict[str, str]]) -> list[dict[str, Any]]:
        data = self.call("rules", "POST", f"/v1/projects/{self.project}:test", what="compile the rules",
                         json={"source": {"files": files}})
        return list((data or {}).get("issues") or [])

    def create_ruleset(self, files: list[dict[str, str]]) -> str:
        data = self.call("rules", "POST", f"/v1/projects/{self.project}/rulesets", what="create a ruleset",
                         json={"source": {"files": files}})
        return str(data["name"])

    def get_ruleset(self, name: str) -> dict[str, Any]:
        return dict(self.call("rules", "GET", f"/v1/{name}", what="read the released rules"))

    def list_releases(self) -> list[dict[str, Any]]:
        return self._paged("rules", f"/v1/projects/{self.project}/releases", "releases", what="read the rules releases")

    def release(self, release: str, ruleset: str, *, exists: bool) -> None:
        """Point ``release`` (``cloud.firestore``, ``firebase.storage/<bucket>``) at ``ruleset``: patched when it
        exists, else created (a create that finds it made meanwhile patches)."""
        name = f"projects/{self.project}/releases/{release}"
        body = {"name": name, "rulesetName": ruleset}
        if not exists:
            resp = self.call("rules", "POST", f"/v1/projects/{self.project}/releases", what=f"create release {release}",
                             json=body, expect={409})
            if not isinstance(resp, httpx.Response):
                return
        self.call("rules", "PATCH", f"/v1/{name}", what=f"update release {release}", json={"release": body})

    # -- Firestore Admin ------------------------------------------------------------
    def _group(self, collection_group: str) -> str:
        return f"/v1/projects/{self.project}/databases/{DEFAULT_DATABASE}/collectionGroups/{collection_group}"

    def list_indexes(self) -> list[dict[str, Any]]:
        return self._paged("firestore", self._group("-") + "/indexes", "indexes", what="read the Firestore indexes")

    def list_fields(self) -> list[dict[str, Any]]:
        return self._paged("firestore", self._group("-") + "/fields", "fields", what="read the Firestore field overrides",
                           params={"filter": FIELDS_FILTER})

    def create_index(self, collection_group: str, query_scope: str, fields: list[dict[str, Any]]) -> None:
        """Create an index; one that exists already (an earlier, interrupted apply made it) is no error."""
        self.call("firestore", "POST", self._group(collection_group) + "/indexes", what="create a Firestore index",
                  json={"queryScope": query_scope, "fields": fields}, expect={409})

    def delete_index(self, name: str) -> None:
        self.call("firestore", "DELETE", f"/v1/{name}", what="delete a Firestore index", expect={404})

    def patch_field(self, collection_group: str, field_path: str, indexes: list[dict[str, Any]] | None,
                    ttl: bool) -> None:
        name = f"{self._group(collection_group)[4:]}/fields/{field_path}"
        body: dict[str, Any] = {"name": name, "indexConfig": {"indexes": indexes} if indexes is not None else {}}
        if ttl:
            body["ttlConfig"] = {}
        self.call("firestore", "PATCH", f"/v1/{name}", what=f"set the field override {collection_group}.{field_path}",
                  params={"updateMask": "indexConfig,ttlConfig"}, json=body)

    # -- Identity Toolkit -------------------------------------------------------------
    def get_auth_config(self) -> dict[str, Any]:
        return dict(self.call("auth", "GET", f"/v2/projects/{self.project}/config", what="read the Auth settings"))

    def set_authorized_domains(self, domains: list[str]) -> None:
        self.call("auth", "PATCH", f"/v2/projects/{self.project}/config", what="update the Auth authorized domains",
                  params={"updateMask": "authorizedDomains"}, json={"authorizedDomains": domains})

    # -- Firebase Management -------------------------------------------------------------
    def list_web_apps(self) -> list[dict[str, Any]]:
        return self._paged("management", f"/v1beta1/projects/{self.project}/webApps", "apps", what="list the web apps")

    def web_app_config(self, app_id: str) -> dict[str, Any]:
        return dict(self.call("management", "GET", f"/v1beta1/projects/{self.project}/webApps/{app_id}/config",
                              what=f"read the config of web app {app_id}"))

    def _paged(self, api: str, url: str, key: str, *, what: str, params: dict[str, str] | None = None) -> list[Any]:
        out: list[Any] = []
        token = ""
        for _ in range(1000):
            page = self.call(api, "GET", url, what=what, params={**(params or {}), **({"pageToken": token} if token else {})})
            out.extend((page or {}).get(key) or [])
            token = (page or {}).get("nextPageToken") or ""
            if not token:
                return out
        raise MoaiError(f"{APIS[api][2]} kept paging {url}.", hint="Re-run; report it if it persists.")
