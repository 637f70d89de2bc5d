"""The Vercel provider (REST API; file-manifest deploys, or one archive as ``vercel --archive=tgz``).

How it maps to the pipeline contract (deploy must not switch production;
the pipeline health-checks, then calls ``promote``):

* ``deploy`` always creates a **preview** deployment (no ``target``), even
  for production, because a ``target: "production"`` deployment takes the
  production aliases by itself as soon as it is READY. The deployment's
  ``meta.moaiTarget`` records that it was meant for production.
* The exception Vercel imposes: the first deployment of a project without a
  production deployment is made production by the API and goes live when
  READY. ``first_deploy_goes_live()`` / ``deploy_notice(target)`` say so
  before a deploy; the deployment then carries ``extra["became_production"]``
  and ``production=True``, and ``promote`` of it changes nothing.
* A deployment counts as ready once READY *and* its aliases are assigned
  (``aliasAssigned``) when it has any; ``aliasError``, ``*_ERROR`` states and
  failed alias checks fail it (``_deploy.settled`` / ``_deploy.failure``).
* ``promote(id)`` of that preview creates the production deployment from it
  (``POST /v13/deployments`` with ``deploymentId`` and ``target:
  "production"``, as Vercel's CLI does; no file is uploaded again). A
  deployment whose target already is production is promoted with
  ``POST /v10/projects/{id}/promote/{deploymentId}`` with the JSON body
  ``{}``; a ``202`` answer means the promotion is queued behind an active
  rolling release, reported at once as ``extra["promotion"] == "queued"``.
* ``rollback`` points production back at an earlier production deployment
  with ``POST /v9/projects/{id}/rollback/{deploymentId}`` (not in the public
  OpenAPI; it is what Vercel's CLI calls).

Reads ``VERCEL_TOKEN`` (required), ``MOAI_VERCEL_API_URL`` (base URL),
``VERCEL_PROJECT_ID``/``VERCEL_ORG_ID``; ``.vercel/project.json``;
``vercel.json`` in the project root (sent with the files when the output
folder has none). Writes ``.vercel/project.json`` on ``link``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import AuthError, NotFoundError, NotSupported, ProviderError
from .._http import ApiClient, poll_until
from ..base import Deployment, DeployTarget, EnvVar, Limits, LinkResult, ProgressFn, Provider, ProviderContext
from ..capabilities import Environments, EnvStore, Hosting
from . import _deploy, _send
from ._env import VercelEnv
from ._link import LINK_FILE, LINK_HINT, VercelLink, read_link, write_link

if TYPE_CHECKING:
    from ...artifacts.snapshot import Snapshot

DEFAULT_API = "https://api.vercel.com"
TOKEN_ENV = "VERCEL_TOKEN"
DEFAULT_CONCURRENCY = 16
FIRST_DEPLOY_NOTICE = (
    "This is the Vercel project's first deployment. Vercel makes a project's first deployment its production "
    "deployment, so it goes live as soon as it is ready, before the health check; later deployments stay "
    "previews until promoted."
)
QUEUED_NOTICE = (
    "Vercel queued the promotion: it starts when the project's active rolling release completes, so "
    "production does not serve this deployment yet. Check the rolling release in the Vercel dashboard."
)


# our environments -> Vercel's targets (staging and unknown ones share preview's values unless
# [platforms.vercel] custom_environments maps them to a custom environment)
TARGETS = {"production": "production", "preview": "preview", "staging": "preview", "development": "development"}


class VercelProvider(Provider, Hosting, EnvStore, Environments):
    name: ClassVar[str] = "vercel"
    hash_algorithms: ClassVar[tuple[str, ...]] = ("sha1",)
    # the Vercel CLI's defaults (packages/client getVercelIgnore); .vercelignore adds to them
    default_ignores: ClassVar[tuple[str, ...]] = (
        ".hg", ".git", ".gitmodules", ".svn", ".cache", ".next", ".now", ".vercel", ".npmignore", ".dockerignore",
        ".gitignore", ".*.swp", ".DS_Store", ".wafpicke-*", ".lock-wscript", ".env.local", ".env.*.local", ".venv",
        ".yarn/cache", ".pnp*", "npm-debug.log", "config.gypi", "node_modules", "__pycache__", "venv", "CVS")
    # No file count: above 15,000 files the deploy goes as one archive (_send), as Vercel's client does.
    # 100 MB: the Hobby plan's static file upload limit ([platforms.vercel] max_file_size raises it).
    limits: ClassVar[Limits] = Limits(max_file_size=100 * 1024 * 1024)
    credential_envs: ClassVar[tuple[str, ...]] = ("VERCEL_TOKEN",)

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._api: ApiClient | None = None
        self._link: VercelLink | None = None
        size = ctx.settings.get("max_file_size")
        if size:  # a plan with a higher per-file limit: the snapshot and deploy checks both see it
            setattr(self, "limits", Limits(max_file_size=int(size)))  # noqa: B010

    def health_headers(self) -> dict[str, str]:
        """Previews behind Deployment Protection answer 401 unless the automation
        bypass secret is sent; it is read from VERCEL_AUTOMATION_BYPASS_SECRET."""
        secret = self.ctx.environ.get("VERCEL_AUTOMATION_BYPASS_SECRET")
        return {"x-vercel-protection-bypass": secret} if secret else {}

    def _token(self) -> str:
        token = self.ctx.environ.get(TOKEN_ENV)
        if not token:
            raise AuthError(
                f"No Vercel token: the {TOKEN_ENV} environment variable is not set.",
                hint=f"Create a token at https://vercel.com/account/tokens and run `export {TOKEN_ENV}=<token>`.",
            )
        return token

    def api(self) -> ApiClient:
        if self._api is None:
            link = read_link(self.ctx.root, self.ctx.settings, self.ctx.environ)
            self._link = link
            team = (link.team_id if link else None) or self.ctx.settings.get("team_id")
            self._api = ApiClient(
                self.ctx.environ.get("MOAI_VERCEL_API_URL", DEFAULT_API), label="Vercel", token=self._token(),
                token_env=TOKEN_ENV, transport=self.ctx.transport, sleep=self.ctx.sleep,
                link_hint=LINK_HINT, params={"teamId": team} if team else None,
            )
        return self._api

    def linked(self) -> VercelLink:
        self.api()
        if self._link is None:
            raise NotFoundError(
                f"This folder is not linked to a Vercel project ({self.ctx.root / LINK_FILE} is missing).",
                hint=LINK_HINT,
            )
        return self._link

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    def _project(self) -> dict[str, Any]:
        data = self.api().json("GET", f"/v9/projects/{self.linked().project_id}")
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _production_id(project: dict[str, Any]) -> str | None:
        targets = project.get("targets") or {}
        prod = targets.get("production") if isinstance(targets, dict) else None
        return str(prod["id"]) if isinstance(prod, dict) and prod.get("id") else None

    # -- linking -----------------------------------------------------------
    def link(self, *, create: bool = True, dry_run: bool = False) -> LinkResult:
        api = self.api()
        file = self.ctx.root / LINK_FILE
        if self._link is not None:
            project = self._project()  # 404 -> NotFoundError with the link hint
            return LinkResult(self.name, str(project.get("id", self._link.project_id)), project.get("name"),
                              file=file, dry_run=dry_run, extra={"org_id": self._link.org_id})
        name = str(self.ctx.settings.get("project") or self.ctx.project_name)
        found = api.request("GET", f"/v9/projects/{name}", expect={404})
        created = False
        if found.status_code == 404:
            if not create:
                raise NotFoundError(f"Vercel has no project named '{name}'.",
                                    hint="Run `moai-adk init --baas vercel --link` to create it.")
            if dry_run:
                return LinkResult(self.name, None, name, created=True, file=file, dry_run=True)
            project = api.json("POST", "/v11/projects", json={"name": name, "framework": None})
            created = True
        else:
            project = api.decode(found)
        if not isinstance(project, dict) or not project.get("id"):
            raise ProviderError(f"Vercel answered without a project id for '{name}'.", hint="Re-run with --debug.")
        team = self.ctx.settings.get("team_id")
        link = VercelLink(str(project["id"]), str(team or project.get("accountId") or "") or None, name)
        result = LinkResult(self.name, link.project_id, name, created=created, file=file, dry_run=dry_run,
                            extra={"org_id": link.org_id})
        if dry_run:
            return result
        write_link(self.ctx.root, link)
        self._link = link
        return result

    # -- deploys -----------------------------------------------------------
    def first_deploy_goes_live(self) -> bool:
        """Whether the next ``deploy`` becomes production by itself: the project has no production
        deployment yet (or does not exist yet), and Vercel makes such a project's first deployment
        production. Only reads; creates and links nothing."""
        api = self.api()
        if self._link is not None:
            return self._production_id(self._project()) is None
        name = str(self.ctx.settings.get("project") or self.ctx.project_name)
        found = api.request("GET", f"/v9/projects/{name}", expect={404})
        project = api.decode(found) if found.status_code != 404 else {}
        return self._production_id(project if isinstance(project, dict) else {}) is None

    def deploy_notice(self, target: DeployTarget) -> str | None:
        """Before deploying: warn when this deploy will go live by itself (a new project's first)."""
        return FIRST_DEPLOY_NOTICE if self.first_deploy_goes_live() else None

    def deploy(self, snapshot: Snapshot, target: DeployTarget, progress: ProgressFn | None = None) -> Deployment:
        manifest = _deploy.build_manifest(snapshot, self.ctx.root, self.limits)
        self.api()
        if self._link is None:  # first deploy from this folder: link (or create) the project, as `vercel --yes` does
            self.link(create=True)
        link = self.linked()
        requests_before = self.api().request_count
        project = self._project()
        body: dict[str, Any] = {  # `files` is added by _send: the output's files, or the archive's parts
            "name": project.get("name") or link.project_name or self.ctx.project_name,
            "project": link.project_id,
            "meta": {**target.meta, "moaiEnvironment": target.environment,
                     "moaiTarget": "production" if target.production else "preview",
                     **({"moaiMessage": target.message} if target.message else {})},
        }
        if not project.get("latestDeployments") and not self._production_id(project):
            body["projectSettings"] = {"framework": None, "buildCommand": None, "installCommand": None,
                                       "outputDirectory": None}
        sent = _send.send(self.api(), body, manifest, _send.options(self.ctx.settings, target, self.limits, self.ctx.concurrency or DEFAULT_CONCURRENCY), self.ctx.root, progress,
                          params={"skipAutoDetectionConfirmation": "1"})
        created = sent.created
        # settled in the create answer already (e.g. a static deployment READY at once): nothing to poll
        final = created if _deploy.settled(created) else _deploy.wait_ready(self.api(), str(created["id"]), self.ctx.sleep)
        _deploy.raise_if_failed(final)
        if final.get("target") == "production":  # asked for a preview; Vercel made it the first production one
            project = self._project()
            dep = _deploy.to_deployment(final, self._production_id(project), _deploy.production_url(project))
            dep.extra.update(became_production=True, notice=FIRST_DEPLOY_NOTICE)
        else:
            dep = _deploy.to_deployment(final)
        dep.stats.files_total = len(manifest.entries)
        dep.stats.files_uploaded = sent.stats.files_uploaded  # upload requests: files, or archive parts
        dep.stats.bytes_uploaded = sent.stats.bytes_uploaded
        dep.stats.requests = self.api().request_count - requests_before
        dep.extra.update(upload={"mode": sent.mode, "parts": sent.parts, "archive_bytes": sent.archive_bytes},
                         upload_note=sent.line)
        return dep

    def get_deployment(self, deployment_id: str) -> Deployment:
        data = self.api().json("GET", f"/v13/deployments/{deployment_id}")
        project = self._project()
        return _deploy.to_deployment(data, self._production_id(project), _deploy.production_url(project))

    def list_deployments(self, limit: int = 20) -> list[Deployment]:
        link = self.linked()
        project = self._project()
        prod, domain = self._production_id(project), _deploy.production_url(project)
        data = self.api().json("GET", "/v6/deployments", params={"projectId": link.project_id, "limit": str(limit)})
        items = data.get("deployments", []) if isinstance(data, dict) else []
        return [_deploy.to_deployment(d, prod, domain) for d in items]

    def _wait_alias_job(self, deployment_id: str, kind: str) -> None:
        def done(project: dict[str, Any]) -> bool:
            req = project.get("lastAliasRequest") or {}
            return req.get("toDeploymentId") == deployment_id and req.get("jobStatus") in ("succeeded", "failed", "skipped")

        project = poll_until(self._project, done, what=f"the Vercel {kind} of {deployment_id}",
                             interval=0.5, timeout=600, sleep=self.ctx.sleep)
        if project["lastAliasRequest"]["jobStatus"] == "failed":
            raise ProviderError(f"Vercel could not {kind} deployment {deployment_id}: its alias job failed.",
                                hint="Check the project's domains in the Vercel dashboard and retry.")

    def promote(self, deployment_id: str) -> Deployment:
        link = self.linked()
        api = self.api()
        source = api.json("GET", f"/v13/deployments/{deployment_id}")
        _deploy.raise_if_failed(source)
        if source.get("readyState") != "READY":
            raise ProviderError(f"Vercel deployment {deployment_id} is {source.get('readyState')}, not READY.",
                                hint="Wait for it to finish, then promote again.")
        if source.get("target") == "production":
            project = self._project()
            live, domain = self._production_id(project), _deploy.production_url(project)
            if live == deployment_id:  # already serving production (e.g. the project's first deployment)
                return _deploy.to_deployment(source, live, domain)
            # Vercel's CLI sends `{}` here and marks the body required
            response = api.request("POST", f"/v10/projects/{link.project_id}/promote/{deployment_id}", json={})
            if response.status_code == 202:  # queued behind an active rolling release: nothing to wait for now
                dep = _deploy.to_deployment(source, live, domain)
                dep.extra.update(promotion="queued", notice=QUEUED_NOTICE)
                return dep
            self._wait_alias_job(deployment_id, "promote")
            return self.get_deployment(deployment_id)
        body = {"name": source.get("name") or link.project_name or self.ctx.project_name,
                "project": link.project_id, "deploymentId": deployment_id, "target": "production",
                "meta": {"action": "promote", "moaiPromotedFrom": deployment_id}}
        created = api.json("POST", "/v13/deployments", json=body)
        final = _deploy.wait_ready(api, str(created["id"]), self.ctx.sleep)
        _deploy.raise_if_failed(final)
        dep = self.get_deployment(str(final["id"]))
        dep.extra["promoted_from"] = deployment_id
        return dep

    def rollback(self, deployment_id: str | None = None) -> Deployment:
        link = self.linked()
        api = self.api()
        project = self._project()
        current = self._production_id(project)
        if deployment_id is None:
            data = api.json("GET", "/v6/deployments", params={
                "projectId": link.project_id, "target": "production", "state": "READY", "limit": "20"})
            items = data.get("deployments", []) if isinstance(data, dict) else []
            current_created = next((d.get("created") for d in items if d.get("uid") == current), None)
            earlier = [d for d in items if d.get("uid") != current
                       and (current_created is None or (d.get("created") or 0) < current_created)]
            if not earlier:
                raise NotFoundError("There is no earlier ready production deployment on Vercel to roll back to.",
                                    hint="Run `moai-adk deployments --platform vercel` to see what exists.")
            deployment_id = str(earlier[0]["uid"])
        api.request("POST", f"/v9/projects/{link.project_id}/rollback/{deployment_id}", json={})
        self._wait_alias_job(deployment_id, "rollback")
        return self.get_deployment(deployment_id)

    # -- aliases -----------------------------------------------------------
    # -- environments: production is promoted as `vercel promote` does (a production-target deployment
    # itself; a preview one through a new production deployment of the same files) -------------------
    def environment_deployment(self, environment: str) -> Deployment | None:
        if environment == "production":
            return self.production()
        for d in self.list_deployments(limit=100):
            meta = d.extra.get("meta") or {}
            if d.state == "ready" and isinstance(meta, dict) and meta.get("moaiEnvironment") == environment:
                return d
        return None

    def can_assign(self, environment: str) -> bool:
        return environment == "production"

    def assign(self, environment: str, deployment_id: str) -> Deployment:
        if environment != "production":
            raise NotSupported(
                f"Vercel cannot point '{environment}' at an existing deployment; only production is promoted.",
                hint=f"`moai-adk promote --to {environment}` uploads the same files again (nothing is rebuilt).")
        d = self.promote(deployment_id)
        if d.id != deployment_id:
            d.extra["from_deployment"] = deployment_id
        return d

    def aliases(self, deployment_id: str) -> list[str]:
        data = self.api().json("GET", f"/v2/deployments/{deployment_id}/aliases")
        return [str(a.get("alias")) for a in (data or {}).get("aliases", []) if isinstance(a, dict)]

    def assign_alias(self, deployment_id: str, alias: str) -> dict[str, Any]:
        data = self.api().json("POST", f"/v2/deployments/{deployment_id}/aliases", json={"alias": alias})
        return data if isinstance(data, dict) else {}

    # -- env vars ----------------------------------------------------------
    def platform_environment(self, environment: str) -> str:
        """Vercel's target for ``environment`` (``custom:<id>`` for a custom environment)."""
        custom = self.ctx.settings.get("custom_environments") or {}
        if isinstance(custom, dict) and environment in custom:
            return f"custom:{custom[environment]}"
        return TARGETS.get(environment, "preview")

    def mapping_note(self, environment: str) -> str | None:
        mapped = self.platform_environment(environment)
        if environment == mapped or mapped.startswith("custom:"):
            return None
        return (f"Vercel has no '{environment}' target: its variables are the '{mapped}' ones. Map it to a custom "
                f"environment with [platforms.vercel] custom_environments = {{ {environment} = \"env_...\" }}.")

    def _env(self) -> VercelEnv:
        return VercelEnv(self.api(), self.linked().project_id, self.platform_environment)

    def env_list(self, environment: str) -> list[EnvVar]:
        return self._env().list_vars(environment)

    def env_set(self, environment: str, key: str, value: str, *, secret: bool = False) -> EnvVar:
        return self._env().set_var(environment, key, value, secret=secret)

    def env_unset(self, environment: str, key: str) -> None:
        self._env().unset_var(environment, key)
