"""The provider-neutral deploy pipeline.

    build -> snapshot -> upload (provider.deploy) -> health check -> promote -> record

Each phase is timed. ``dry_run`` stops after the snapshot and returns the plan
(what would be uploaded is the provider's business, so a dry run reports the
files and bytes that make up the deployment). Providers' ``deploy()`` never
changes production, so a deployment that fails its health check is never
promoted and production is untouched. After a promotion, production itself
is checked; if that fails, the previous production deployment is restored
at once (automatic rollback).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .. import audit
from ..artifacts.exclude import deploy_filter
from ..artifacts.hashcache import HashCache
from ..artifacts.snapshot import Snapshot, take_snapshot
from ..config import Config
from ..envs_required import preflight
from ..errors import HealthCheckFailed, MoaiError, NotSupported
from ..providers._http import verify_for
from ..providers.base import Deployment, DeployTarget
from ..providers.capabilities import Environments, Hosting
from ..secrets import push as secrets_push
from ..ui import UI, SilentUI
from . import provenance
from .build import run_build

CACHE_FILE = Path(".moai") / "cache" / "hashes.bin"


@dataclass
class DeployRequest:
    config: Config
    platform: str
    environment: str = "preview"
    production: bool = False
    build: bool = True
    dry_run: bool = False
    allow_secret_files: tuple[str, ...] = ()
    message: str | None = None
    branch: str | None = None
    expires: str | None = None
    health_check: bool = True
    archive: str | None = None  # DeployTarget.archive: "tgz", "off", or None (the provider chooses)


@dataclass
class DeployResult:
    platform: str
    environment: str
    deployment: Deployment | None
    promoted: bool
    dry_run: bool
    files_total: int
    bytes_total: int
    files_hashed: int
    phases: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # what the platform did or will do unasked
    required_env: dict[str, Any] | None = None  # the [env.required] check (envs_required)
    secrets: dict[str, Any] | None = None  # what was sent from .moai/secrets/<env>.age (secrets.push)

    def to_json(self) -> dict[str, Any]:
        d = self.deployment
        stats = d.stats if d else None
        return {
            "platform": self.platform,
            "environment": self.environment,
            "dry_run": self.dry_run,
            "deployment_id": d.id if d else None,
            "state": d.state if d else "planned",
            "url": d.url if d else None,
            "production_url": d.production_url if d else None,
            "production": self.promoted,
            "files_total": self.files_total,
            "bytes_total": self.bytes_total,
            "files_hashed": self.files_hashed,
            "files_uploaded": stats.files_uploaded if stats else 0,
            "bytes_uploaded": stats.bytes_uploaded if stats else 0,
            "durations": {k: round(v, 4) for k, v in self.phases.items()},
            "notices": self.notices,
            "required_env": self.required_env,
            "secrets": self.secrets,
        }


def probe(url: str, *, timeout: float, transport: httpx.BaseTransport | None = None,
          sleep: Callable[[float], None] = time.sleep, headers: dict[str, str] | None = None) -> str | None:
    """GET ``url`` until it answers 2xx/3xx (returns None) or ``timeout`` seconds
    pass (returns the last answer, e.g. "HTTP 502")."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(transport=transport, timeout=min(10.0, max(1.0, timeout)), follow_redirects=False,
                      headers=headers, verify=verify_for(url)) as client:
        while True:
            try:
                response = client.get(url)
                if response.status_code < 400:
                    return None
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                return last
            sleep(0.25)


CHECK_HINT = ("Open the URL to see what is wrong, fix it and deploy again; change the path with "
              "[deploy] health_check in moai.toml, or skip the check with --no-health-check.")


def health_check(url: str, *, timeout: float, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, headers: dict[str, str] | None = None) -> None:
    """The check of a new deployment before it is promoted."""
    last = probe(url, timeout=timeout, transport=transport, sleep=sleep, headers=headers)
    if last is not None:
        raise HealthCheckFailed(
            f"The new deployment failed its health check: {url} answered {last} for {timeout:g} s. "
            "It was not promoted; production is unchanged.",
            hint=CHECK_HINT,
        )


def record(root: Path, event: dict[str, Any]) -> None:
    """Append one event to the project's audit log (``.moai/audit/log.jsonl``, hash-chained)."""
    audit.record_event(root, event)


def _health_url(deployment: Deployment, path: str) -> str | None:
    base = deployment.health_url or deployment.url
    if not base:
        return None
    return base.rstrip("/") + (path if path.startswith("/") else "/" + path)


