"""Provider for moai-adk's own local hosting platform (``moai-adk platform serve``).

Finds the platform through ``resolve_platform``: ``MOAI_PLATFORM_URL`` /
``MOAI_PLATFORM_TOKEN`` from ``ctx.environ``, else the per-user credentials
file the platform writes on first start. Deploys are digest deploys: send the
manifest ``{path: sha256}``, upload only the blobs the platform lacks,
finalize. ``deploy`` never changes production; ``promote`` does.

A project's ``netlify.toml`` (found and resolved for the deploy context as
Netlify's CLI does, see ``providers.netlify._config``) goes with the files: its
``[[redirects]]`` and ``[[headers]]``, and nothing else of it, become a
generated ``netlify.toml`` at the deployment root, which the platform reads as
a rule file and never serves. A ``netlify.toml`` already in the output folder
is sent as it is instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ..artifacts.snapshot import Snapshot, SnapshotFile
from ..errors import (
    AuthError,
    DeployFailed,
    MoaiError,
    NotFoundError,
    PlatformUnavailable,
)
from ..platform.paths import TOKEN_ENV, resolve_platform
from . import _local_errors as _errors
from ._http import ApiClient
from ._local_status import start_hint
from ._local_upload import CONCURRENCY, BlobUploader, last_deploy, plan_batches, remember
from .base import (
    Deployment,
    DeployStats,
    DeployTarget,
    EnvVar,
    LinkResult,
    ProgressFn,
    Provider,
    ProviderContext,
)
from .capabilities import Environments, EnvStore, Hosting, Traffic

API = "/_api/v1"


def site_slug(name: str) -> str:
    """A DNS-label-safe site name derived from a project name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return slug or "site"


