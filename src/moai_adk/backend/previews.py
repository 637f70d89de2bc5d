"""Preview URLs that just work: what the deploy pipeline and ``cleanup`` do to the project's backends.

``after_deploy`` (one call from ``deploy/pipeline.py``, after a deploy succeeded):

* a preview deploy (any environment but production) whose environment has a Supabase project adds
  ``<deployment origin>/**`` to the project's redirect URLs (auth ``uri_allow_list``); one with a Firebase
  project adds the deployment's domain to Auth's authorized domains (``sync_preview_domains``). What was
  added is recorded in ``.moai/backend/previews.json`` (``preview_record``), so ``backend apply`` keeps it;
* a production deploy that was promoted makes Supabase's ``site_url`` the production URL, unless
  ``[backend.supabase] auth.site_url`` sets it (then ``backend apply`` owns it).

It never fails a deploy: the deployment is live and healthy by then, so a backend that cannot be
reached is reported as a notice (with the command that finishes the job) instead of an error.

``cleanup_previews`` (``moai-adk cleanup``) asks each host whether the recorded deployments still exist
and removes the values of those that do not, from the backend and from the record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import audit
from ..errors import ConfigError, MoaiError, NotFoundError
from ..providers.base import Deployment
from ..workspace import open_provider, provider_context
from . import configured, preview_record

if TYPE_CHECKING:
    import httpx

    from ..config import Config

GONE_STATES = frozenset({"deleted", "canceled", "cancelled", "error"})


def redirect_value(url: str) -> str | None:
    """``https://host[:port]/**``: the deployment's every path as a Supabase redirect URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/**" if parts.scheme and parts.netloc else None


def _supabase_ref(cfg: Config, environment: str, environ: Mapping[str, str]) -> str | None:
    try:
        from ..providers.supabase._client import project_ref  # only for projects with a Supabase backend

        return project_ref(provider_context(cfg, "supabase", environ), environment)
    except ConfigError:
        return None


def _split(allow_list: Any) -> list[str]:
    return [u.strip() for u in str(allow_list or "").split(",") if u.strip()]


def after_deploy(cfg: Config, environ: Mapping[str, str], *, platform: str, environment: str,
                 deployment: Deployment | None, production: bool, promoted: bool,
                 transport: httpx.BaseTransport | None = None) -> list[str]:
    """The backend step of a successful deploy; returns notices (never raises)."""
    if deployment is None or not configured(cfg):
        return []
    notices: list[str] = []
    for name in configured(cfg):
        try:
            if production:
                if promoted and name == "supabase":
                    notices += _follow_site_url(cfg, environ, environment, deployment, transport)
            elif deployment.url:
                notices += _add_preview(cfg, environ, name, platform, environment, deployment, transport)
        except Exception as exc:  # noqa: BLE001 - the deploy succeeded: say what failed, do not fail it
            message = exc.message if isinstance(exc, MoaiError) else f"{type(exc).__name__}: {exc}"
            notices.append(f"The deploy succeeded, but updating the {name} backend of {environment} failed: {message} "
                           f"Run `moai-adk backend plan --env {environment} --backend {name}` to see what is left, "
                           "and deploy again to retry.")
    return notices


def _follow_site_url(cfg: Config, environ: Mapping[str, str], environment: str, deployment: Deployment,
                     transport: httpx.BaseTransport | None) -> list[str]:
    from .supabase import SupabaseBackend

    url = (deployment.production_url or "").rstrip("/")
    if not url or _supabase_ref(cfg, environment, environ) is None:
        return []
    backend = SupabaseBackend(cfg, environment, environ, transport)
    try:
        if backend.spec.auth is not None and backend.spec.auth.site_url is not None:
            return []  # moai.toml sets it: `backend apply` owns it
        if str(backend.calls.auth_config().get("site_url") or "").rstrip("/") == url:
            return []
        backend.calls.update_auth({"site_url": url})
    finally:
        backend.close()
    audit.record(cfg.root, "backend site-url", environment=environment, target=backend.ref,
                 details={"backend": "supabase", "site_url": url})
    return [f"Supabase project {backend.ref}: the auth site URL is now {url} (production's URL)."]


