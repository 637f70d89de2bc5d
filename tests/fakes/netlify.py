"""A stateful fake of the Netlify REST API (the routes moai-adk calls).

Keeps sites, deploys (new -> preparing -> prepared -> uploading -> uploaded
-> ready, or error), files by SHA-1 shared across sites, the published
deploy with its history (for rollback) and env vars per account.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from . import FakeApi, Faults, Recorded, json_response, new_id

ACCOUNT_ID = "acc0001"
ACCOUNT_SLUG = "fake-team"


class FakeNetlify(FakeApi):
    base_path = "/api/v1"
    label = "netlify"

    def __init__(self, *, diff_polls: int = 1, process_polls: int = 1, faults: Faults | None = None,
                 tokens: tuple[str, ...] = ("test-token",)) -> None:
        super().__init__(tokens=tokens, faults=faults)
        self.diff_polls = diff_polls  # polls an async deploy spends in "preparing"
        self.process_polls = process_polls  # polls between "uploaded" and "ready"
        self.sites: dict[str, dict[str, Any]] = {}
        self.deploys: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, bytes] = {}
        self.upload_counts: dict[str, int] = {}
        self.published_history: dict[str, list[str]] = {}
        self.env: dict[str, dict[str, Any]] = {}  # key -> envVar (one site per fake account is enough)
        self.fail_next_deploy: str | None = None
        self._t = itertools.count()
        r = self.route
        r("GET", "/sites", self.list_sites)
        r("POST", "/sites", self.create_site)
        r("GET", "/sites/{site_id}", self.get_site)
        r("POST", "/sites/{site_id}/deploys", self.create_deploy)
        r("GET", "/sites/{site_id}/deploys", self.list_deploys)
        r("PUT", "/sites/{site_id}/deploys/{deploy_id}", self.update_deploy)
        r("GET", "/sites/{site_id}/deploys/{deploy_id}", self.get_site_deploy)
        r("POST", "/sites/{site_id}/deploys/{deploy_id}/restore", self.restore)
        r("PUT", "/sites/{site_id}/rollback", self.rollback)
        r("GET", "/deploys/{deploy_id}", self.get_deploy)
        self.route_tail("PUT", "/deploys/{deploy_id}/files/{path}", self.upload_file)
        r("GET", "/accounts/{account_id}/env", self.list_env)
        r("POST", "/accounts/{account_id}/env", self.create_env)
        r("GET", "/accounts/{account_id}/env/{key}", self.get_env)
        r("PUT", "/accounts/{account_id}/env/{key}", self.replace_env)
        r("PATCH", "/accounts/{account_id}/env/{key}", self.patch_env)
        r("DELETE", "/accounts/{account_id}/env/{key}", self.delete_env)
        r("DELETE", "/accounts/{account_id}/env/{key}/value/{id}", self.delete_env_value)

    def error(self, status: int, code: str, message: str, **extra: Any) -> httpx.Response:
        return json_response(status, {"code": status, "message": message})  # the spec's `error` definition

    def now(self) -> str:
        base = datetime(2026, 1, 1, tzinfo=UTC)
        return (base + timedelta(seconds=next(self._t))).isoformat().replace("+00:00", "Z")

    # -- sites ---------------------------------------------------------------
    def add_site(self, name: str) -> dict[str, Any]:
        sid = new_id("", 8) + "-" + new_id("", 4) + "-" + new_id("", 12)
        site = {"id": sid, "name": name, "account_id": ACCOUNT_ID, "account_slug": ACCOUNT_SLUG,
                "url": f"http://{name}.netlify.app", "ssl_url": f"https://{name}.netlify.app",
                "admin_url": f"https://app.netlify.com/sites/{name}", "published_deploy": None,
                "created_at": self.now()}
        self.sites[sid] = site
        self.published_history[sid] = []
        return site

    def published_id(self, site_id: str) -> str | None:
        pub = self.sites[site_id]["published_deploy"]
        return pub["id"] if pub else None

    def list_sites(self, rec: Recorded) -> httpx.Response:
        name = rec.query.get("name", [""])[0]
        return json_response(200, [s for s in self.sites.values() if not name or name in s["name"]])

    def create_site(self, rec: Recorded) -> httpx.Response:
        name = (rec.json() or {}).get("name") or new_id("site-", 6)
        if any(s["name"] == name for s in self.sites.values()):
            return json_response(422, {"code": 422, "message": "name already exists"})
        return json_response(201, self.add_site(name))

    def get_site(self, rec: Recorded, site_id: str) -> httpx.Response:
        site = self.sites.get(site_id)
        return json_response(200, site) if site else json_response(404, {"code": 404, "message": "Not Found"})

    # -- deploys -------------------------------------------------------------
    def _public(self, d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if not k.startswith("_")}

    def _publish(self, d: dict[str, Any]) -> None:
        site = self.sites[d["site_id"]]
        site["published_deploy"] = self._public(d)
        d["published_at"] = self.now()
        hist = self.published_history[d["site_id"]]
        if not hist or hist[-1] != d["id"]:
            hist.append(d["id"])

    def _set_manifest(self, d: dict[str, Any], body: dict[str, Any]) -> None:
        files = body.get("files") or {}
        d["_files"] = {p.lstrip("/"): s for p, s in files.items()}
        missing = sorted({s for s in d["_files"].values() if s not in self.blobs})
        d["_required"] = missing
        d["_required_set"] = set(missing)
        d["_received"] = set()
        if body.get("async"):
            d["state"] = "preparing"
            d["_polls"] = self.diff_polls
            d["required"] = []
        else:
            self._diffed(d)

    def _diffed(self, d: dict[str, Any]) -> None:
        d["required"] = list(d["_required"])
        d["state"] = "prepared" if d["required"] else "uploaded"
        d["_polls"] = self.process_polls

    def _advance(self, d: dict[str, Any]) -> None:
        if d["state"] == "preparing":
            if d["_polls"] > 0:
                d["_polls"] -= 1
                return
            self._diffed(d)
            return
        if d["state"] == "uploaded":
            if d["_polls"] > 0:
                d["_polls"] -= 1
                return
            if d.get("_fail"):
                d["state"] = "error"
                d["error_message"] = d["_fail"]
                return
            d["state"] = "ready"
            if not d["draft"] and not d.get("branch"):
                self._publish(d)

    def create_deploy(self, rec: Recorded, site_id: str) -> httpx.Response:
        site = self.sites.get(site_id)
        if site is None:
            return json_response(404, {"code": 404, "message": "Not Found"})
        body = rec.json() or {}
        did = new_id("", 24)
        draft = bool(body.get("draft"))
        branch = body.get("branch")
        context = "branch-deploy" if branch else ("deploy-preview" if draft else "production")
        prefix = branch or did
        d: dict[str, Any] = {
            "id": did, "site_id": site_id, "state": "new", "name": site["name"], "draft": draft, "branch": branch,
            "context": context, "title": rec.query.get("title", [None])[0], "created_at": self.now(),
            "deploy_url": f"http://{prefix}--{site['name']}.netlify.app",
            "deploy_ssl_url": f"https://{prefix}--{site['name']}.netlify.app",
            "url": site["url"], "ssl_url": site["ssl_url"], "admin_url": site["admin_url"],
            "required": [], "error_message": None, "published_at": None,
            "_fail": self.fail_next_deploy, "_files": {}, "_required": [], "_required_set": set(), "_received": set(), "_polls": 0,
        }
        self.fail_next_deploy = None
        self.deploys[did] = d
        if "files" in body:
            self._set_manifest(d, body)
        return json_response(200, self._public(d))

    def update_deploy(self, rec: Recorded, site_id: str, deploy_id: str) -> httpx.Response:
        d = self.deploys.get(deploy_id)
        if d is None or d["site_id"] != site_id:
            return json_response(404, {"code": 404, "message": "Not Found"})
        body = rec.json() or {}
        for k in ("draft", "branch"):
            if k in body:
                d[k] = body[k]
        self._set_manifest(d, body)
        return json_response(200, self._public(d))

    def get_site_deploy(self, rec: Recorded, site_id: str, deploy_id: str) -> httpx.Response:
        d = self.deploys.get(deploy_id)
        if d is None or d["site_id"] != site_id:
            return json_response(404, {"code": 404, "message": "Not Found"})
        self._advance(d)
        return json_response(200, self._public(d))

    def get_deploy(self, rec: Recorded, deploy_id: str) -> httpx.Response:
        d = self.deploys.get(deploy_id)
        if d is None:
            return json_response(404, {"code": 404, "message": "Not Found"})
        self._advance(d)
        return json_response(200, self._public(d))

    def list_deploys(self, rec: Recorded, site_id: str) -> httpx.Response:
        if site_id not in self.sites:
            return json_response(404, {"code": 404, "message": "Not Found"})
        per_page = int(rec.query.get("per_page", ["100"])[0])
        items = sorted((d for d in self.deploys.values() if d["site_id"] == site_id),
                       key=lambda d: d["created_at"], reverse=True)
        return json_response(200, [self._public(d) for d in items[:per_page]])

    def upload_file(self, rec: Recorded, deploy_id: str, path: str) -> httpx.Response:
        d = self.deploys.get(deploy_id)
        if d is None:
            return json_response(404, {"code": 404, "message": "Not Found"})
        sha = d["_files"].get(path)
        if sha is None:
            return json_response(422, {"code": 422, "message": f"{path} is not part of this deploy"})
        if hashlib.sha1(rec.body).hexdigest() != sha:
            return json_response(422, {"code": 422, "message": f"SHA1 of {path} does not match the manifest"})
        self.blobs[sha] = rec.body
        self.upload_counts[sha] = self.upload_counts.get(sha, 0) + 1
        if sha in d["_required_set"]:
            d["_received"].add(sha)
            d["state"] = "uploading"
            if len(d["_received"]) == len(d["_required_set"]):
                d["state"] = "uploaded"
                d["_polls"] = self.process_polls
        return json_response(200, {"id": new_id("", 10), "path": "/" + path, "sha": sha, "size": len(rec.body)})

    def restore(self, rec: Recorded, site_id: str, deploy_id: str) -> httpx.Response:
        d = self.deploys.get(deploy_id)
        if d is None or d["site_id"] != site_id:
            return json_response(404, {"code": 404, "message": "Not Found"})
        if d["state"] != "ready":
            return json_response(422, {"code": 422, "message": "Deploy is not ready"})
        self._publish(d)
        return json_response(201, self._public(d))

    def rollback(self, rec: Recorded, site_id: str) -> httpx.Response:
        hist = self.published_history.get(site_id)
        if hist is None:
            return json_response(404, {"code": 404, "message": "Not Found"})
        if len(hist) < 2:
            return json_response(422, {"code": 422, "message": "No previous deploy to roll back to"})
        hist.pop()
        d = self.deploys[hist[-1]]
        self.sites[site_id]["published_deploy"] = self._public(d)
        return httpx.Response(204)

    # -- env -----------------------------------------------------------------
    # What the real service refuses, as Netlify's CLI and docs state it:
    # * ``{account_id}`` is the account slug (netlify/cli env-set.ts uses ``siteInfo.account_slug``);
    # * a secret needs explicit deploy contexts: no ``all`` value, and no new non-empty value in
    #   ``dev``, whose values stay readable (env-set.ts refuses a secret value without a
    #   non-dev context and empties ``dev`` when it splits an ``all`` value for a secret); a
    #   ``dev`` value the variable already had may stay, and ``PATCH`` may set it later;
    # * a secret is not allowed in the ``post-processing`` scope.
    SCOPES = ("builds", "functions", "runtime", "post-processing")

    def _env_error(self, status: int, message: str) -> httpx.Response:
        return json_response(status, {"code": status, "message": message})

    def _env_item(self, account_id: str, key: str) -> dict[str, Any] | None:
        return self.env.get(key) if account_id == ACCOUNT_SLUG else None

    def _env_public(self, item: dict[str, Any]) -> dict[str, Any]:
        values = []
        for v in item["values"]:
            v = dict(v)
            if item["is_secret"] and v["context"] != "dev":
                v.pop("value", None)
            values.append(v)
        return {**item, "values": values}

    def _secret_problem(self, body: dict[str, Any], old: dict[str, Any] | None) -> str | None:
        if not body.get("is_secret"):
            return None
        if any(s.replace("_", "-") == "post-processing" for s in body.get("scopes") or []):
            return "Secret values cannot be used within the post-processing scope"
        kept_dev = {v["value"] for v in (old or {}).get("values", []) if v["context"] == "dev"}
        for v in body.get("values") or []:
            if v.get("context") == "all":
                return "Secret values must be set for specific deploy contexts, not all"
            if v.get("context") == "dev" and v.get("value") and v.get("value") not in kept_dev:
                return "Secret values cannot be set in the dev context"
        return None

    def list_env(self, rec: Recorded, account_id: str) -> httpx.Response:
        if account_id != ACCOUNT_SLUG:
            return self._env_error(404, "Not Found")
        context = rec.query.get("context_name", [None])[0]
        out = [self._env_public(i) for i in self.env.values()
               if not context or any(v["context"] in (context, "all") for v in i["values"])]
        return json_response(200, out)

    def _values(self, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": new_id("", 12), "value": v.get("value", ""), "context": v.get("context", "all"),
                 **({"context_parameter": v["context_parameter"]} if v.get("context_parameter") else {})}
                for v in values]

    def create_env(self, rec: Recorded, account_id: str) -> httpx.Response:
        if account_id != ACCOUNT_SLUG:
            return self._env_error(404, "Not Found")
        created = []
        for item in rec.json() or []:
            if item["key"] in self.env:
                return self._env_error(409, f"Environment variable {item['key']} already exists")
            problem = self._secret_problem(item, None)
            if problem:
                return self._env_error(422, problem)
            self.env[item["key"]] = {"key": item["key"], "scopes": list(item.get("scopes") or self.SCOPES),
                                     "values": self._values(item.get("values") or []),
                                     "is_secret": bool(item.get("is_secret")), "updated_at": self.now()}
            created.append(self._env_public(self.env[item["key"]]))
        return json_response(201, created)

    def get_env(self, rec: Recorded, account_id: str, key: str) -> httpx.Response:
        item = self._env_item(account_id, key)
        return json_response(200, self._env_public(item)) if item else self._env_error(404, "Not Found")

    def replace_env(self, rec: Recorded, account_id: str, key: str) -> httpx.Response:
        item = self._env_item(account_id, key)
        if item is None:
            return self._env_error(404, "Not Found")
        body = rec.json() or {}
        problem = self._secret_problem(body, item)
        if problem:
            return self._env_error(422, problem)
        item.update(values=self._values(body.get("values") or []), is_secret=bool(body.get("is_secret")),
                    scopes=list(body.get("scopes") or self.SCOPES), updated_at=self.now())
        return json_response(200, self._env_public(item))

    def patch_env(self, rec: Recorded, account_id: str, key: str) -> httpx.Response:
        item = self._env_item(account_id, key)
        if item is None:
            return self._env_error(404, "Not Found")
        body = rec.json() or {}
        if item["is_secret"] and body.get("context") == "all":
            return self._env_error(422, "Secret values must be set for specific deploy contexts, not all")
        item["values"] = [v for v in item["values"] if v["context"] != body.get("context")]
        item["values"] += self._values([body])
        item["updated_at"] = self.now()
        return json_response(201, self._env_public(item))

    def delete_env(self, rec: Recorded, account_id: str, key: str) -> httpx.Response:
        if self._env_item(account_id, key) is None:
            return self._env_error(404, "Not Found")
        del self.env[key]
        return httpx.Response(204)

    def delete_env_value(self, rec: Recorded, account_id: str, key: str, id: str) -> httpx.Response:
        item = self._env_item(account_id, key)
        if item is None or not any(v["id"] == id for v in item["values"]):
            return self._env_error(404, "Not Found")
        item["values"] = [v for v in item["values"] if v["id"] != id]
        return httpx.Response(204)

    # -- serving deploys (for health checks) -----------------------------------
    def edge_transport(self) -> httpx.MockTransport:
        """Serves each deploy at its ``deploy_ssl_url`` and the published deploy at the site URL."""
        from .vercel import serve_file

        def serve(request: httpx.Request) -> httpx.Response:
            url = f"https://{request.url.host}"
            with self.lock:
                d = next((x for x in reversed(list(self.deploys.values())) if x["deploy_ssl_url"] == url), None)
                if d is None:
                    site = next((s for s in self.sites.values() if s["ssl_url"] == url), None)
                    pub = site["published_deploy"] if site else None
                    d = self.deploys.get(pub["id"]) if pub else None
                if d is None or d["state"] != "ready":
                    return httpx.Response(404, text="Not Found")
                return serve_file(d["_files"], self.blobs, request.url.path)

        return httpx.MockTransport(serve)
