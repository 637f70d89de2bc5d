"""Build once, promote many: ``moai-adk promote --from staging --to production``.

The artifact an environment serves moves to another environment without being rebuilt:

* ``same-deployment``: the target environment is pointed at that very deployment (the local
  platform's alias or production pointer, Netlify's restore, a Firebase release of the same
  version, Vercel's promote of a production-target deployment). When the platform only takes it
  as a new deployment made from the same files (Vercel's promote of a preview deployment, as
  ``vercel promote`` does), the result names both and says so in ``note``.
* ``re-uploaded``: where the platform cannot point the target at an existing deployment (Vercel
  and Netlify non-production environments, or another platform), the output folder is walked
  again (no build) and deployed only when its snapshot digest equals the one recorded for the
  source deployment; the platform has every file already, so nothing but the manifest is sent.

``[environments.<to>] requires = "<env>"`` refuses unless the audit log holds a passing health
check of the same artifact (snapshot digest) in ``<env>``. Every promotion is one audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..artifacts.digest import snapshot_digest
from ..artifacts.exclude import deploy_filter
from ..artifacts.hashcache import HashCache
from ..artifacts.snapshot import take_snapshot
from ..config import Config
from ..errors import NotSupported, PromotionRefused, UsageError
from ..providers.base import Deployment, Provider
from ..providers.capabilities import Environments, Hosting, require
from ..ui import UI
from . import provenance
from .pipeline import CACHE_FILE, DeployRequest, probe, record, run_deploy

Opener = Callable[[str], Provider]


@dataclass
class PromotionResult:
    source: str
    target: str
    platform: str
    source_deployment: str
    digest: str | None
    mode: str  # "same-deployment" | "re-uploaded"
    dry_run: bool
    deployment: Deployment | None = None
    requires: dict[str, Any] | None = None
    health: str | None = None  # "ok", or what the target's URL answered
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = self.deployment
        return {"from": self.source, "to": self.target, "platform": self.platform,
                "source_deployment": self.source_deployment, "deployment_id": d.id if d else None,
                "mode": self.mode, "digest": self.digest, "dry_run": self.dry_run, "requires": self.requires,
                "url": _url_of(d, self.target) if d else None, "health": self.health, "notes": self.notes}


def _url_of(d: Deployment, environment: str) -> str | None:
    if environment == "production":
        return d.production_url or d.url
    return str(d.extra.get("alias_url") or d.url or "") or None


def promote_between(cfg: Config, source: str, target: str, opener: Opener, *, dry_run: bool = False,
                    environ: Mapping[str, str] | None = None, ui: UI | None = None,
                    health_transport: httpx.BaseTransport | None = None) -> PromotionResult:
    if source == target:
        raise UsageError(f"--from and --to both name '{source}': an environment cannot be promoted into itself.",
                         hint="Pass another --to, e.g. `moai-adk promote --from staging --to production`.")
    cfg.environment(source)  # unknown names: ConfigError listing the known ones
    to_env = cfg.environment(target)
    src_platform, dst_platform = cfg.platform_for(source), cfg.platform_for(target)
    provider = opener(src_platform)
    try:
        envs = require(provider, Environments, "environments")
        deployed = envs.environment_deployment(source)
        if deployed is None:
            raise PromotionRefused(
                f"Nothing is deployed to '{source}' on {src_platform}, so there is nothing to promote to '{target}'.",
                hint=f"Deploy it first: `moai-adk deploy --env {source}`; `moai-adk status` shows what each "
                     "environment serves.")
        entries = provenance.audit_entries(cfg.root)
        made = provenance.deploy_record(cfg.root, src_platform, deployed.id, entries)
        digest = (made.get("details") or {}).get("digest") if made else None
        requires = _check_requires(cfg, source, target, to_env.requires, deployed.id, digest, entries)
        same = src_platform == dst_platform and envs.can_assign(target)
        result = PromotionResult(source, target, dst_platform, deployed.id, digest,
                                 "same-deployment" if same else "re-uploaded", dry_run, requires=requires)
        if not same and digest is None:
            raise PromotionRefused(
                f"Deployment {deployed.id} in '{source}' has no snapshot digest in the audit log, so it cannot be "
                f"re-uploaded to '{target}' on {dst_platform} as the same artifact.",
                hint=f"Deploy it with moai-adk first: `moai-adk deploy --env {source}`.")
        if dry_run:
            return result
        if same:
            try:
                result.deployment = envs.assign(target, deployed.id)
            except NotSupported:
                if digest is None:
                    raise
                result.mode = "re-uploaded"
        if result.deployment is not None:
            moved = result.deployment
            if moved.id != deployed.id:
                result.notes.append(f"{dst_platform} took the promotion as a new deployment {moved.id} made from "
                                    f"{deployed.id}'s files (nothing was rebuilt or uploaded).")
            record(cfg.root, {"event": "promote", "platform": dst_platform, "environment": target,
                              "deployment": moved.id, "from_environment": source, "from_deployment": deployed.id,
                              "digest": digest, "mode": result.mode})
            result.health = _probe_target(cfg, to_env.health_check, moved, target, provider, health_transport)
            if digest is not None and moved.id == deployed.id:
                _record_target_health(cfg, dst_platform, target, moved, digest, result.health)
            return result
    finally:
        provider.close()
    assert digest is not None
    result.deployment = _reupload(cfg, target, dst_platform, digest, opener, environ or {}, ui, health_transport)
    result.health = "ok"
    record(cfg.root, {"event": "promote", "platform": dst_platform, "environment": target,
                      "deployment": result.deployment.id, "from_environment": source, "from_deployment": deployed.id,
                      "digest": digest, "mode": "re-uploaded"})
    return result


def _check_requires(cfg: Config, source: str, target: str, needed: str | None, deployment: str,
                    digest: str | None, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    if needed is None:
        return None
    where = f"{cfg.path}: [environments.{target}] requires = \"{needed}\""
    if digest is None:
        raise PromotionRefused(
            f"Promotion to '{target}' requires the artifact to have passed its health check in '{needed}' first "
            f"({where}), but deployment {deployment} in '{source}' was not deployed by moai-adk (no snapshot digest "
            "in the audit log), so nothing proves it.",
            hint=f"Deploy it with `moai-adk deploy --env {needed}`, then `moai-adk promote --from {needed} --to {target}`.")
    passed = provenance.healthy_in(cfg.root, needed, digest, entries)
    if passed is None:
        step = (f"`moai-adk promote --from {source} --to {needed}`" if source != needed
                else f"`moai-adk deploy --env {needed}` (with its health check)")
        raise PromotionRefused(
            f"Promotion to '{target}' requires the artifact to have passed its health check in '{needed}' first "
            f"({where}); deployment {deployment} (snapshot {digest[:19]}...) from '{source}' has no passing health "
            f"check in '{needed}'.",
            hint=f"Put the same artifact in '{needed}' and let it pass its check: {step}; then promote again.")
    return {"environment": needed, "satisfied": True, "checked_at": passed.get("at"),
            "deployment": passed.get("target")}


def _probe_target(cfg: Config, path: str | None, d: Deployment, target: str, provider: Provider,
                  transport: httpx.BaseTransport | None) -> str:
    base = (d.production_health_url or d.production_url) if target == "production" else (
        d.extra.get("alias_path_url") or d.extra.get("alias_url") or d.health_url or d.url)
    if not base:
        return "unknown"
    headers = provider.health_headers() if isinstance(provider, Hosting) else {}
    last = probe(str(base).rstrip("/") + (path or cfg.health_check), timeout=min(cfg.health_timeout, 10.0),
                 transport=transport, headers=headers)
    return "ok" if last is None else last


def _record_target_health(cfg: Config, platform: str, environment: str, d: Deployment, digest: str,
                          health: str) -> None:
    if health != "unknown":
        provenance.record_health(cfg.root, platform, environment, d.id, digest, _url_of(d, environment) or "",
                                 health == "ok", None if health == "ok" else health)


def _reupload(cfg: Config, target: str, platform: str, digest: str, opener: Opener, environ: Mapping[str, str],
              ui: UI | None, transport: httpx.BaseTransport | None) -> Deployment:
    """The output folder, unbuilt, deployed to ``target`` only when it still is the artifact ``digest``."""
    algorithm = digest.split(":", 1)[0]
    provider = opener(platform)
    try:
        hosting = require(provider, Hosting, "site hosting")
        snap = take_snapshot(cfg.output_dir, tuple(dict.fromkeys((algorithm, *hosting.hash_algorithms))),
                             cache=HashCache(cfg.root / CACHE_FILE), project_root=cfg.output_dir == cfg.root,
                             limits=hosting.limits, platform=hosting.name,
                             exclude=deploy_filter(hosting.default_ignores, cfg.exclude,
                                                   source=f"{cfg.path}: [deploy] exclude"))
        now = snapshot_digest(snap.manifest(algorithm), algorithm)
        if now != digest:
            raise PromotionRefused(
                f"The output folder {cfg.output_dir} no longer holds the artifact to promote to '{target}' (its "
                f"snapshot is {now[:19]}..., the deployment's {digest[:19]}...), and {platform} cannot point "
                f"'{target}' at the existing deployment, so it would have to be uploaded again from that folder.",
                hint="Rebuild exactly that commit (or deploy the new build through the earlier environments first), "
                     "then promote again.")
        req = DeployRequest(config=cfg, platform=platform, environment=target, production=target == "production",
                            build=False)
        result = run_deploy(req, hosting, environ=environ, ui=ui, health_transport=transport)
        assert result.deployment is not None
        return result.deployment
    finally:
        provider.close()