def _add_preview(cfg: Config, environ: Mapping[str, str], name: str, platform: str, environment: str,
                 deployment: Deployment, transport: httpx.BaseTransport | None) -> list[str]:
    assert deployment.url
    entry: dict[str, Any] = {"backend": name, "environment": environment, "platform": platform,
                             "deployment": deployment.id, "url": deployment.url,
                             "added": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if name == "supabase":
        ref = _supabase_ref(cfg, environment, environ)
        value = redirect_value(deployment.url)
        if ref is None or value is None:
            return []
        entry.update(target=ref, value=value)
        _remember(cfg, entry)
        added = _supabase_set(cfg, environ, environment, transport, add=(value,))
        return [f"Supabase project {ref}: {value} added to the auth redirect URLs (this preview's sign-in works)."] \
            if added else []
    from .firebase import FirebaseBackend, project_of

    project = project_of(cfg, environment)[0]
    domain = urlsplit(deployment.url).hostname
    if not project or not domain:
        return []
    entry.update(target=project, value=domain)
    _remember(cfg, entry)
    backend = FirebaseBackend(cfg, environment, environ, transport)
    try:
        result = _firebase_sync(backend, cfg, project)
    finally:
        backend.close()
    return [f"Firebase project {project}: {domain} added to the Auth authorized domains (this preview's sign-in "
            "works)."] if result else []


def _remember(cfg: Config, entry: dict[str, Any]) -> None:
    """Recorded before the backend is changed: a value added but not recorded would look like drift."""
    entries = preview_record.load(cfg.root)
    key = (entry["backend"], entry["target"], entry["value"], entry["deployment"])
    if all((e.get("backend"), e.get("target"), e.get("value"), e.get("deployment")) != key for e in entries):
        preview_record.save(cfg.root, [*entries, entry])


def _supabase_set(cfg: Config, environ: Mapping[str, str], environment: str, transport: httpx.BaseTransport | None,
                  *, add: tuple[str, ...] = (), remove: frozenset[str] = frozenset(), dry_run: bool = False) -> list[str]:
    """Add and remove redirect URLs in one read and at most one update; returns what changed."""
    from .supabase import SupabaseBackend

    backend = SupabaseBackend(cfg, environment, environ, transport)
    try:
        live = _split(backend.calls.auth_config().get("uri_allow_list"))
        kept = [u for u in live if u not in remove]
        new = [u for u in add if u not in kept]
        changed = new + [u for u in live if u in remove]
        if changed and not dry_run:
            backend.calls.update_auth({"uri_allow_list": ",".join(kept + new)})
        return changed
    finally:
        backend.close()


def _firebase_sync(backend: Any, cfg: Config, project: str, *, dry_run: bool = False,
                   also_managed: frozenset[str] = frozenset()) -> list[str]:
    from .firebase_previews import sync_preview_domains

    wanted = preview_record.recorded(cfg.root, "firebase", project)
    managed: Callable[[str], bool] = lambda d: d in wanted or d in also_managed  # noqa: E731
    result = sync_preview_domains(backend, [f"https://{d}" for d in wanted], dry_run=dry_run, managed=managed)
    return result.added + result.removed


# -- cleanup ---------------------------------------------------------------------------------------------
@dataclass
class PreviewCleanup:
    removed: list[dict[str, Any]] = field(default_factory=list)  # the record entries whose deployment is gone
    kept: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"removed": [{k: e.get(k) for k in ("backend", "environment", "target", "value", "platform",
                                                   "deployment")} for e in self.removed],
                "kept": self.kept, "errors": self.errors, "dry_run": self.dry_run}


def _exists(provider: Any, deployment_id: str) -> bool:
    try:
        return provider.get_deployment(deployment_id).state not in GONE_STATES
    except NotFoundError:
        return False


def cleanup_previews(cfg: Config, environ: Mapping[str, str], *, dry_run: bool = False,
                     transport: httpx.BaseTransport | None = None) -> PreviewCleanup:
    """Remove the redirect URLs / authorized domains of preview deployments that no longer exist."""
    entries = preview_record.load(cfg.root)
    result = PreviewCleanup(dry_run=dry_run)
    gone: list[dict[str, Any]] = []
    for platform in sorted({str(e.get("platform")) for e in entries}):
        mine = [e for e in entries if e.get("platform") == platform]
        try:
            with open_provider(cfg, environ, platform, transport=transport) as provider:
                gone += [e for e in mine if not _exists(provider, str(e.get("deployment")))]
        except MoaiError as exc:  # a host we cannot ask: its entries stay, said
            result.errors.append(f"{platform}: {exc.message}")
    left = [e for e in entries if e not in gone]
    still = {(e["backend"], e.get("target"), e["value"]) for e in left}
    for backend_name, target, environment in sorted({(e["backend"], e.get("target"), e.get("environment"))
                                                      for e in gone}, key=str):
        values = frozenset(e["value"] for e in gone if (e["backend"], e.get("target")) == (backend_name, target)
                           and (backend_name, target, e["value"]) not in still)
        try:
            _remove(cfg, environ, str(backend_name), str(environment), str(target), values, dry_run, transport)
        except MoaiError as exc:
            result.errors.append(f"{backend_name} {target}: {exc.message}")
            left += [e for e in gone if (e["backend"], e.get("target")) == (backend_name, target)]
            continue
        result.removed += [e for e in gone if (e["backend"], e.get("target")) == (backend_name, target)]
    result.kept = len(left)
    if not dry_run and result.removed:
        preview_record.save(cfg.root, left)
        audit.record(cfg.root, "backend previews cleanup", details={
            "removed": [f"{e['backend']} {e.get('target')} {e['value']}" for e in result.removed]})
    return result


def _remove(cfg: Config, environ: Mapping[str, str], name: str, environment: str, target: str,
            values: frozenset[str], dry_run: bool, transport: httpx.BaseTransport | None) -> None:
    if not values:
        return
    if name == "supabase":
        _supabase_set(cfg, environ, environment, transport, remove=values, dry_run=dry_run)
        return
    from .firebase import FirebaseBackend

    backend = FirebaseBackend(cfg, environment, environ, transport)
    try:
        if not dry_run:  # the record without them first: the sync then removes exactly them
            preview_record.save(cfg.root, [e for e in preview_record.load(cfg.root)
                                           if not (e["backend"] == name and e.get("target") == target
                                                   and e["value"] in values)])
        _firebase_sync(backend, cfg, target, dry_run=dry_run, also_managed=values)
    finally:
        backend.close()
