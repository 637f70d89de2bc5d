"""Firebase Hosting provider.

Deploy = create a version, ``populateFiles`` in batches of 1,000 paths, upload
only the hashes the API asks for (the deterministic gzip bytes whose SHA-256
is the snapshot's ``gzip-sha256``), finalize with the ``ServingConfig`` made
from firebase.json. ``deploy`` never touches production: a preview is
released on a preview channel; a production deploy stops at a finalized,
unreleased version, and ``promote`` releases it on ``live``.

Promotion of a version of this site releases that same finalized version on
``live`` (the discovery doc's ``channels.releases.create`` only requires the
version to belong to the parent's site, so no copy is needed, as
``hosting:clone`` also does within one site); a version of another site
(``sites/OTHER/versions/ID``) is first copied with ``versions:clone``.

Redeploying to an existing preview channel renews its TTL as firebase-tools
does (``PATCH channels/{id}?updateMask=ttl``): when ``--expires`` is given, or
when less time is left than the TTL asked for (7 days by default).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...artifacts.snapshot import Limits
from ...errors import NotFoundError, ProviderError, StateError, UsageError
from .._http import run_concurrently
from ..base import (
    Deployment,
    DeployStats,
    DeployTarget,
    LinkResult,
    ProgressFn,
    Provider,
    ProviderContext,
)
from ..capabilities import Channels, Environments, Hosting
from .api import HostingApi
from .auth import Clock, Credential, resolve_credential
from .config import FirebaseProject, load_project, run_hooks
from .functions import DEFAULT_FUNCTIONS_URL, FUNCTIONS_URL_ENV, RewriteResolver, list_functions
from .serving import (
    channel_id,
    has_function_rewrite,
    hosting_ignores,
    parse_ttl,
    rfc3339_seconds,
    serving_config,
    ttl_seconds,
)
from .upload import GzipUploader, Upload

if TYPE_CHECKING:
    from ...artifacts.snapshot import Snapshot, SnapshotFile

API_URL_ENV = "MOAI_FIREBASE_API_URL"
DEFAULT_API_URL = "https://firebasehosting.googleapis.com"
POPULATE_BATCH = 1000
_STATE = {"CREATED": "uploading", "FINALIZED": "ready", "CLONING": "processing",
          "DELETED": "canceled", "ABANDONED": "canceled", "EXPIRED": "canceled"}


class FirebaseProvider(Provider, Hosting, Channels, Environments):
    name = "firebase"
    hash_algorithms = ("gzip-sha256",)
    credential_envs = ("FIREBASE_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS")
    limits = Limits(max_file_size=2 * 1024**3 - 1)

    def __init__(self, ctx: ProviderContext, *, clock: Clock = time.time) -> None:
        super().__init__(ctx)
        self.clock = clock  # epoch seconds: token expiry and preview-channel TTLs
        self._project: FirebaseProject | None = None
        self._api: HostingApi | None = None
        self._credential: Credential | None = None

    # -- configuration ---------------------------------------------------
    @property
    def project(self) -> FirebaseProject:
        """firebase.json/.firebaserc, validated (the first thing every command does)."""
        if self._project is None:
            self._project = load_project(self.ctx.root, self.ctx.settings, self.ctx.environ)
        return self._project

    @property
    def api(self) -> HostingApi:
        if self._api is None:
            site = self.project.site
            if self._credential is None:  # kept across close(): a reopened client needs no new exchange
                self._credential = resolve_credential(self.ctx.environ, self.ctx.transport, clock=self.clock,
                                                      sleep=self.ctx.sleep)
            base = self.ctx.environ.get(API_URL_ENV) or DEFAULT_API_URL
            self._api = HostingApi(base, site, self._credential, transport=self.ctx.transport,
                                   sleep=self.ctx.sleep)
        return self._api

    def close(self) -> None:
        """Close the Hosting API's connections; the next call opens new ones."""
        if self._api is not None:
            self._api.close()
            self._api = None

    def pre_deploy_hooks(self) -> list[str]:
        return self.project.hooks("predeploy")

    def post_deploy_hooks(self) -> list[str]:
        return self.project.hooks("postdeploy")

    def run_hooks(self, phase: str, echo: Callable[[str], None] | None = None) -> list[str]:
        """Run firebase.json ``hosting.predeploy`` or ``hosting.postdeploy`` in the project root."""
        if phase not in ("predeploy", "postdeploy"):
            raise UsageError(f"Unknown hook phase '{phase}'.", hint="Use predeploy or postdeploy.")
        return run_hooks(self.project, phase, self.ctx.environ, echo)

    def serving_config(self) -> dict[str, Any]:
        """firebase.json as a ``ServingConfig``, without looking functions up (``deploy`` does)."""
        return serving_config(self.project.hosting)

    def _resolver(self) -> RewriteResolver:
        """Looks up the project's functions when a ``function`` rewrite needs it (once per deploy)."""

        def lister() -> Any:
            project = self.project.project
            if not project:  # the site's name carries its project (number)
                name = str((self.api.get_site() or {}).get("name", ""))
                project = name.split("/")[1] if name.startswith("projects/") else None
            if not project:
                return None
            base = self.ctx.environ.get(FUNCTIONS_URL_ENV) or DEFAULT_FUNCTIONS_URL
            return list_functions(base, project, self.api.credential, transport=self.ctx.transport,
                                  sleep=self.ctx.sleep)

        return RewriteResolver(lister)

    def public_dir(self) -> Path | None:
        """firebase.json ``hosting.public`` as a folder under the project root (None when unset)."""
        public = self.project.hosting.get("public")
        return (self.ctx.root / public).resolve() if public else None

    # -- deploy ----------------------------------------------------------
    def deploy(self, snapshot: Snapshot, target: DeployTarget, progress: ProgressFn | None = None) -> Deployment:
        project = self.project
        ignored = hosting_ignores(project.hosting)
        files = [f for f in snapshot.files if not ignored(f.path)]
        channel = ttl = None
        explicit_ttl = False
        if not target.production:
            channel = channel_id(target.branch or target.environment)
            ttl, explicit_ttl = parse_ttl(target.expires)
        api = self.api
        config = serving_config(project.hosting, resolve=self._resolver() if has_function_rewrite(project.hosting) else None)
        stats = DeployStats(files_total=len(files))
        labels = {"deployment-tool": "moai-adk"}
        version = api.create_version(labels)
        version_id = version["name"].rsplit("/", 1)[-1]
        required, upload_url = self._populate(version_id, files)
        self._upload(files, required, upload_url, stats, progress)
        finalized = api.finalize(version_id, config)
        stats.requests = api.request_count
        extra: dict[str, Any] = {"site": project.site, "version": finalized.get("name", version["name"]),
                                 "firebase_json": project.checked_with}
        if target.production:
            return Deployment(id=version_id, state="ready", url=None, production_url=self._live_url(),
                              target="production", created_at=finalized.get("createTime"), stats=stats, extra=extra)
        assert channel is not None and ttl is not None
        chan = api.get_channel(channel)
        if chan is None:
            chan = api.create_channel(channel, ttl)
        elif self._renew_ttl(chan, ttl, explicit_ttl):
            chan = api.set_channel_ttl(channel, ttl)
        api.release(channel, api.version_name(version_id), target.message)
        stats.requests = api.request_count
        extra.update(channel=channel, expire_time=chan.get("expireTime"))
        return Deployment(id=version_id, state="ready", url=chan.get("url"), health_url=chan.get("url"),
                          production_url=self._live_url(), target=target.environment,
                          created_at=finalized.get("createTime"), stats=stats, extra=extra)

    def _renew_ttl(self, chan: dict[str, Any], ttl: str, explicit: bool) -> bool:
        """firebase-tools' rule: an expiring channel gets the TTL again when asked to, or when less is left."""
        expire = chan.get("expireTime")
        if not expire:  # a channel that never expires changes only on --expires
            return explicit
        return explicit or rfc3339_seconds(str(expire)) - self.clock() < ttl_seconds(ttl)

    def _populate(self, version_id: str, files: list[SnapshotFile]) -> tuple[set[str], str]:
        manifest = [("/" + f.path, f.hashes["gzip-sha256"]) for f in files]
        batches = [dict(manifest[i:i + POPULATE_BATCH]) for i in range(0, len(manifest), POPULATE_BATCH)]
        required: set[str] = set()
        upload_url = ""
        for answer in run_concurrently(batches, lambda b: self.api.populate_files(version_id, b),
                                       concurrency=4, throttled=self.api.client.throttled):
            required.update(answer.get("uploadRequiredHashes") or [])
            upload_url = answer.get("uploadUrl") or upload_url
        known = {h for _, h in manifest}
        unknown = required - known
        if unknown:
            raise ProviderError(f"Firebase Hosting asked for {len(unknown)} file hash(es) this deploy never sent "
                                f"(e.g. {sorted(unknown)[0]}).", hint="Re-run the deploy; if it repeats, report it.")
        if required and not upload_url:
            raise ProviderError("Firebase Hosting asked for uploads but gave no uploadUrl.", hint="Re-run the deploy.")
        return required, upload_url

    def _upload(self, files: list[SnapshotFile], required: set[str], upload_url: str, stats: DeployStats,
                progress: ProgressFn | None) -> None:
        groups: dict[str, list[SnapshotFile]] = {}
        for f in files:
            groups.setdefault(f.hashes["gzip-sha256"], []).append(f)
        if progress:
            done = [f for h, group in groups.items() if h not in required for f in group]
            if done:
                progress(len(done), sum(f.size for f in done))
        entries = [Upload(sha=h, abspath=groups[h][0].abspath, path=groups[h][0].path, files=len(groups[h]),
                           size=sum(f.size for f in groups[h])) for h in sorted(required)]
        uploader = GzipUploader(self.api, upload_url, self.ctx.concurrency or 16, progress)
        uploader.upload(entries)
        stats.files_uploaded += uploader.stats.files_uploaded
        stats.bytes_uploaded += uploader.stats.bytes_uploaded

    # -- production pointer ---------------------------------------------
    def _live_url(self) -> str:
        return f"https://{self.project.site}.web.app"

    def _resolve(self, deployment_id: str, *, clone: bool = False) -> str:
        """A version name of this site for ``deployment_id`` (with ``clone``, copying another site's version)."""
        ref = deployment_id.strip()
        if ref.startswith("sites/"):
            parts = ref.split("/")
            if len(parts) != 4 or parts[2] != "versions":
                raise UsageError(f"'{deployment_id}' is not a version name.", hint="Use sites/SITE/versions/ID or the version id.")
            if parts[1] != self.project.site:
                if not clone:
                    raise UsageError(f"{deployment_id} belongs to site '{parts[1]}', not '{self.project.site}'.",
                                     hint="Only promote copies a version from another site; use this site's version ids here.")
                cloned = self.api.clone_version(ref)
                return str(cloned["name"])
            return ref
        if "/" in ref or not ref:
            raise UsageError(f"'{deployment_id}' is not a Firebase version id.", hint="Run `moai-adk deployments` to list them.")
        return self.api.version_name(ref)

    def _release_live(self, deployment_id: str, message: str, *, clone: bool = False) -> Deployment:
        name = self._resolve(deployment_id, clone=clone)
        vid = name.rsplit("/", 1)[-1]
        version = self.api.get_version(vid)
        if version.get("status") != "FINALIZED":
            raise StateError(f"Firebase version {vid} is {version.get('status')}, not FINALIZED: it cannot serve.",
                             hint="Pick a finished deployment from `moai-adk deployments`.")
        live = self.api.get_channel("live") or {}
        current = ((live.get("release") or {}).get("version") or {}).get("name")
        if current != name:
            self.api.release("live", name, message)
        url = live.get("url") or self._live_url()
        return Deployment(id=vid, state="ready", url=url, production_url=url, health_url=url, production=True,
                          target="production", created_at=version.get("createTime"),
                          extra={"site": self.project.site, "version": name, "already_live": current == name})

    def promote(self, deployment_id: str) -> Deployment:
        return self._release_live(deployment_id, f"Promoted by moai-adk ({deployment_id})", clone=True)

    def rollback(self, deployment_id: str | None = None) -> Deployment:
        if deployment_id is not None:
            return self._release_live(deployment_id, f"Rolled back by moai-adk to {deployment_id}")
        releases = self.api.list_releases("live", 100)
        current = ((releases[0].get("version") or {}).get("name")) if releases else None
        for rel in releases[1:]:
            version = rel.get("version") or {}
            if version.get("name") and version["name"] != current and version.get("status") == "FINALIZED":
                return self._release_live(version["name"], "Rolled back by moai-adk")
        raise NotFoundError(f"Site '{self.project.site}' has no earlier live release to roll back to.",
                            hint="Run `moai-adk deployments` and roll back to a specific id, or deploy again.")

    # -- listing -----------------------------------------------------------
    def _channel_map(self) -> tuple[dict[str, list[dict[str, Any]]], str | None, str]:
        by_version: dict[str, list[dict[str, Any]]] = {}
        live_version, live_url = None, self._live_url()
        for chan in self.api.list_channels():
            cid = chan["name"].rsplit("/", 1)[-1]
            vname = ((chan.get("release") or {}).get("version") or {}).get("name")
            if cid == "live":
                live_version, live_url = vname, chan.get("url") or live_url
            if vname:
                by_version.setdefault(vname, []).append({"id": cid, **chan})
        return by_version, live_version, live_url

    def _deployment(self, version: dict[str, Any], by_version: dict[str, list[dict[str, Any]]],
                    live_version: str | None, live_url: str) -> Deployment:
        name = version["name"]
        channels = by_version.get(name, [])
        previews = [c for c in channels if c["id"] != "live"]
        return Deployment(
            id=name.rsplit("/", 1)[-1], state=_STATE.get(version.get("status", ""), "error"),
            url=previews[0].get("url") if previews else (live_url if name == live_version else None),
            production_url=live_url, production=name == live_version,
            target="production" if name == live_version else (previews[0]["id"] if previews else "preview"),
            created_at=version.get("createTime"),
            extra={"channels": [c["id"] for c in channels], "file_count": int(version.get("fileCount") or 0),
                   "version": name},
        )

    def list_deployments(self, limit: int = 20) -> list[Deployment]:
        by_version, live_version, live_url = self._channel_map()
        versions = self.api.list_versions(limit)
        versions.sort(key=lambda v: v.get("createTime", ""), reverse=True)
        return [self._deployment(v, by_version, live_version, live_url) for v in versions[:limit]]

    def get_deployment(self, deployment_id: str) -> Deployment:
        name = self._resolve(deployment_id)
        version = self.api.get_version(name.rsplit("/", 1)[-1])
        return self._deployment(version, *self._channel_map())

    # -- environments: production is the live channel, others a preview channel (``target`` or a
    # channel id made from the name); a release of the same finalized version moves either -------------
    def _channel_of(self, environment: str) -> str:
        if environment == "production":
            return "live"
        return channel_id(str(self.environment_settings(environment).get("target") or environment))

    def environment_deployment(self, environment: str) -> Deployment | None:
        chan = self.api.get_channel(self._channel_of(environment))
        version = (((chan or {}).get("release") or {}).get("version") or {}).get("name")
        return self.get_deployment(str(version)) if version else None

    def assign(self, environment: str, deployment_id: str) -> Deployment:
        if environment == "production":
            return self._release_live(deployment_id, f"Promoted by moai-adk ({deployment_id})")
        channel = self._channel_of(environment)
        name = self._resolve(deployment_id)
        chan = self.api.get_channel(channel)
        if chan is None:
            chan = self.api.create_channel(channel, parse_ttl(None)[0])
        if ((chan.get("release") or {}).get("version") or {}).get("name") != name:  # a deploy released it already
            self.api.release(channel, name, f"Promoted by moai-adk ({deployment_id})")
        return self.get_deployment(name)

    def list_channels(self) -> list[dict[str, Any]]:
        """Every channel of the site: id, url, expire_time, version id, release_time."""
        out = []
        for chan in self.api.list_channels():
            release = chan.get("release") or {}
            vname = (release.get("version") or {}).get("name")
            out.append({"id": chan["name"].rsplit("/", 1)[-1], "url": chan.get("url"),
                        "expire_time": chan.get("expireTime"), "version": vname.rsplit("/", 1)[-1] if vname else None,
                        "release_time": release.get("releaseTime")})
        return out

    def delete_channel(self, name: str) -> None:
        """Delete a preview channel (``live`` is refused before anything is sent)."""
        if name == "live":
            raise UsageError("The 'live' channel is production and cannot be deleted.",
                             hint="Delete preview channels only; see `moai-adk channels list`.")
        self.api.delete_channel(name if re.fullmatch(r"[a-z0-9-]+", name) else channel_id(name))

    def link(self, *, create: bool = True, dry_run: bool = False) -> LinkResult:
        project = self.project
        result = LinkResult(self.name, project.site, project.site, dry_run=dry_run, extra={"project": project.project})
        site = self.api.get_site()
        if site is None:
            result.extra["exists"] = False
            if not create or dry_run:
                return result
            if not project.project:
                raise UsageError(f"Site '{project.site}' does not exist and no Firebase project is set to create it in.",
                                 hint='Add `project = "<project-id>"` under [platforms.firebase] in moai.toml.')
            site = self.api.create_site(project.project)
            result.created = True
        result.extra["exists"] = True
        result.url = site.get("defaultUrl")
        return result