def run_deploy(req: DeployRequest, provider: Hosting, *, environ: Mapping[str, str],
               ui: UI | None = None, health_transport: httpx.BaseTransport | None = None,
               clock: Callable[[], float] = time.perf_counter) -> DeployResult:
    ui = ui or SilentUI()
    cfg = req.config
    phases: dict[str, float] = {}

    def timed(name: str, start: float) -> None:
        phases[name] = clock() - start

    # [env.required] before anything runs; the build gets the .env files under the shell's variables
    required, build_environ = preflight(cfg, req.environment, provider, environ, dry_run=req.dry_run, info=ui.info)
    # the environment's secrets store: a missing key stops here, before anything is built
    store = secrets_push.load(cfg, req.environment, environ)
    git = None if req.dry_run else provenance.start_git_state(cfg.root)  # the source as it is before the build
    if not req.dry_run:
        t = clock()
        if provider.run_hooks("predeploy", ui.info):
            timed("predeploy", t)

    if req.build and cfg.build_command:
        t = clock()
        ui.info(f"Building: {cfg.build_command}")
        if not req.dry_run:
            run_build(cfg.build_command, cfg.root, build_environ, echo=ui.info)
        timed("build", t)

    t = clock()
    cache = HashCache(cfg.root / CACHE_FILE)
    if cache.corrupt:
        ui.info(f"The hash cache {cfg.root / CACHE_FILE} was unreadable; rebuilding it.")
    with ui.progress("Hashing", None, unit_bytes=False) as advance:
        snap: Snapshot = take_snapshot(
            cfg.output_dir, provider.hash_algorithms, cache=cache, limits=provider.limits,
            platform=provider.name, allow_secret_files=req.allow_secret_files,
            on_hashed=lambda n, _b: advance(n), on_total=advance.set_total, project_root=cfg.output_dir == cfg.root,
            exclude=deploy_filter(provider.default_ignores, cfg.exclude, source=f"{cfg.path}: [deploy] exclude"),
            known_secrets=store.scan_values() if store else None,
        )
    timed("snapshot", t)
    result = DeployResult(
        platform=provider.name, environment=req.environment, deployment=None, promoted=False,
        dry_run=req.dry_run, files_total=len(snap.files), bytes_total=snap.total_bytes,
        files_hashed=snap.hashed, phases=phases, required_env=required.to_json() if required.checks else None,
    )
    target = DeployTarget(environment=req.environment, production=req.production, branch=req.branch,
                          message=req.message, expires=req.expires, archive=req.archive)
    try:
        notice = provider.deploy_notice(target)
    except MoaiError:
        if not req.dry_run:
            raise
        notice = None  # a dry run needs no credentials; the real run says it
    if notice:
        result.notices.append(notice)
        ui.info(notice)
    if store is not None:  # sent before the deployment is created, so it is built against them
        pushed = secrets_push.push(store, provider, dry_run=req.dry_run)
        result.secrets = pushed.to_json()
        if pushed.not_sent:  # a platform without an env store: said, never silent
            result.notices.append(pushed.message())
        ui.info(pushed.message())
    if req.dry_run:
        return result

    t = clock()
    with ui.progress(f"Uploading to {provider.name}", snap.total_bytes, unit_bytes=True) as advance:
        deployment = provider.deploy(snap, target, lambda _files, nbytes: advance(nbytes))
    timed("upload", t)
    result.deployment = deployment
    made = provenance.deploy_details(cfg.root, snap, provider.hash_algorithms[0], git)  # digest, git commit
    record(cfg.root, {"event": "deploy", "platform": provider.name, "environment": req.environment,
                      "deployment": deployment.id, "url": deployment.url, **made})

    went_live = bool(deployment.extra.get("became_production"))  # the platform switched production itself
    if went_live:
        result.promoted = True
        record(cfg.root, {"event": "went-live", "platform": provider.name, "deployment": deployment.id})
    url = _health_url(deployment, cfg.environment(req.environment).health_check or cfg.health_check)
    if req.health_check and url:
        t = clock()
        ui.info(f"Health check: {url}")
        try:
            health_check(url, timeout=cfg.health_timeout, transport=health_transport,
                         headers=provider.health_headers())
        except HealthCheckFailed as exc:
            provenance.record_health(cfg.root, provider.name, req.environment, deployment.id, made["digest"], url,
                                     False, exc.message)
            if not went_live:
                raise
            raise HealthCheckFailed(
                exc.message.replace("It was not promoted; production is unchanged.",
                                    f"{provider.name} made it production by itself (the project's first deployment), "
                                    "so production now serves it and there is no earlier deployment to roll back to."),
                hint="Fix the site and deploy again; the next deployment will not go live until you promote it.",
            ) from exc
        finally:
            timed("health", t)
        provenance.record_health(cfg.root, provider.name, req.environment, deployment.id, made["digest"], url, True)
    if (req.environment not in ("preview", "production") and isinstance(provider, Environments)
            and provider.can_assign(req.environment)):
        # a healthy deployment to staging (or any non-production environment) becomes what it serves
        assigned = provider.assign(req.environment, deployment.id)
        deployment.extra.update({k: v for k, v in assigned.extra.items() if k.startswith("alias")})
        record(cfg.root, {"event": "promote", "platform": provider.name, "environment": req.environment,
                          "deployment": assigned.id, "digest": made["digest"], "mode": "same-deployment"})

    if req.production:  # also when it went live by itself: promote is then a no-op and production is verified
        previous = _current_production(provider)
        t = clock()
        result.deployment = _merge(deployment, provider.promote(deployment.id))
        timed("promote", t)
        queued = result.deployment.extra.get("promotion") == "queued"
        result.promoted = not queued
        record(cfg.root, {"event": "promote-queued" if queued else "promote", "platform": provider.name,
                          "deployment": deployment.id})
        if queued:  # production still serves the previous deployment: nothing new to check yet
            note = str(result.deployment.extra.get("notice") or
                       f"{provider.name} queued the promotion of {deployment.id}; production is unchanged for now.")
            result.notices.append(note)
            ui.info(note)
        elif req.health_check:
            t = clock()
            try:
                _verify_production(result.deployment, previous, provider, cfg, req, ui, health_transport)
            finally:
                timed("verify", t)
    t = clock()
    if provider.run_hooks("postdeploy", ui.info):
        timed("postdeploy", t)
    # the backend follows (a preview's URL into its auth redirect URLs, production's URL as the site URL);
    # a failure there is a notice: the deployment is live and healthy, so the deploy does not fail
    if cfg.backend:  # a project without [backend.*] tables does not import the backends
        from ..backend.previews import after_deploy

        for note in after_deploy(cfg, environ, platform=provider.name, environment=req.environment,
                                 deployment=result.deployment,
                                 production=req.production or req.environment == "production", promoted=result.promoted):
            result.notices.append(note)
            ui.info(note)
    return result