class LocalProvider(Provider, Hosting, EnvStore, Traffic, Environments):
    name = "local"
    hash_algorithms = ("sha256",)

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.url, self.token, self.credentials = resolve_platform(ctx.environ, ctx.settings)
        self.site = site_slug(str(ctx.settings.get("site") or ctx.project_name))
        self._api: ApiClient | None = None

    @property
    def api(self) -> ApiClient:
        if self._api is None:
            self._api = ApiClient(self.url, label="local platform", token=self.token, token_env=TOKEN_ENV,
                                  transport=self.ctx.transport, sleep=self.ctx.sleep, max_retries=2,
                                  link_hint=f"Check the site name ('site' in moai.toml, now {self.site!r}).")
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None  # the next call opens a new client

    # -- HTTP ---------------------------------------------------------------------
    def _request(self, method: str, path: str, *, allow: frozenset[int] = frozenset(),
                 **kwargs: Any) -> httpx.Response:
        try:
            response = self.api.request(method, API + path, expect={400, 401, 403, 404, 409, 413, 422, 507}, **kwargs)
            if response.status_code in (401, 403):  # the platform's own words say which scope or state is wrong
                raise AuthError(self._error(response)[1], status=response.status_code)
        except PlatformUnavailable as exc:
            raise PlatformUnavailable(f"no local platform at {self.url}",
                                      hint=start_hint(self.ctx.environ, self.url)) from exc
        except AuthError as exc:
            source = TOKEN_ENV if self.ctx.environ.get(TOKEN_ENV) else f"the credentials file {self.credentials}"
            said = f" It said: {exc.message}." if exc.message and not exc.message.startswith("The ") else ""
            if exc.status == 403:
                raise AuthError(
                    f"The local platform at {self.url} knows the token from {source}, but its role may not "
                    f"{_errors.action(method, path)}.{said}",
                    hint=f"Set {TOKEN_ENV} to a deployer or admin token (`moai-adk platform token` with the admin "
                    f"token in {self.credentials} mints one).",
                    status=403,
                ) from exc
            raise AuthError(
                f"The local platform at {self.url} refused the token from {source} ({exc.status}); "
                f"a missing or wrong token cannot {_errors.action(method, path)}.{said}",
                hint=f"Set {TOKEN_ENV} to a token of that platform, or run `moai-adk platform serve` as this "
                f"user so it writes {self.credentials}.",
                status=exc.status,
            ) from exc
        if response.status_code in (400, 409, 413, 422, 507) and response.status_code not in allow:
            raise self._refusal(response, method, path)
        if response.status_code == 404 and 404 not in allow:
            raise self._missing(response)
        return response

    _detail = staticmethod(_errors.detail)
    _error = staticmethod(_errors.error_of)

    def _missing(self, response: httpx.Response) -> NotFoundError:
        return _errors.missing(response, self.url, self.site)

    def _refusal(self, response: httpx.Response, method: str, path: str) -> MoaiError:
        return _errors.refusal(response, method, path)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.api.decode(self._request(method, path, **kwargs))

    def _deployment(self, data: Mapping[str, Any]) -> Deployment:
        return Deployment(
            id=data["id"], state=data["state"], url=data.get("url"), production_url=data.get("production_url"),
            health_url=data.get("path_url"), production_health_url=data.get("site_path_url"), production=bool(data.get("production")),
            target=str(data.get("environment") or "preview"), created_at=data.get("created_at"),
            extra={"site": data.get("site"), "file_count": data.get("file_count"),
                   "site_path_url": data.get("site_path_url"), "meta": data.get("meta") or {}},
        )

    # -- linking --------------------------------------------------------------------
    def link(self, *, create: bool = True, dry_run: bool = False) -> LinkResult:
        result = LinkResult(platform=self.name, id=self.site, name=self.site, url=self.url)
        if dry_run:
            result.dry_run = True
        elif not create:
            info = self._json("GET", f"/sites/{self.site}")
            result.extra["production"] = info.get("production")
        else:
            result.created = bool(self._json("POST", "/sites", json={"name": self.site}).get("created"))
        return result

    # -- deploys --------------------------------------------------------------------
    def deploy(self, snapshot: Snapshot, target: DeployTarget, progress: ProgressFn | None = None) -> Deployment:
        parent = last_deploy(self.ctx.root, self._state_key())
        if parent is None:  # else the site exists (or _create finds out)
            self.link(create=True)
        meta = {k: str(v) for k, v in target.meta.items()}
        if target.branch:
            meta["branch"] = target.branch
        if target.message:
            meta["message"] = target.message
        files = snapshot.manifest("sha256")
        generated = self._generated_rule_files(snapshot, target, files)
        for name, data in generated.items():
            files[name] = hashlib.sha256(data).hexdigest()
        manifest = files
        created = self._create(manifest, {"environment": target.environment, "meta": meta}, parent)
        by_hash = snapshot.by_hash("sha256")
        stats = DeployStats(files_total=len(files))
        required = list(created.get("required", []))
        self._put_generated(generated, files, required, stats)
        self._upload(snapshot, [by_hash[h] for h in required if h in by_hash], stats, progress)
        final = self._finalize(created["id"])
        if isinstance(final, list):  # a blob vanished meanwhile: send what is still lacking, once
            self._put_generated(generated, files, final, stats)
            self._upload(snapshot, [by_hash[h] for h in final if h in by_hash], stats, progress)
            final = self._finalize(created["id"])
            if isinstance(final, list):
                raise DeployFailed(
                    f"The local platform still lacks {len(final)} file(s) of deploy {created['id']} after uploading.",
                    hint="Re-run the deploy; it uploads only what is missing.")
        if final.get("state") != "ready":
            raise DeployFailed(f"The local platform left deploy {created['id']} in state {final.get('state')!r}.",
                               hint="Re-run the deploy.")
        remember(self.ctx.root, self._state_key(), final["id"], manifest)
        deployment = self._deployment(final)
        deployment.stats = stats
        stats.requests = self.api.request_count
        deployment.extra["warnings"] = final.get("warnings", [])
        return deployment

    def _netlify_rules(self, target: DeployTarget) -> bytes | None:
        """The project's resolved netlify.toml redirects and headers, as a generated netlify.toml."""
        if not (self.ctx.root / "netlify.toml").is_file():
            return None  # the common case: no need to import the Netlify adapter
        from .netlify import _config as netlify_config
        from .netlify._deploy import context_for

        return netlify_config.rules_file(self.ctx.root, context_for(target), target.branch)

    def _generated_rule_files(self, snapshot: Snapshot, target: DeployTarget, files: dict[str, str]) -> dict[str, bytes]:
        """Rule files the output folder lacks, read where the vendors read them: the project root's
        vercel.json (as the Vercel adapter sends it) and netlify.toml's resolved redirects and headers."""
        out: dict[str, bytes] = {}
        if "vercel.json" not in files and (self.ctx.root / "vercel.json").is_file():
            from .vercel._deploy import project_vercel_json

            config = project_vercel_json(snapshot, self.ctx.root)
            if config is not None:
                out["vercel.json"] = config
        rules = None if "netlify.toml" in files else self._netlify_rules(target)
        if rules is not None:
            out["netlify.toml"] = rules
        return out

    def _put_generated(self, generated: dict[str, bytes], files: dict[str, str], wanted: list[str],
                       stats: DeployStats) -> None:
        """Upload the generated rule files whose hash is in ``wanted``."""
        for name, data in generated.items():
            if files[name] in wanted:
                self._request("PUT", f"/blobs/{files[name]}", content=data,
                              headers={"content-type": "application/octet-stream"})
                stats.files_uploaded += 1
                stats.bytes_uploaded += len(data)

    def _create(self, manifest: dict[str, str], base: dict[str, Any],
                parent: tuple[str, dict[str, str]] | None) -> dict[str, Any]:
        """Create the deploy: as a delta against the last deploy made from here when few files
        changed (the platform keeps what it knows of the others), else with the full manifest."""
        if parent is not None:  # the last deploy made from here (deploy() read it)
            parent_id, old = parent
            changes = {p: h for p, h in manifest.items() if old.get(p) != h}
            removed = [p for p in old if p not in manifest]
            if len(changes) + len(removed) <= len(manifest) // 2:
                delta = {**base, "parent": parent_id, "changes": changes, "removed": removed,
                         "file_count": len(manifest)}
                response = self._request("POST", f"/sites/{self.site}/deploys", json=delta,
                                         allow=frozenset({404, 409}))
                if response.is_success:
                    return dict(self.api.decode(response))
                code = self._error(response)[0]
                if code == "no_site":  # the platform was reset since the last deploy from here
                    self.link(create=True)
                    parent = None
                elif code not in ("bad_parent", "no_deploy"):  # else: the platform forgot it; send it all
                    raise self._missing(response) if response.status_code == 404 else self._refusal(
                        response, "POST", f"/sites/{self.site}/deploys")
        full = {**base, "files": manifest}
        if parent is not None:  # the site was not created by this deploy: it may be gone
            response = self._request("POST", f"/sites/{self.site}/deploys", json=full, allow=frozenset({404}))
            if response.is_success:
                return dict(self.api.decode(response))
            if self._error(response)[0] != "no_site":
                raise self._missing(response)
            self.link(create=True)
        return dict(self._json("POST", f"/sites/{self.site}/deploys", json=full))

    def _state_key(self) -> str:
        return f"{self.url}|{self.site}"

    def _finalize(self, deploy_id: str) -> dict[str, Any] | list[str]:
        """The ready deploy, or the list of sha256 the platform still lacks (409)."""
        response = self._request("POST", f"/deploys/{deploy_id}/finalize", allow=frozenset({409}))
        data = self.api.decode(response)
        if response.status_code == 409:
            return [str(h) for h in data.get("error", {}).get("missing", [])]
        return dict(data)

    def _upload(self, snapshot: Snapshot, files: list[SnapshotFile], stats: DeployStats,
                progress: ProgressFn | None) -> None:
        """Send blobs on the shared upload engine: small files in batches (``POST /blobs``), large
        ones alone (``PUT /blobs/<sha256>``); the platform verifies every hash."""
        if not files:
            return
        uploader = BlobUploader(self.api, self._request, self.ctx.concurrency or CONCURRENCY, progress)
        uploader.upload(plan_batches(files))
        stats.files_uploaded += uploader.stats.files_uploaded
        stats.bytes_uploaded += uploader.stats.bytes_uploaded

    def get_deployment(self, deployment_id: str) -> Deployment:
        return self._deployment(self._json("GET", f"/deploys/{deployment_id}"))

    def list_deployments(self, limit: int = 20) -> list[Deployment]:
        try:
            data = self._json("GET", f"/sites/{self.site}/deploys", params={"limit": limit})
        except NotFoundError:
            return []
        return [self._deployment(d) for d in data.get("deploys", [])]

    def promote(self, deployment_id: str) -> Deployment:
        return self._deployment(self._json("POST", f"/sites/{self.site}/promote", json={"deploy_id": deployment_id}))

    def rollback(self, deployment_id: str | None = None) -> Deployment:
        return self._deployment(self._json("POST", f"/sites/{self.site}/rollback", json={"deploy_id": deployment_id}))

    def rollback_target(self) -> Deployment:
        """The deployment ``rollback`` without an id would put in production (changes nothing)."""
        return self._deployment(self._json("GET", f"/sites/{self.site}/rollback"))

    # -- environments (aliases: platform/environments.py) ------------------------------
    def alias(self, environment: str) -> str:
        """The platform's alias name of our ``environment`` (``[environments.<env>] target``, else its name)."""
        return str(self.environment_settings(environment).get("target") or environment)

    def environment_deployment(self, environment: str) -> Deployment | None:
        alias = self.alias(environment)
        response = self._request("GET", f"/sites/{self.site}/environments", allow=frozenset({404}))
        if response.status_code == 404:
            return None
        row = next((e for e in response.json().get("environments", []) if e["environment"] == alias), None)
        if row is None or not row.get("deploy_id"):
            return None
        deployment = self.get_deployment(str(row["deploy_id"]))
        deployment.extra.update(alias=alias, alias_url=row.get("url"), alias_path_url=row.get("path_url"),
                                assigned_at=row.get("updated_at"))
        return deployment

    def assign(self, environment: str, deployment_id: str) -> Deployment:
        alias = self.alias(environment)
        data = self._json("PUT", f"/sites/{self.site}/environments/{alias}", json={"deploy_id": deployment_id})
        deployment = self._deployment(data)
        if "alias_url" in data:
            deployment.extra.update(alias=alias, alias_url=data["alias_url"], alias_path_url=data["alias_path_url"])
        return deployment

    def cleanup(self, dry_run: bool = False) -> dict[str, Any]:
        """Remove (or with ``dry_run`` list) expired unfinished deployments, unreferenced blobs and nginx
        trees of this platform."""
        return dict(self._json("POST", "/cleanup", json={"dry_run": dry_run}))

    def set_traffic(self, weights: dict[str, int]) -> None:
        self._json("PUT", f"/sites/{self.site}/traffic", json={"weights": weights})

    def traffic(self) -> dict[str, int] | None:
        data = self._json("GET", f"/sites/{self.site}/traffic") or {}
        weights = data.get("weights")
        return {str(k): int(v) for k, v in weights.items()} if weights else None

    # -- env vars -------------------------------------------------------------------
    # Before the first deploy the site does not exist yet: reads answer "nothing set", writes create
    # the site first (as a deploy does), so `env set` works as a first step.
    def env_list(self, environment: str) -> list[EnvVar]:
        response = self._request("GET", f"/sites/{self.site}/env/{environment}", allow=frozenset({404}))
        if response.status_code == 404:
            if self._error(response)[0] == "no_site":
                return []
            raise self._missing(response)
        data = self.api.decode(response)
        return [EnvVar(key=v["key"], value=v["value"], environments=[environment], secret=bool(v["secret"]))
                for v in data.get("vars", [])]

    def env_set(self, environment: str, key: str, value: str, *, secret: bool = False) -> EnvVar:
        self.link(create=True)
        data = self._json("PUT", f"/sites/{self.site}/env/{environment}/{key}", json={"value": value, "secret": secret})
        return EnvVar(key=data["key"], value=data["value"], environments=[environment], secret=bool(data["secret"]))

    def env_unset(self, environment: str, key: str) -> None:
        response = self._request("DELETE", f"/sites/{self.site}/env/{environment}/{key}", allow=frozenset({404}))
        if response.status_code == 404:
            raise NotFoundError(f"{key} is not set for the {environment} environment on local site {self.site!r}.",
                                hint=f"Run `moai-adk env list --env {environment} --platform local` to see what is set.",
                                status=404)


def mint_token(environ: Mapping[str, str], role: str, label: str = "",
               transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Ask the platform (with an admin token) for a new token of ``role``."""
    provider = LocalProvider(ProviderContext(root=Path("."), environ=environ, transport=transport))
    try:
        data = provider._json("POST", "/tokens", json={"role": role, "label": label})
    finally:
        provider.close()
    return {"url": provider.url, "role": data["role"], "token": data["token"]}

