"""The Netlify provider (REST API, file-digest deploys).

How it maps to the pipeline contract (deploy must not switch production;
the pipeline health-checks, then calls ``promote``):

* ``deploy`` creates a **draft** deploy for production and for plain
  previews (a unique ``deploy_ssl_url``, production untouched), or a branch
  deploy (``branch`` alias, not draft) when the target names a branch;
* ``promote(id)`` publishes that deploy with
  ``POST /sites/{site_id}/deploys/{deploy_id}/restore``;
* ``rollback()`` is ``PUT /sites/{site_id}/rollback`` (back to the
  previously published deploy); ``rollback(id)`` publishes ``id``.

The resolved ``netlify.toml`` (``[build]`` merged with its
``[context.*]``, ``[[redirects]]``, ``[[headers]]``) is added to the
manifest as Netlify's CLI does, so its rules apply to these manual deploys.

Reads ``NETLIFY_AUTH_TOKEN`` (required), ``MOAI_NETLIFY_API_URL`` (base
URL), ``NETLIFY_SITE_ID``; ``.netlify/state.json``; ``netlify.toml`` in the
project root (or in its ``[build] base`` folder). Writes ``.netlify/state.json`` on ``link``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import AuthError, NotFoundError, NotSupported, ProviderError
from .._http import ApiClient
from ..base import Deployment, DeployTarget, EnvVar, Limits, LinkResult, ProgressFn, Provider, ProviderContext
from ..capabilities import Environments, EnvStore, Hosting
from . import _deploy
from ._env import NetlifyEnv, check_secret_context
from ._link import LINK_HINT, STATE_FILE, read_site_id, write_link

if TYPE_CHECKING:
    from ...artifacts.snapshot import Snapshot

DEFAULT_API = "https://api.netlify.com/api/v1"
TOKEN_ENV = "NETLIFY_AUTH_TOKEN"
DEFAULT_CONCURRENCY = 16


# our environments -> Netlify's deploy contexts (unknown ones are branch deploys)
CONTEXTS = {"production": "production", "preview": "deploy-preview", "staging": "branch-deploy",
            "development": "dev"}


class NetlifyProvider(Provider, Hosting, EnvStore, Environments):
    name: ClassVar[str] = "netlify"
    hash_algorithms: ClassVar[tuple[str, ...]] = ("sha1",)
    # the Netlify CLI's deploy filter: no dotfiles but .well-known, no node_modules, no __MACOSX
    default_ignores: ClassVar[tuple[str, ...]] = (".*", "!.well-known", "node_modules", "__MACOSX")
    # Netlify has no per-deploy file-count limit; it fails deploys with more than
    # 54,000 files in one folder, which deploy() checks before uploading.
    limits: ClassVar[Limits] = Limits()
    credential_envs: ClassVar[tuple[str, ...]] = ("NETLIFY_AUTH_TOKEN",)

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._api: ApiClient | None = None
        self._site: dict[str, Any] | None = None

    # -- plumbing ----------------------------------------------------------
    def api(self) -> ApiClient:
        if self._api is None:
            token = self.ctx.environ.get(TOKEN_ENV)
            if not token:
                raise AuthError(
                    f"No Netlify token: the {TOKEN_ENV} environment variable is not set.",
                    hint=("Create a personal access token at https://app.netlify.com/user/applications#personal-access-tokens "
                          f"and run `export {TOKEN_ENV}=<token>`."),
                )
            self._api = ApiClient(self.ctx.environ.get("MOAI_NETLIFY_API_URL", DEFAULT_API), label="Netlify",
                                  token=token, token_env=TOKEN_ENV, transport=self.ctx.transport,
                                  sleep=self.ctx.sleep, link_hint=LINK_HINT)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    def site_id(self) -> str | None:
        return read_site_id(self.ctx.root, self.ctx.settings, self.ctx.environ)

    def linked_site_id(self) -> str:
        self.api()
        sid = self.site_id()
        if not sid:
            raise NotFoundError(
                f"This folder is not linked to a Netlify site ({self.ctx.root / STATE_FILE} is missing "
                "and NETLIFY_SITE_ID is not set).", hint=LINK_HINT)
        return sid

    def site(self, *, fresh: bool = False) -> dict[str, Any]:
        if self._site is None or fresh:
            data = self.api().json("GET", f"/sites/{self.linked_site_id()}")
            self._site = data if isinstance(data, dict) else {}
        return self._site

    def _published_id(self) -> str | None:
        pub = self.site(fresh=True).get("published_deploy")
        return str(pub["id"]) if isinstance(pub, dict) and pub.get("id") else None

    # -- linking -----------------------------------------------------------
    def link(self, *, create: bool = True, dry_run: bool = False) -> LinkResult:
        api = self.api()
        file = self.ctx.root / STATE_FILE
        if self.site_id():
            linked = self.site()
            return LinkResult(self.name, linked.get("id"), linked.get("name"), file=file, dry_run=dry_run,
                              url=linked.get("ssl_url") or linked.get("url"))
        name = str(self.ctx.settings.get("site") or self.ctx.project_name)
        found = api.json("GET", "/sites", params={"name": name, "filter": "all"})
        site: Any = next((s for s in found or [] if isinstance(s, dict) and s.get("name") == name), None)
        created = False
        if site is None:
            if not create:
                raise NotFoundError(f"Netlify has no site named '{name}'.",
                                    hint="Run `moai-adk init --baas netlify --link` to create it.")
            if dry_run:
                return LinkResult(self.name, None, name, created=True, file=file, dry_run=True)
            site = api.json("POST", "/sites", json={"name": name})
            created = True
        if not isinstance(site, dict) or not site.get("id"):
            raise ProviderError(f"Netlify answered without a site id for '{name}'.", hint="Re-run with --debug.")
        result = LinkResult(self.name, str(site["id"]), name, created=created, file=file, dry_run=dry_run,
                            url=site.get("ssl_url") or site.get("url"))
        if dry_run:
            return result
        write_link(self.ctx.root, str(site["id"]))
        self._site = site
        return result

    # -- deploys -----------------------------------------------------------
    def deploy(self, snapshot: Snapshot, target: DeployTarget, progress: ProgressFn | None = None) -> Deployment:
        entries = _deploy.build_manifest(snapshot, self.ctx.root, target)
        self.api()
        if not self.site_id():  # first deploy from this folder: link (or create) the site
            self.link(create=True)
        sid = self.linked_site_id()
        before = self.api().request_count
        final, stats = _deploy.run(self.api(), sid, entries, target,
                                   concurrency=self.ctx.concurrency or DEFAULT_CONCURRENCY,
                                   progress=progress, sleep=self.ctx.sleep)
        dep = _deploy.to_deployment(final)
        dep.target = "production" if target.production else "preview"
        dep.stats.files_total = len(entries)
        dep.stats.files_uploaded = stats.files_uploaded
        dep.stats.bytes_uploaded = stats.bytes_uploaded
        dep.stats.requests = self.api().request_count - before
        return dep

    def get_deployment(self, deployment_id: str) -> Deployment:
        sid = self.linked_site_id()
        data = self.api().json("GET", f"/sites/{sid}/deploys/{deployment_id}")
        return _deploy.to_deployment(data, self._published_id())

    def list_deployments(self, limit: int = 20) -> list[Deployment]:
        sid = self.linked_site_id()
        published = self._published_id()
        data = self.api().json("GET", f"/sites/{sid}/deploys", params={"per_page": str(limit)})
        return [_deploy.to_deployment(d, published) for d in data or [] if isinstance(d, dict)]

    def _publish(self, deployment_id: str) -> Deployment:
        sid = self.linked_site_id()
        data = self.api().json("GET", f"/sites/{sid}/deploys/{deployment_id}")
        _deploy.raise_if_failed(data)
        if data.get("state") != "ready":
            raise ProviderError(f"Netlify deploy {deployment_id} is {data.get('state')}, not ready.",
                                hint="Wait for it to finish, then try again.")
        self.api().json("POST", f"/sites/{sid}/deploys/{deployment_id}/restore")
        dep = self.get_deployment(deployment_id)
        if not dep.production:
            raise ProviderError(f"Netlify did not publish deploy {deployment_id}.",
                                hint="Check whether auto publishing is locked for the site in Netlify.")
        return dep

    def promote(self, deployment_id: str) -> Deployment:
        return self._publish(deployment_id)

    def rollback(self, deployment_id: str | None = None) -> Deployment:
        if deployment_id is not None:
            return self._publish(deployment_id)
        sid = self.linked_site_id()
        before = self._published_id()
        response = self.api().request("PUT", f"/sites/{sid}/rollback", expect={422})
        after = self._published_id()
        if response.status_code == 422 or after is None or after == before:
            raise NotFoundError("Netlify has no earlier published deploy to roll back to.",
                                hint="Run `moai-adk deployments --platform netlify` to see what exists.")
        return self.get_deployment(after)

    # -- environments: production is the published deploy (restore publishes the same deploy again);
    # other environments are branch deploys (``target`` or the environment's name) or titled drafts ------
    def environment_deployment(self, environment: str) -> Deployment | None:
        if environment == "production":
            return self.production()
        branch = str(self.environment_settings(environment).get("target") or environment)
        for d in self.list_deployments(limit=100):
            if d.state == "ready" and (d.extra.get("branch") == branch
                                       or d.extra.get("title") == f"moai-adk {environment} deploy"):
                return d
        return None

    def can_assign(self, environment: str) -> bool:
        return environment == "production"

    def assign(self, environment: str, deployment_id: str) -> Deployment:
        if environment != "production":
            raise NotSupported(
                f"Netlify cannot point the '{environment}' branch deploy at an existing deploy; only production "
                "is published again.",
                hint=f"`moai-adk promote --to {environment}` uploads the same files again (nothing is rebuilt).")
        return self._publish(deployment_id)

    # -- env vars ----------------------------------------------------------
    def _env(self) -> NetlifyEnv:
        site = self.site()
        account = str(site.get("account_slug") or "")  # Netlify's CLI names the account by its slug
        if not account:
            raise ProviderError("Netlify did not say which account (team slug) owns the site, so its variables "
                                "cannot be reached.", hint="Re-run with --debug.")
        return NetlifyEnv(self.api(), account, self.linked_site_id(), self.platform_environment)

    def platform_environment(self, environment: str) -> str:
        """Netlify's deploy context for ``environment``."""
        return CONTEXTS.get(environment, "branch-deploy")

    def check_env_value(self, environment: str, key: str, value: str, *, secret: bool = False) -> None:
        check_secret_context(environment, self.platform_environment(environment), key, secret)

    def env_list(self, environment: str) -> list[EnvVar]:
        return self._env().list_vars(environment)

    def env_set(self, environment: str, key: str, value: str, *, secret: bool = False) -> EnvVar:
        return self._env().set_var(environment, key, value, secret=secret)

    def env_unset(self, environment: str, key: str) -> None:
        self._env().unset_var(environment, key)
