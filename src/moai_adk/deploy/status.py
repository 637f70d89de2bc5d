"""Every environment side by side (what ``moai-adk status`` shows under the project).

For each environment of moai.toml (and the four default ones): its platform, the deployment it
serves (``Environments.environment_deployment``), that deployment's git commit, time and author
(the platform's where it says, else the audit log's deploy entry), its URL, a quick health probe
(all environments at once, short timeout) and, when it has a database (``db_url_env``), how many
files of supabase/migrations are not in that database's migration history (``db.plan.find_pending``).
A cell that cannot be known says why instead of failing the whole table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from ..config import DEFAULT_ENVIRONMENTS, Config
from ..db.connect import connect, resolve_target, translate
from ..db.files import scan
from ..db.history import list_versions
from ..db.plan import find_pending
from ..errors import MoaiError
from ..providers.base import Deployment, Provider
from ..providers.capabilities import Environments, Hosting
from . import provenance
from .pipeline import probe

PROBE_TIMEOUT = 3.0
Opener = Callable[[str], Provider]


def environments_status(cfg: Config, environ: Mapping[str, str], opener: Opener, *,
                        transport: httpx.BaseTransport | None = None,
                        probe_timeout: float = PROBE_TIMEOUT) -> list[dict[str, Any]]:
    names = sorted(set(cfg.environments) | set(DEFAULT_ENVIRONMENTS),
                   key=lambda n: (DEFAULT_ENVIRONMENTS.index(n) if n in DEFAULT_ENVIRONMENTS else 9, n))
    entries = provenance.audit_entries(cfg.root) if (cfg.root / ".moai" / "audit").exists() else []
    providers: dict[str, Provider | MoaiError] = {}
    rows = []
    try:
        for name in names:
            platform = cfg.platform_for(name)
            row: dict[str, Any] = {"environment": name, "platform": platform, "deployment": None, "commit": None,
                                   "dirty": None, "deployed_at": None, "deployed_by": None, "url": None,
                                   "health": None, "pending_migrations": None, "error": None,
                                   "requires": cfg.environment(name).requires}
            if platform not in providers:
                try:
                    providers[platform] = opener(platform)
                except MoaiError as exc:
                    providers[platform] = exc
            provider = providers[platform]
            try:
                if isinstance(provider, MoaiError):
                    raise provider
                _fill_deployment(row, cfg, name, provider, entries)
            except MoaiError as exc:
                row["error"] = exc.message
            rows.append(row)
        with ThreadPoolExecutor(max_workers=8) as pool:
            health = list(pool.map(lambda r: _health(r, cfg, providers, transport, probe_timeout), rows))
            pending = list(pool.map(lambda r: _pending(r["environment"], cfg, environ), rows))
        for row, h, m in zip(rows, health, pending, strict=True):
            row["health"], row["pending_migrations"] = h, m
    finally:
        for p in providers.values():
            if isinstance(p, Provider):
                p.close()
    return rows


def _fill_deployment(row: dict[str, Any], cfg: Config, name: str, provider: Provider,
                     entries: list[dict[str, Any]]) -> None:
    if not isinstance(provider, Environments):
        row["error"] = f"{provider.name} hosts no environments"
        return
    d = provider.environment_deployment(name)
    if d is None:
        return
    row["deployment"] = d.id
    row["url"] = (d.production_url if name == "production" else d.extra.get("alias_url") or d.url) or d.url
    row["_probe"] = probe_url(name, d)
    meta = d.extra.get("meta") or {}
    row["commit"] = meta.get("githubCommitSha") or meta.get("commit") if isinstance(meta, dict) else None
    row["deployed_at"] = d.extra.get("assigned_at") or d.created_at
    made = provenance.deploy_record(cfg.root, provider.name, d.id, entries)
    if made is not None:
        git = (made.get("details") or {}).get("git") or {}
        row["commit"] = row["commit"] or git.get("commit")
        row["dirty"] = git.get("dirty")
        row["deployed_by"] = made.get("who")
        row["deployed_at"] = row["deployed_at"] or made.get("at")


def probe_url(name: str, d: Deployment) -> str | None:
    """The URL this machine can fetch for environment ``name`` served by ``d`` (no special DNS)."""
    if name == "production":
        return d.production_health_url or d.production_url
    return str(d.extra.get("alias_path_url") or "") or d.health_url or d.url


def _health(row: dict[str, Any], cfg: Config, providers: Mapping[str, Provider | MoaiError],
            transport: httpx.BaseTransport | None, timeout: float) -> str | None:
    url = row.pop("_probe", None)
    if not url:
        return None
    provider = providers.get(row["platform"])
    headers: dict[str, str] = provider.health_headers() if isinstance(provider, Hosting) else {}
    path = cfg.environment(row["environment"]).health_check or cfg.health_check
    last = probe(str(url).rstrip("/") + path, timeout=timeout, transport=transport, headers=headers,
                 sleep=lambda _s: None)
    return "ok" if last is None else last


def _pending(name: str, cfg: Config, environ: Mapping[str, str]) -> int | str | None:
    """Migrations of supabase/migrations not in the environment's database; a sentence when unknown."""
    env = cfg.environment(name)
    if not env.db_url_env:
        return None
    try:
        target = resolve_target(cfg, name, None, environ)
        assert target is not None
        local = scan(cfg.root / "supabase" / "migrations", cfg.root)
        try:
            with connect(target, connect_timeout=3) as conn:
                remote = list_versions(conn)
        except psycopg.Error as exc:
            raise translate(exc, target, "read the migration history") from exc
        return len(find_pending(local.files, remote, include_all=True, target_flag=f"--env {name}").files)
    except MoaiError as exc:
        return f"unknown: {exc.message}"
