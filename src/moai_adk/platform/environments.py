"""Environment aliases of the local platform: ``staging`` -> a ready deployment of a site.

Each site may point any non-production environment name at one of its ready deployments
(``PUT /_api/v1/sites/<site>/environments/<environment>``); production stays the site's own
pointer (``promote``/``rollback``), so ``production`` here reads it and a ``PUT`` of it promotes.

An alias is served at ``http://<environment>.env.<site>.<domain>:<port>/`` (three labels: a site
host has one, a deployment host two, so no site or deployment id can ever be read as an alias)
and in path form at ``/_envs/<site>/<environment>/`` (whose scope cookie carries ``e.<site>.<environment>``).
Environment names are DNS labels (lowercase letters, digits, '-', at most 63): they become a host label.

The aliases live in their own SQLite table of the platform's database and in a dict the serving
path reads without a lock (one reference assignment per switch, as production).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .apierror import ApiError
from .meta import now_iso

if TYPE_CHECKING:
    from .meta import DeployRow
    from .service import Platform

ALIAS_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ALIAS_LABEL = "env"  # <environment>.env.<site>.<domain>
PATH_PREFIX = "/_envs/"
MAX_ALIASES = 64  # per site
SCHEMA = """
CREATE TABLE IF NOT EXISTS env_aliases (
  site TEXT NOT NULL, environment TEXT NOT NULL, deploy_id TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (site, environment));
"""


def check_name(environment: str) -> None:
    if not ALIAS_RE.match(environment):
        raise ApiError(400, "bad_environment",
                       f"environment {environment!r} must be 1-63 lowercase letters, digits or '-' (a DNS label: "
                       "it becomes <environment>.env.<site>.localhost)")


class EnvAliases:
    """The environment aliases of every site of one platform."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform
        with platform.meta.tx() as c:
            c.execute(SCHEMA)
        self.current: dict[tuple[str, str], str] = {
            (str(s), str(e)): str(d) for s, e, d in platform.meta.query(
                "SELECT site, environment, deploy_id FROM env_aliases")}

    def deploy_for(self, site: str, environment: str) -> str | None:
        """The deployment ``environment`` of ``site`` serves (the serving path's lookup)."""
        return self.current.get((site, environment))

    def list(self, site: str) -> list[dict[str, Any]]:
        info = self.p.site(site)
        rows = self.p.meta.query("SELECT environment, deploy_id, updated_at FROM env_aliases WHERE site = ?"
                                 " ORDER BY environment", (site,))
        out = [{"environment": "production", "deploy_id": info["production"], "updated_at": None}]
        out.extend({"environment": str(e), "deploy_id": str(d), "updated_at": str(u)} for e, d, u in rows)
        return out

    def assign(self, site: str, environment: str, deploy_id: object) -> DeployRow:
        """Point ``environment`` of ``site`` at ready deployment ``deploy_id`` (``production``: a promote)."""
        self.p.site(site)
        check_name(environment)
        if environment == "production":
            return self.p.promote(site, deploy_id)
        row = self.p._ready(site, deploy_id)
        key = (site, environment)
        if key not in self.current and sum(1 for s, _ in self.current if s == site) >= MAX_ALIASES:
            raise ApiError(409, "too_many_environments",
                           f"site {site!r} already has {MAX_ALIASES} environment aliases; that is the limit")
        self.p.views.get(row.id)  # its index is loaded before the switch, as for production
        with self.p._switch_lock:
            with self.p.meta.tx() as c:
                c.execute("INSERT INTO env_aliases (site, environment, deploy_id, updated_at) VALUES (?,?,?,?)"
                          " ON CONFLICT (site, environment) DO UPDATE SET deploy_id = excluded.deploy_id,"
                          " updated_at = excluded.updated_at", (site, environment, row.id, now_iso()))
            updated = dict(self.current)
            updated[key] = row.id
            self.current = updated  # one reference assignment: readers see the old or the new map
        return row