def _current_production(provider: Hosting) -> str | None:
    """The deployment production serves now (to return to if the switch goes wrong)."""
    try:
        live = provider.production()
    except NotSupported:
        return None
    return live.id if live else None


def _verify_production(promoted: Deployment, previous: str | None, provider: Hosting, cfg: Config,
                       req: DeployRequest, ui: UI, transport: httpx.BaseTransport | None) -> None:
    """Check production right after the switch; if it fails, switch back (automatic rollback).

    The new deployment passed its own check, so a failure here is the production side
    (domain, alias, routing): the previous deployment is restored at once."""
    base = promoted.production_health_url or promoted.production_url
    if not base:
        return
    path = cfg.environment(req.environment).health_check or cfg.health_check
    url = base.rstrip("/") + path
    ui.info(f"Checking production: {url}")
    last = probe(url, timeout=cfg.health_timeout, transport=transport, headers=provider.health_headers())
    if last is None:
        return
    if previous is None or previous == promoted.id:
        raise HealthCheckFailed(
            f"Production failed its check after the switch to {promoted.id}: {url} answered {last} for "
            f"{cfg.health_timeout:g} s. There was no earlier production deployment to roll back to, so production "
            f"still serves {promoted.id}.",
            hint=CHECK_HINT,
        )
    restored = provider.rollback(previous)
    record(cfg.root, {"event": "auto-rollback", "platform": provider.name, "from": promoted.id, "to": restored.id,
                      "reason": f"{url} answered {last}"})
    raise HealthCheckFailed(
        f"Production failed its check after the switch to {promoted.id}: {url} answered {last} for "
        f"{cfg.health_timeout:g} s. Production was rolled back to {restored.id} automatically.",
        hint=f"The deployment itself passed its check, so look at the production side (domain, alias, routing); "
             f"`moai-adk promote {promoted.id}` switches again once it is fixed.",
    )


def _merge(deployed: Deployment, promoted: Deployment) -> Deployment:
    """Keep the upload stats of the deploy on the promoted deployment."""
    promoted.stats = deployed.stats
    promoted.url = promoted.url or deployed.url
    promoted.health_url = promoted.health_url or deployed.health_url
    promoted.production_health_url = promoted.production_health_url or deployed.production_health_url
    promoted.production_url = promoted.production_url or deployed.production_url
    return promoted


def promote(provider: Hosting, root: Path, deployment_id: str) -> Deployment:
    d = provider.promote(deployment_id)
    record(root, {"event": "promote", "platform": provider.name, "deployment": deployment_id})
    return d


def rollback(provider: Hosting, root: Path, deployment_id: str | None) -> Deployment:
    d = provider.rollback(deployment_id)
    record(root, {"event": "rollback", "platform": provider.name, "deployment": d.id})
    return d


__all__ = ["DeployRequest", "DeployResult", "MoaiError", "health_check", "promote", "rollback", "run_deploy"]
