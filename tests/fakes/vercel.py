"""A stateful fake of the Vercel REST API (the routes moai-adk calls).

Keeps projects, deployments (QUEUED -> BUILDING -> READY, or ERROR), files by
SHA-1, env vars, aliases and the production pointer; answers the
``missing_files`` handshake exactly as Vercel's client expects it.

As the real API does:

* the first deployment of a project without a production deployment is
  made a production deployment (``target: "production"`` in the create
  answer, although the request named no target), so it goes live when READY;
* a production deployment turns READY first and gets its aliases
  (``aliasAssigned``, ``alias``, the production pointer) ``alias_steps``
  polls later, or ``aliasError`` when ``alias_error_next`` is set;
* a deployment lists at most 15,000 files (``files should NOT have more than
  15000 items`` otherwise);
* an archive deployment (``vercel deploy --archive=tgz``) lists only
  ``.vercel/source.tgz.part1..N`` entries (mode 0o666): once every part is
  uploaded, the parts are joined in order, un-gzipped and unpacked; each
  member must be a regular file with a plain relative name, and becomes a
  file of the deployment (``archives`` keeps what each archive held);
* ``POST /v10/projects/{id}/promote/{dpl}`` needs a JSON body (Vercel's CLI
  sends ``{}`` and marks it required), answers ``201`` and switches
  production, or ``202`` without switching while a rolling release is
  active (``rolling_release``; the promotion waits in ``queued_promotions``).

Answers carry every field the OpenAPI document marks required (``_project_public``,
``_public``, ``_summary``): the spec layer of ``FakeApi`` checks them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
import re
import tarfile
import time
import zlib
from typing import Any

import httpx

from . import FakeApi, Faults, Recorded, json_response, new_id

USER_ID = "user_fake0001"
CREATOR = {"uid": USER_ID, "email": "dev@example.com", "username": "fake-dev"}
REGION = "iad1"
FILE_LIMIT = 15_000
PART = re.compile(r"\.vercel/source\.tgz\.part([1-9][0-9]*)")


class FakeVercel(FakeApi):
    label = "vercel"

    def __init__(self, *, build_steps: int = 2, alias_steps: int = 2, faults: Faults | None = None,
                 tokens: tuple[str, ...] = ("test-token",)) -> None:
        super().__init__(tokens=tokens, faults=faults)
        self.build_steps = build_steps  # polls a deployment spends in QUEUED/BUILDING
        self.alias_steps = alias_steps  # polls a READY production deployment waits for its aliases
        self.alias_error_next: dict[str, str] | None = None  # {code, message} for the next alias assignment
        self.rolling_release = False  # an active rolling release: promotions are queued (202)
        self.queued_promotions: list[tuple[str, str]] = []  # (project id, deployment id)
        self.projects: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.upload_counts: dict[str, int] = {}
        self.max_files: int | None = FILE_LIMIT  # files one deployment may list
        self.archives: list[dict[str, Any]] = []  # per archive unpacked: gzip header, members (name, mode, ...)
        self._unpacked: dict[tuple[str, ...], dict[str, str]] = {}  # part digests -> the files they held
        self.envs: dict[str, list[dict[str, Any]]] = {}
        self.aliases: dict[str, str] = {}
        self.aliases_created: dict[str, str] = {}  # alias -> ISO 8601 time (the API answers a date-time string)
        self.fail_next_build: str | None = None  # error message for the next deployment
        self.protection_bypass: str | None = None  # Deployment Protection: edge answers 401 without it
        self.broken_hosts: set[str] = set()  # the edge answers 502 for these hosts (a broken domain)
        self._clock = itertools.count(int(time.time() * 1000))
        r = self.route
        r("GET", "/v9/projects/{idOrName}", self.get_project)
        r("POST", "/v11/projects", self.create_project)
        r("GET", "/v10/projects", self.list_projects)
        r("POST", "/v13/deployments", self.create_deployment)
        r("GET", "/v13/deployments/{idOrUrl}", self.get_deployment)
        r("GET", "/v6/deployments", self.list_deployments)
        r("POST", "/v2/files", self.upload_file)
        r("POST", "/v10/projects/{projectId}/promote/{deploymentId}", self.promote)
        r("POST", "/v9/projects/{projectId}/rollback/{deploymentId}", self.rollback)
        r("GET", "/v2/deployments/{id}/aliases", self.list_aliases)
        r("POST", "/v2/deployments/{id}/aliases", self.assign_alias)
        r("GET", "/v10/projects/{idOrName}/env", self.list_env)
        r("POST", "/v10/projects/{idOrName}/env", self.create_env)
        r("GET", "/v1/projects/{idOrName}/env/{id}", self.get_env)
        r("PATCH", "/v9/projects/{idOrName}/env/{id}", self.edit_env)
        r("DELETE", "/v9/projects/{idOrName}/env/{id}", self.remove_env)

    # -- helpers -------------------------------------------------------------
    def now(self) -> int:
        return next(self._clock)

    @staticmethod
    def iso(ms: int) -> str:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _owner(self, rec: Recorded) -> str:
        return rec.query.get("teamId", [USER_ID])[0]

    def find_project(self, rec: Recorded, id_or_name: str) -> dict[str, Any] | None:
        for p in self.projects.values():
            if id_or_name in (p["id"], p["name"]) and p["accountId"] == self._owner(rec):
                return p
        return None

    def add_project(self, name: str, account_id: str = USER_ID) -> dict[str, Any]:
        pid = new_id("prj_")
        self.projects[pid] = {"id": pid, "name": name, "accountId": account_id, "createdAt": self.now(),
                              "latestDeployments": [], "targets": {}, "lastAliasRequest": None,
                              "directoryListing": False, "nodeVersion": "22.x",
                              "resourceConfig": {"functionDefaultRegions": [REGION]},
                              "defaultResourceConfig": {"functionDefaultRegions": [REGION]}}
        self.envs[pid] = []
        return self.projects[pid]

    def _has_production(self, project_id: str) -> bool:
        """A production deployment exists (live, or on its way: building or waiting for its aliases)."""
        return bool(self.projects[project_id]["targets"].get("production")) or any(
            d["projectId"] == project_id and d["target"] == "production" and d["readyState"] not in ("ERROR", "CANCELED")
            for d in self.deployments.values())

    def _project_public(self, p: dict[str, Any]) -> dict[str, Any]:
        """A project as the API answers it: deployments it points to in full (``latestDeployments``, ``targets``)."""
        out = dict(p)
        out["latestDeployments"] = [self._summary(self.deployments[x["id"]]) for x in p["latestDeployments"]]
        out["targets"] = {t: {**self._summary(self.deployments[x["id"]]), "alias": x["alias"]}
                          for t, x in p["targets"].items()}
        return out

    def _summary(self, d: dict[str, Any]) -> dict[str, Any]:
        """A deployment as a project's ``latestDeployments``/``targets`` list it."""
        return {"id": d["id"], "url": d["url"], "name": d["name"], "createdAt": d["createdAt"], "createdIn": REGION,
                "creator": CREATOR, "deploymentHostname": d["url"].removesuffix(".vercel.app"), "plan": "hobby",
                "private": True, "type": "LAMBDAS", "userId": USER_ID, "readyState": d["readyState"],
                "target": d["target"]}

    def production_id(self, project_id: str) -> str | None:
        prod = self.projects[project_id]["targets"].get("production")
        return prod["id"] if prod else None

    def _public(self, d: dict[str, Any]) -> dict[str, Any]:
        keep = ("id", "url", "name", "projectId", "readyState", "target", "createdAt", "meta", "inspectorUrl",
                "aliasAssigned", "aliasError", "errorCode", "errorMessage", "alias", "readySubstate")
        out = {k: d[k] for k in keep if k in d and d[k] is not None}
        out.update(status=d["readyState"], type="LAMBDAS", version=2, creator={"uid": USER_ID}, ownerId=d["ownerId"],
                   plan="hobby", public=False, regions=[REGION], createdIn=REGION, bootedAt=d["createdAt"],
                   buildingAt=d["createdAt"], buildSkipped=False, isInConcurrentBuildsQueue=False,
                   isInSystemBuildsQueue=False, build={"env": []}, env=[], routes=None,
                   projectSettings=d.get("projectSettings") or {})
        return out

    def _advance(self, d: dict[str, Any]) -> None:
        if d["readyState"] in ("READY", "ERROR", "CANCELED"):
            return
        if d["_polls"] > 0:
            d["_polls"] -= 1
            d["readyState"] = "BUILDING" if d["_polls"] < self.build_steps else "QUEUED"
            return
        if d.get("_fail"):
            d.update(readyState="ERROR", errorCode="BUILD_FAILED", errorMessage=d["_fail"])
            return
        d["readyState"] = "READY"
        project = self.projects[d["projectId"]]
        project["latestDeployments"].insert(0, {"id": d["id"], "readyState": "READY"})
        if d["target"] != "production":
            d["aliasAssigned"] = True
            return
        d["_alias_polls"] = self.alias_steps
        d["_alias_error"], self.alias_error_next = self.alias_error_next, None
        self._assign_aliases(d)

    def _assign_aliases(self, d: dict[str, Any]) -> None:
        """A READY production deployment gets its production aliases a few polls after READY."""
        if d["readyState"] != "READY" or d["aliasAssigned"] or d.get("aliasError") or "_alias_polls" not in d:
            return
        if d["_alias_polls"] > 0:
            d["_alias_polls"] -= 1
            return
        if d["_alias_error"]:
            d["aliasError"] = dict(d["_alias_error"])
            return
        project = self.projects[d["projectId"]]
        d["aliasAssigned"] = True
        d["alias"] = [f"{project['name']}.vercel.app"]
        self._point_production(project, d, "promote")

    def _point_production(self, project: dict[str, Any], d: dict[str, Any], kind: str) -> None:
        previous = self.production_id(project["id"])
        project["targets"]["production"] = {"id": d["id"], "url": d["url"], "alias": [f"{project['name']}.vercel.app"]}
        self.aliases[f"{project['name']}.vercel.app"] = d["id"]
        self.aliases_created[f"{project['name']}.vercel.app"] = self.iso(self.now())
        d["readySubstate"] = "PROMOTED"
        if previous is not None:  # the first production has nothing to switch from: no alias request
            project["lastAliasRequest"] = {"fromDeploymentId": previous, "toDeploymentId": d["id"],
                                           "jobStatus": "succeeded", "requestedAt": self.now(), "type": kind}

    # -- projects ------------------------------------------------------------
    def get_project(self, rec: Recorded, idOrName: str) -> httpx.Response:
        p = self.find_project(rec, idOrName)
        if p is None:
            return self.error(404, "not_found", "Project not found")
        return json_response(200, self._project_public(p))

    def create_project(self, rec: Recorded) -> httpx.Response:
        body = rec.json() or {}
        if not body.get("name"):
            return self.error(400, "bad_request", "name is required")
        if self.find_project(rec, body["name"]):
            return self.error(409, "conflict", "A project with this name already exists")
        return json_response(200, self._project_public(self.add_project(body["name"], self._owner(rec))))

    def list_projects(self, rec: Recorded) -> httpx.Response:
        mine = [p for p in self.projects.values() if p["accountId"] == self._owner(rec)]
        return json_response(200, {"projects": [self._project_public(p) for p in mine],
                                   "pagination": {"count": len(mine), "next": None, "prev": None}})

    # -- deployments ---------------------------------------------------------
    def create_deployment(self, rec: Recorded) -> httpx.Response:
        body = rec.json() or {}
        project = self.find_project(rec, body.get("project") or body.get("name") or "")
        if project is None:
            return self.error(404, "not_found", "Project not found")
        if body.get("deploymentId"):
            source = self.deployments.get(body["deploymentId"])
            if source is None:
                return self.error(404, "not_found", "Deployment not found")
            files = dict(source["files"])
        else:
            listed = body.get("files") or []
            if self.max_files is not None and len(listed) > self.max_files:
                return self.error(400, "bad_request",
                                  f"Invalid request: `files` should NOT have more than {self.max_files} items.")
            files = {}
            missing: list[str] = []
            for f in listed:
                if f.get("sha") not in self.blobs and f.get("sha") not in missing:
                    missing.append(f["sha"])
                files[f["file"]] = f.get("sha")
            if missing:
                return self.error(400, "missing_files", "Missing files", missing=missing)
            if any(PART.fullmatch(f.get("file", "")) for f in listed):
                unpacked = self.unpack(listed)
                if isinstance(unpacked, str):
                    return self.error(400, "invalid_archive", unpacked)
                files = unpacked
        dpl = new_id("dpl_", 20)
        url = f"{project['name']}-{dpl[4:13]}.vercel.app"
        target = body.get("target") or None
        if target is None and not self._has_production(project["id"]):
            target = "production"  # the project's first deployment: Vercel makes it production
        d: dict[str, Any] = {
            "id": dpl, "url": url, "name": project["name"], "projectId": project["id"], "readyState": "QUEUED",
            "target": target, "createdAt": self.now(), "meta": body.get("meta") or {},
            "inspectorUrl": f"https://vercel.com/fake/{project['name']}/{dpl}", "aliasAssigned": False,
            "files": files, "_polls": self.build_steps, "_fail": self.fail_next_build,
            "projectSettings": body.get("projectSettings"), "ownerId": project["accountId"],
        }
        self.fail_next_build = None
        self.deployments[dpl] = d
        if self.build_steps == 0:
            self._advance(d)
        return json_response(200, self._public(d))

    def unpack(self, listed: list[dict[str, Any]]) -> dict[str, str] | str:
        """The files of an archive deployment (path -> SHA-1), or what is wrong with it."""
        parts: dict[int, str] = {}
        for f in listed:
            m = PART.fullmatch(f.get("file", ""))
            if m is None:
                return f"an archive deployment lists only .vercel/source.tgz.partN files, not {f.get('file')!r}"
            if f.get("mode", 0o666) != 0o666:
                return f"{f['file']} has mode {f['mode']:o}; archive parts are sent with mode 666"
            parts[int(m[1])] = f["sha"]
        if sorted(parts) != list(range(1, len(parts) + 1)):
            return f"archive parts must be numbered 1..{len(parts)}, got {sorted(parts)}"
        key = tuple(parts[i] for i in sorted(parts))
        if key in self._unpacked:  # the same archive again: unpacked once, like any content-addressed store
            return dict(self._unpacked[key])
        data = b"".join(self.blobs[parts[i]] for i in sorted(parts))
        files: dict[str, str] = {}
        members: list[dict[str, Any]] = []
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                for member in tar:
                    name = member.name
                    if not member.isreg():
                        return f"{name} is not a regular file (tar type {member.type!r})"
                    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in name.split("/")):
                        return f"{name!r} is not a plain relative path"
                    if name in files:
                        return f"{name} is in the archive twice"
                    extracted = tar.extractfile(member)
                    content = extracted.read() if extracted is not None else b""
                    sha = hashlib.sha1(content).hexdigest()
                    self.blobs.setdefault(sha, content)
                    files[name] = sha
                    members.append({"name": name, "mode": member.mode, "uid": member.uid, "gid": member.gid,
                                    "uname": member.uname, "gname": member.gname, "mtime": member.mtime,
                                    "size": member.size})
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            return f"the archive cannot be unpacked: {exc}"
        self.archives.append({"parts": list(key), "gzip_header": data[:10], "members": members})
        self._unpacked[key] = files
        return dict(files)

    def get_deployment(self, rec: Recorded, idOrUrl: str) -> httpx.Response:
        d = self.deployments.get(idOrUrl) or next((x for x in self.deployments.values() if x["url"] == idOrUrl), None)
        if d is None:
            return self.error(404, "not_found", "Deployment not found")
        if d["readyState"] == "READY":
            self._assign_aliases(d)
        else:
            self._advance(d)
        return json_response(200, self._public(d))

    def list_deployments(self, rec: Recorded) -> httpx.Response:
        q = {k: v[0] for k, v in rec.query.items()}
        items = [d for d in self.deployments.values()
                 if (not q.get("projectId") or d["projectId"] == q["projectId"])
                 and (not q.get("target") or d["target"] == q["target"])
                 and (not q.get("state") or d["readyState"] in q["state"].split(","))]
        items.sort(key=lambda d: d["createdAt"], reverse=True)
        limit = int(q.get("limit", 20))
        out = [{"uid": d["id"], "name": d["name"], "projectId": d["projectId"], "url": d["url"],
                "created": d["createdAt"], "createdAt": d["createdAt"], "type": "LAMBDAS", "creator": {"uid": USER_ID},
                "state": d["readyState"], "readyState": d["readyState"], "target": d["target"],
                "meta": d["meta"], "inspectorUrl": d["inspectorUrl"]} for d in items[:limit]]
        return json_response(200, {"deployments": out, "pagination": {"count": len(out), "next": None, "prev": None}})

    def upload_file(self, rec: Recorded) -> httpx.Response:
        digest = rec.headers.get("x-vercel-digest") or rec.headers.get("x-now-digest")
        if not digest:
            return self.error(400, "missing_digest", "Missing x-vercel-digest header")
        if hashlib.sha1(rec.body).hexdigest() != digest:
            return self.error(400, "invalid_digest", "Digest is not valid")
        if int(rec.headers.get("content-length", -1)) != len(rec.body):
            return self.error(400, "invalid_size", "File size is not valid")
        self.blobs[digest] = rec.body
        self.upload_counts[digest] = self.upload_counts.get(digest, 0) + 1
        return json_response(200, {"urls": []})

    def promote(self, rec: Recorded, projectId: str, deploymentId: str) -> httpx.Response:
        project = self.find_project(rec, projectId)
        d = self.deployments.get(deploymentId)
        if project is None or d is None:
            return self.error(404, "not_found", "Not found")
        if rec.headers.get("content-type", "").split(";")[0].strip() != "application/json" or not isinstance(
                _json_or_none(rec.body), dict):
            return self.error(400, "bad_request", "Invalid request: the request body must be a JSON object")
        if d["target"] != "production" or d["readyState"] != "READY":
            return self.error(400, "bad_request", "Only READY production deployments can be promoted")
        if self.rolling_release:  # queued: it starts when the active rolling release completes
            self.queued_promotions.append((project["id"], d["id"]))
            return httpx.Response(202)
        self._point_production(project, d, "promote")
        return httpx.Response(201)

    def rollback(self, rec: Recorded, projectId: str, deploymentId: str) -> httpx.Response:
        project = self.find_project(rec, projectId)
        d = self.deployments.get(deploymentId)
        if project is None or d is None:
            return self.error(404, "not_found", "Not found")
        if d["target"] != "production" or d["readyState"] != "READY":
            return self.error(400, "bad_request", "Can only roll back to a READY production deployment")
        self._point_production(project, d, "rollback")
        return httpx.Response(201, json={})

    def list_aliases(self, rec: Recorded, id: str) -> httpx.Response:
        if id not in self.deployments:
            return self.error(404, "not_found", "Deployment not found")
        out = [{"alias": a, "uid": f"als_{i}", "created": self.aliases_created.get(a, self.iso(0))}
               for i, (a, dep) in enumerate(self.aliases.items()) if dep == id]
        return json_response(200, {"aliases": out})

    def assign_alias(self, rec: Recorded, id: str) -> httpx.Response:
        alias = (rec.json() or {}).get("alias")
        if id not in self.deployments or not alias:
            return self.error(404 if id not in self.deployments else 400, "bad_request", "Bad alias request")
        self.aliases[alias] = id
        self.aliases_created[alias] = self.iso(self.now())
        return json_response(200, {"uid": new_id("als_"), "alias": alias, "created": self.aliases_created[alias]})

    # -- env -----------------------------------------------------------------
    def _env_public(self, e: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in e.items() if k != "value"}
        out["value"] = "" if e["type"] == "sensitive" else "enc:" + hashlib.sha1(e["value"].encode()).hexdigest()
        out["decrypted"] = False
        return out

    def list_env(self, rec: Recorded, idOrName: str) -> httpx.Response:
        p = self.find_project(rec, idOrName)
        if p is None:
            return self.error(404, "not_found", "Project not found")
        custom = rec.query.get("customEnvironmentId", [None])[0]
        items = [e for e in self.envs[p["id"]] if not custom or custom in e.get("customEnvironmentIds", [])]
        return json_response(200, {"envs": [self._env_public(e) for e in items]})

    def create_env(self, rec: Recorded, idOrName: str) -> httpx.Response:
        p = self.find_project(rec, idOrName)
        if p is None:
            return self.error(404, "not_found", "Project not found")
        body = rec.json()
        created = []
        for item in body if isinstance(body, list) else [body]:
            targets = item.get("target") or []
            if item.get("type") == "sensitive" and "development" in targets:
                return self.error(400, "bad_request", "Sensitive variables cannot target development")
            for e in self.envs[p["id"]]:
                if e["key"] == item["key"] and (set(e["target"]) & set(targets) or
                                                set(e.get("customEnvironmentIds", [])) & set(item.get("customEnvironmentIds", []))):
                    return self.error(400, "ENV_CONFLICT", f"A variable with the name {item['key']} already exists for the target")
            e = {"id": new_id("env_"), "key": item["key"], "value": item["value"], "type": item["type"],
                 "target": list(targets), "customEnvironmentIds": list(item.get("customEnvironmentIds", [])),
                 "createdAt": self.now()}
            self.envs[p["id"]].append(e)
            created.append(e)
        return json_response(201, {"created": self._env_public(created[0]) if len(created) == 1
                                   else [self._env_public(c) for c in created], "failed": []})

    def _env_item(self, rec: Recorded, idOrName: str, id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        p = self.find_project(rec, idOrName)
        if p is None:
            return None, None
        return p, next((e for e in self.envs[p["id"]] if e["id"] == id), None)

    def get_env(self, rec: Recorded, idOrName: str, id: str) -> httpx.Response:
        p, e = self._env_item(rec, idOrName, id)
        if e is None:
            return self.error(404, "not_found", "Env var not found")
        out = {k: v for k, v in e.items()}
        if e["type"] == "sensitive":
            out.pop("value")
            out["decrypted"] = False
        else:
            out["decrypted"] = True
        return json_response(200, out)

    def edit_env(self, rec: Recorded, idOrName: str, id: str) -> httpx.Response:
        p, e = self._env_item(rec, idOrName, id)
        if e is None:
            return self.error(404, "not_found", "Env var not found")
        body = rec.json() or {}
        if body.get("type") == "sensitive" and e["type"] != "sensitive":
            return self.error(400, "bad_request", "Cannot change a variable to sensitive")
        for k in ("key", "value", "type", "target", "customEnvironmentIds"):
            if k in body:
                e[k] = body[k]
        if not e["target"] and not e["customEnvironmentIds"]:
            return self.error(400, "bad_request", "A variable needs at least one target")
        return json_response(200, self._env_public(e))

    def remove_env(self, rec: Recorded, idOrName: str, id: str) -> httpx.Response:
        p, e = self._env_item(rec, idOrName, id)
        if p is None or e is None:
            return self.error(404, "not_found", "Env var not found")
        self.envs[p["id"]].remove(e)
        return json_response(200, self._env_public(e))

    # -- serving deployments (for health checks) -------------------------------
    def edge_transport(self) -> httpx.MockTransport:
        """Serves each deployment's files at ``https://<deployment url>/`` (and production at
        ``https://<project>.vercel.app``), so a health check can fetch a preview."""

        def serve(request: httpx.Request) -> httpx.Response:
            if self.protection_bypass and request.headers.get("x-vercel-protection-bypass") != self.protection_bypass:
                return httpx.Response(401, text="Authentication Required")
            host = request.url.host
            if host in self.broken_hosts:
                return httpx.Response(502, text="DEPLOYMENT_NOT_REACHABLE")
            with self.lock:
                dep_id = self.aliases.get(host) or next(
                    (d["id"] for d in self.deployments.values() if d["url"] == host), None)
                d = self.deployments.get(dep_id or "")
                if d is None or d["readyState"] != "READY":
                    return httpx.Response(404, text="DEPLOYMENT_NOT_FOUND")
                return serve_file(d["files"], self.blobs, request.url.path)

        return httpx.MockTransport(serve)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def serve_file(files: dict[str, str], blobs: dict[str, bytes], path: str) -> httpx.Response:
    rel = path.lstrip("/")
    for candidate in (rel, f"{rel}/index.html".lstrip("/"), f"{rel}index.html"):
        sha = files.get(candidate)
        if sha is not None and sha in blobs:
            return httpx.Response(200, content=blobs[sha])
    return httpx.Response(404, text="Not Found")
