"""The projects side of the Supabase Management API fake: list, create, health.

A created project comes up as the real one does: its services answer ``COMING_UP`` for the first
``health_polls`` health reads (``GET /v1/projects/{ref}/health``), then ``ACTIVE_HEALTHY`` (a project
whose ``health_polls`` is ``None`` never comes up). ``fail_after_create`` answers the next create 500
after the project was made, as a lost answer would look to the client.
"""

from __future__ import annotations

import random
import string
import time
from typing import Any

import httpx

from . import Recorded

HEALTH_SERVICES = ("auth", "db", "db_postgres_user", "pooler", "realtime", "rest", "storage", "pg_bouncer")


class ProjectRoutes:
    """Routes mixed into ``FakeSupabaseApi`` (which gives ``route``, ``projects``, ``lock``)."""

    organizations: set[str]
    project_rows: dict[str, dict[str, Any]]
    health_left: dict[str, int | None]   # ref -> health reads still answered COMING_UP (None: never healthy)
    health_polls: int | None
    fail_after_create: bool
    created: list[dict[str, Any]]        # the bodies of every create (db_pass included, for the tests)

    def register_project_routes(self) -> None:
        self.organizations = {"acme"}
        self.project_rows = {}
        self.health_left = {}
        self.health_polls = 2
        self.fail_after_create = False
        self.created = []
        r = self.route  # type: ignore[attr-defined]
        r("GET", "/v1/projects", self.list_projects)
        r("POST", "/v1/projects", self.create_project)
        r("GET", "/v1/projects/{ref}/health", self.health)

    def _row(self, ref: str) -> dict[str, Any]:
        return self.project_rows.get(ref) or {
            "id": ref, "ref": ref, "organization_id": "acme", "organization_slug": "acme", "name": ref,
            "region": "us-east-1", "created_at": "2026-01-01T00:00:00.000Z", "status": "ACTIVE_HEALTHY"}

    def list_projects(self, rec: Recorded) -> httpx.Response:
        rows = []
        for ref in self.projects:  # type: ignore[attr-defined]
            row = dict(self._row(ref))
            row["database"] = {"host": f"db.{ref}.supabase.co", "version": "17.4.1", "postgres_engine": "17",
                               "release_channel": "ga"}
            rows.append(row)
        return httpx.Response(200, json=rows)

    def create_project(self, rec: Recorded) -> httpx.Response:
        from .supabase_api import Project

        body = rec.json() or {}
        org = body["organization_slug"]
        if org not in self.organizations:
            return httpx.Response(403, json={"message": f"You do not have permission to create projects in {org}"})
        if len(body["db_pass"]) < 8:
            return httpx.Response(400, json={"message": "db_pass is too weak"})
        ref = "".join(random.choice(string.ascii_lowercase) for _ in range(20))
        region = (body.get("region_selection") or {}).get("code") or body.get("region") or "us-east-1"
        self.project_rows[ref] = {
            "id": ref, "ref": ref, "organization_id": org, "organization_slug": org, "name": body["name"],
            "region": region, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "status": "COMING_UP"}
        self.projects[ref] = Project(ref)  # type: ignore[attr-defined]
        self.health_left[ref] = self.health_polls
        self.created.append(body)
        if self.fail_after_create:
            self.fail_after_create = False
            return httpx.Response(500, json={"message": "Internal server error"})
        return httpx.Response(201, json={k: v for k, v in self.project_rows[ref].items()})

    def health(self, rec: Recorded, ref: str) -> httpx.Response:
        self._project(ref)  # type: ignore[attr-defined]
        left = self.health_left.get(ref, 0)
        up = left is not None and left <= 0
        if left is not None and left > 0:
            self.health_left[ref] = left - 1
        if up and ref in self.project_rows:
            self.project_rows[ref]["status"] = "ACTIVE_HEALTHY"
        status = "ACTIVE_HEALTHY" if up else "COMING_UP"
        return httpx.Response(200, json=[{"name": s, "healthy": up, "status": status}
                                         for s in rec.query.get("services", [])])
