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
    IntegrityError,
    MoaiError,
    NotFoundError,
    PlatformUnavailable,
    ProviderError,
    UnsafePathError,
)
from ..platform.paths import TOKEN_ENV, URL_ENV, credential_entries, resolve_platform
from ._http import ApiClient, verify_for
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
START_HINT = ("Start it with `moai-adk platform serve` (in another terminal, or in the background: "
              "`nohup moai-adk platform serve &`), or set MOAI_PLATFORM_URL to where it runs.")


_REFUSAL_HINTS = {
    "no_previous": "Run `moai-adk deployments` to see the deployments, then `moai-adk rollback ID` or "
                   "`moai-adk promote ID`.",
    "not_ready": "Pick a deployment whose state is ready (`moai-adk deployments`), or deploy again.",
    "missing_blobs": "Run the deploy again: it uploads only what is still missing.",
    "bad_rules": "Fix _redirects, _headers or vercel.json (output folder or project root), then deploy again.",
    "bad_weights": "Give each deployment a whole-number weight; the weights must add up to 100.",
    "no_space": "Free disk space where the platform keeps its data (`moai-adk platform serve --data`), then "
                "run the command again; the platform kept nothing half-written.",
    "too_large": "Leave the file out of the output folder ([deploy] exclude in moai.toml), or start the platform "
                 "with a larger MOAI_PLATFORM_MAX_UPLOAD_MB.",
    "truncated": "The connection broke while sending; run the command again.",
    "bad_json": "This is a bug in the client that sent the request; re-run with --debug and report it.",
}


# What a request does, in the words messages use (users never see API routes).
_ACTIONS: tuple[tuple[str, str, str], ...] = (
    (r"/sites", "list the sites", "create the site"),
    (r"/sites/[^/]+", "read the site", "change the site"),
    (r"/sites/[^/]+/deploys", "list the deployments", "create a deployment"),
    (r"/sites/[^/]+/promote", "read the site", "promote a deployment"),
    (r"/sites/[^/]+/rollback", "read the site", "roll production back"),
    (r"/sites/[^/]+/traffic", "read the traffic split", "change the traffic split"),
    (r"/sites/[^/]+/env/.*", "read environment variables", "change environment variables"),
    (r"/deploys/[^/]+/finalize", "read the deployment", "finalize the deployment"),
    (r"/deploys/[^/]+", "read the deployment", "change the deployment"),
    (r"/blobs(/.*)?", "check uploaded files", "upload files"),
    (r"/tokens", "list tokens", "mint a token"),
    (r"/cleanup", "list what cleanup removes", "clean up"),
)


def _rules_folder(file: Any) -> str:
    if file == "vercel.json":
        return "(in the output folder, or at the project root when the output folder has none)"
    return "in the output folder"


