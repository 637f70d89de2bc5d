"""Preview channels' domains in Auth's authorized domains (so sign-in works on a preview URL).

``sync_preview_domains(backend, urls)`` makes the preview-channel domains
(``<site>--<channel>-<hash>.web.app``) among the project's authorized domains exactly those of
``urls`` (the live preview channels' URLs): a new channel's domain is added, a deleted channel's is
removed, every other domain is left as it is. One read and at most one update of the Auth config.
``managed`` widens what counts as a preview domain: ``moai_adk.backend.previews`` passes the domains it
recorded for preview deploys on any host (a Vercel or Netlify preview of a Firebase-backed site).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .firebase import PREVIEW_DOMAIN, FirebaseBackend


@dataclass
class PreviewDomains:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _channel_domain(domain: str) -> bool:
    return PREVIEW_DOMAIN.match(domain) is not None


def sync_preview_domains(backend: FirebaseBackend, urls: Iterable[str], *, dry_run: bool = False,
                         managed: Callable[[str], bool] = _channel_domain) -> PreviewDomains:
    wanted = list(dict.fromkeys(host for u in urls if (host := urlsplit(u).hostname) and managed(host)))
    before = backend.apis.request_count
    try:
        live = [str(d) for d in backend.apis.get_auth_config().get("authorizedDomains") or []]
        result = PreviewDomains(added=[d for d in wanted if d not in live],
                                removed=[d for d in live if managed(d) and d not in wanted])
        if (result.added or result.removed) and not dry_run:
            backend.apis.set_authorized_domains([d for d in live if d not in result.removed] + result.added)
        return result
    finally:
        backend.round_trips += backend.apis.request_count - before