def _action(method: str, path: str) -> str:
    """``"upload files"`` for ``PUT /blobs/<sha>``: what a request to the platform API does."""
    for pattern, read, write in _ACTIONS:
        if re.fullmatch(pattern, path):
            return read if method in ("GET", "HEAD") else write
    return "do this" if method in ("GET", "HEAD") else "make this change"


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
                    f"{_action(method, path)}.{said}",
                    hint=f"Set {TOKEN_ENV} to a deployer or admin token (`moai-adk platform token` with the admin "
                    f"token in {self.credentials} mints one).",
                    status=403,
                ) from exc
            raise AuthError(
                f"The local platform at {self.url} refused the token from {source} ({exc.status}); "
                f"a missing or wrong token cannot {_action(method, path)}.{said}",
                hint=f"Set {TOKEN_ENV} to a token of that platform, or run `moai-adk platform serve` as this "
                f"user so it writes {self.credentials}.",
                status=exc.status,
            ) from exc
        if response.status_code in (400, 409, 413, 422, 507) and response.status_code not in allow:
            raise self._refusal(response, method, path)
        if response.status_code == 404 and 404 not in allow:
            raise self._missing(response)
        return response

    @staticmethod
    def _detail(response: httpx.Response, key: str) -> str:
        """A field of the platform's error object (``""`` when absent)."""
        try:
            err = response.json().get("error", {})
        except (ValueError, AttributeError):
            return ""
        return str(err.get(key) or "") if isinstance(err, dict) else ""

    @staticmethod
    def _error(response: httpx.Response) -> tuple[str, str]:
        """The platform's error ``(code, message)`` (its messages name no API routes)."""
        try:
            err = response.json().get("error", {})
        except (ValueError, AttributeError):
            err = {}
        err = err if isinstance(err, dict) else {}
        return str(err.get("code") or ""), str(err.get("message") or response.text[:200].strip() or "not found")

    def _missing(self, response: httpx.Response) -> NotFoundError:
        code, message = self._error(response)
        if code == "no_site":
            hint = (f"Run `moai-adk deploy` to create the site, or check the site name ('site' in "
                    f"[platforms.local] of moai.toml, now {self.site!r}).")
        elif code == "no_deploy":
            wanted = self._detail(response, "deploy_id")
            named = f"No deployment of site {self.site!r} has the ID {wanted!r}" if wanted else "Check the ID"
            hint = f"{named}: `moai-adk deployments` lists the IDs (first column); pass one of them."
        else:  # a route this platform lacks, or something else listens at that URL
            hint = f"Check that MOAI_PLATFORM_URL ({self.url}) points at a moai-adk platform (`moai-adk platform status`)."
        return NotFoundError(f"The local platform at {self.url} answered: {message}.", hint=hint, status=404)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.api.decode(self._request(method, path, **kwargs))

    def _refusal(self, response: httpx.Response, method: str, path: str) -> MoaiError:
        try:
            err = response.json().get("error", {})
        except ValueError:
            err = {}
        code, message = err.get("code", ""), err.get("message") or response.text[:200]
        if code == "unsafe_path":
            return UnsafePathError(f"The local platform refused the deploy: {message}.",
                                   hint="Rename the file in the output folder, then rebuild and deploy again.")
        if code == "bad_rules":
            file, line = err.get("file"), err.get("line")
            where = f"line {line} of {file}" if file and line else (file or "_redirects, _headers or vercel.json")
            return DeployFailed(f"The local platform refused the deployment's routing rules: {message}.",
                                hint=f"Fix {where} {_rules_folder(file)}, then deploy again "
                                "(docs/platform.md, 'Rules', lists what rules may not do).",
                                status=response.status_code)
        if code == "hash_mismatch":
            return IntegrityError(f"The local platform rejected an upload: {message}.",
                                  hint="Re-run the deploy; it re-hashes changed files and uploads only what is missing.",
                                  status=response.status_code)
        hint = _REFUSAL_HINTS.get(code, "Re-run with --debug for the full response.")
        if code == "no_space":
            return ProviderError(f"The local platform ran out of disk space and could not {_action(method, path)} "
                                 f"({response.status_code} {code}: {message}).", hint=hint, status=response.status_code)
        return ProviderError(f"The local platform refused to {_action(method, path)} ({response.status_code} "
                             f"{code or 'error'}: {message}).", hint=hint, status=response.status_code)

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
        if last_deploy(self.ctx.root, self._state_key()) is None:  # else the site exists (or _create finds out)
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
        created = self._create(manifest, {"environment": target.environment, "meta": meta})
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

    def _create(self, manifest: dict[str, str], base: dict[str, Any]) -> dict[str, Any]:
        """Create the deploy: as a delta against the last deploy made from here when few files
        changed (the platform keeps what it knows of the others), else with the full manifest."""
        parent = last_deploy(self.ctx.root, self._state_key())
        if parent is not None:
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


def start_hint(environ: Mapping[str, str], url: str) -> str:
    """How to start the platform at ``url``, naming the other platforms of the credentials file."""
    _, entries = credential_entries(resolve_platform(environ)[2])
    others = [u for u in entries if u.rstrip("/") != url.rstrip("/")]
    if not others:
        return START_HINT
    return (f"{START_HINT} The credentials file also knows {', '.join(others)}: set MOAI_PLATFORM_URL to one "
            "of them to use it (`moai-adk platform status` lists them).")


def _probe(url: str, token: str | None, transport: httpx.BaseTransport | None) -> dict[str, Any]:
    info: dict[str, Any] = {"url": url, "running": False, "token_ok": False}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=url, timeout=3.0, transport=transport, headers=headers,
                          verify=verify_for(url)) as client:
            health = client.get(f"{API}/health")
            if health.status_code == 200:
                info["running"] = True
                info["version"] = health.json().get("version")
                info["token_ok"] = bool(token) and client.get(f"{API}/whoami").status_code == 200
    except (httpx.HTTPError, ValueError):
        pass
    return info


def platform_status(environ: Mapping[str, str], transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Is a platform answering at the configured URL, and is our token accepted? ``platforms``: every
    entry of the credentials file, probed the same way (``default``: the one used without a URL)."""
    url, token, creds = resolve_platform(environ)
    source = TOKEN_ENV if environ.get(TOKEN_ENV) else (f"credentials file {creds}" if token else "none")
    info: dict[str, Any] = {**_probe(url, token, transport), "token_source": source,
                            "url_source": URL_ENV if environ.get(URL_ENV) else "credentials file or default"}
    default, entries = credential_entries(creds)
    info["credentials"] = str(creds)
    info["platforms"] = [{**_probe(u, t, transport), "default": u == default, "selected": u == url}
                         for u, t in entries.items()]
    return info


def mint_token(environ: Mapping[str, str], role: str, label: str = "",
               transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Ask the platform (with an admin token) for a new token of ``role``."""
    provider = LocalProvider(ProviderContext(root=Path("."), environ=environ, transport=transport))
    try:
        data = provider._json("POST", "/tokens", json={"role": role, "label": label})
    finally:
        provider.close()
    return {"url": provider.url, "role": data["role"], "token": data["token"]}

