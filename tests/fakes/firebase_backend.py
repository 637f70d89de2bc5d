"""A stateful fake of the Firebase backend APIs ``moai-adk backend`` uses, on top of ``FakeFirebase``
(which keeps serving Hosting, the token endpoints and Cloud Functions, so one fake covers a deploy
and a backend apply):

* Firebase Rules v1 (``/v1/projects/{p}``): ``:test`` compiles a ruleset and answers its issues with
  ``sourcePosition`` (a small syntax check: braces and parentheses balanced, a ``service`` block,
  every ``allow`` ending in ``;``), ``rulesets`` create (refused with the first issue when it does not
  compile) and get, ``releases`` list, create and patch;
* Firestore Admin v1 (``/v1/projects/{p}/databases/{db}/collectionGroups/{cg}``): ``indexes`` list
  (``-`` for every collection group), create (a done long-running operation; a second identical
  index is refused 409 ALREADY_EXISTS, as Firestore does), delete; ``fields`` list (with the filter
  firebase-tools sends) and patch (``updateMask`` indexConfig/ttlConfig; an empty ``indexConfig``
  goes back to the ancestor's settings);
* Identity Toolkit v2 (``/v2/projects/{p}/config``): get and update (``updateMask``);
* Firebase Management v1beta1 (``/v1beta1/projects/{p}/webApps``): list and ``getConfig``.

``denied`` projects answer 403 PERMISSION_DENIED naming the IAM permission the call needed (as
Google's APIs do, in the message and an ``ErrorInfo`` detail). ``fail_writes_after = n`` answers every
write after the n-th with 409 ABORTED (an apply interrupted half-way). Every request and answer is
checked against the discovery-document subsets in ``specs/`` (``firebaserules.json``,
``firestore.json``, ``identitytoolkit.json``, ``firebasemanagement.json``, and ``firebase.json`` for
Hosting): ``spec_check.load("firebase_backend")``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import ApiError, Recorded
from .firebase import FakeFirebase

_Err = ApiError
DEFAULT_DB = "(default)"
# spec method id -> the IAM permission it needs (what a 403 names)
PERMISSIONS = {
    "firebaserules.projects.test": "firebaserules.rulesets.test",
    "firebaserules.projects.rulesets.create": "firebaserules.rulesets.create",
    "firebaserules.projects.rulesets.get": "firebaserules.rulesets.get",
    "firebaserules.projects.releases.list": "firebaserules.releases.list",
    "firebaserules.projects.releases.create": "firebaserules.releases.create",
    "firebaserules.projects.releases.patch": "firebaserules.releases.update",
    "firestore.projects.databases.collectionGroups.indexes.list": "datastore.indexes.list",
    "firestore.projects.databases.collectionGroups.indexes.create": "datastore.indexes.create",
    "firestore.projects.databases.collectionGroups.indexes.delete": "datastore.indexes.delete",
    "firestore.projects.databases.collectionGroups.fields.list": "datastore.indexes.list",
    "firestore.projects.databases.collectionGroups.fields.patch": "datastore.indexes.update",
    "identitytoolkit.projects.getConfig": "firebaseauth.configs.get",
    "identitytoolkit.projects.updateConfig": "firebaseauth.configs.update",
    "firebase.projects.webApps.list": "firebase.clients.list",
    "firebase.projects.webApps.getConfig": "firebase.clients.get",
}
_PROJECT = re.compile(r"^/v\d\w*/projects/([^/:]+)")


@dataclass
class Project:
    id: str
    rulesets: dict[str, dict[str, Any]] = field(default_factory=dict)
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)  # release name (short) -> Release
    indexes: dict[str, dict[str, Any]] = field(default_factory=dict)  # index id -> Index
    fields: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (cg, field path) -> Field
    authorized_domains: list[str] = field(default_factory=list)
    web_apps: list[dict[str, Any]] = field(default_factory=list)


def compile_rules(name: str, content: str) -> list[dict[str, Any]]:
    """The fake's compiler: the first syntax error of one rules file as a Rules API ``Issue``."""
    def issue(line: int, column: int, what: str) -> list[dict[str, Any]]:
        return [{"sourcePosition": {"fileName": name, "line": line, "column": column}, "description": what,
                 "severity": "ERROR"}]

    stack: list[tuple[str, int, int]] = []
    pairs = {"}": "{", ")": "("}
    saw_service = False
    for n, raw in enumerate(content.splitlines(), start=1):
        line = raw.split("//", 1)[0]
        stripped = line.strip()
        if stripped.startswith("service "):
            saw_service = True
            if not re.match(r"service\s+(cloud\.firestore|firebase\.storage)\s*\{", stripped):
                return issue(n, line.index("service") + 1, f"Unexpected service '{stripped.split()[1]}'.")
        if stripped.startswith("allow ") and not stripped.endswith((";", "{", "(", "&&", "||")) and stack:
            if not re.match(r"allow\s+[\w, ]+\s*:\s*if\b", stripped) and not re.match(r"allow\s+[\w, ]+;$", stripped):
                return issue(n, line.index("allow") + 1, "mismatched input: expected ':' or ';' after the methods.")
            return issue(n, len(line.rstrip()) + 1, "Missing ';' at the end of the allow statement.")
        for col, ch in enumerate(line, start=1):
            if ch in "{(":
                stack.append((ch, n, col))
            elif ch in "})":
                if not stack or stack[-1][0] != pairs[ch]:
                    return issue(n, col, f"Unexpected '{ch}'.")
                stack.pop()
    if stack:
        ch, n, col = stack[-1]
        return issue(n, col, f"Unclosed '{ch}': expected '{'}' if ch == '{' else ')'}' before the end of the file.")
    if not saw_service:
        return issue(1, 1, "A rules file needs a 'service cloud.firestore { ... }' or 'service firebase.storage "
                           "{ ... }' block.")
    return []


class FakeFirebaseBackend(FakeFirebase):
    label = "firebase_backend"

    def __init__(self, base_url: str = "https://firebase.fake", *, project: str = "demo-project",
                 **kwargs: Any) -> None:
        super().__init__(base_url, project=project, **kwargs)
        self.projects: dict[str, Project] = {}
        self.denied: set[str] = set()
        self.fail_writes_after: int | None = None
        self.writes = 0
        self.add_project(project)
        r = self._backend
        r("POST", "/v1/projects/{p}:test", self._test)
        r("POST", "/v1/projects/{p}/rulesets", self._create_ruleset)
        r("GET", "/v1/projects/{p}/rulesets/{rs}", self._get_ruleset)
        r("GET", "/v1/projects/{p}/releases", self._list_releases)
        r("POST", "/v1/projects/{p}/releases", self._create_release)
        self.route_tail("PATCH", "/v1/projects/{p}/releases/{rel}", self._call(self._patch_release))
        base = "/v1/projects/{p}/databases/{db}/collectionGroups/{cg}"
        r("GET", base + "/indexes", self._list_indexes)
        r("POST", base + "/indexes", self._create_index)
        r("DELETE", base + "/indexes/{ix}", self._delete_index)
        r("GET", base + "/fields", self._list_fields)
        r("PATCH", base + "/fields/{fp}", self._patch_field)
        r("GET", "/v2/projects/{p}/config", self._get_config)
        r("PATCH", "/v2/projects/{p}/config", self._update_config)
        r("GET", "/v1beta1/projects/{p}/webApps", self._list_apps)
        r("GET", "/v1beta1/projects/{p}/webApps/{app}/config", self._app_config)

    # -- helpers for tests ---------------------------------------------------
    def add_project(self, pid: str) -> Project:
        proj = Project(pid, authorized_domains=["localhost", f"{pid}.firebaseapp.com", f"{pid}.web.app"])
        proj.web_apps.append({"name": f"projects/{pid}/webApps/1:1234567890:web:{pid[:6]}0a1b", "displayName": "web",
                              "appId": f"1:1234567890:web:{pid[:6]}0a1b", "projectId": pid, "state": "ACTIVE"})
        self.projects[pid] = proj
        return proj

    def live_rules(self, pid: str, release: str) -> str | None:
        proj = self.projects[pid]
        rel = proj.releases.get(release)
        if rel is None:
            return None
        rs = proj.rulesets[rel["rulesetName"].rsplit("/", 1)[-1]]
        return str(rs["source"]["files"][0]["content"])

    def index_creates(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and r.path.endswith("/indexes") and r.status == 200)

    # -- plumbing ----------------------------------------------------------------
    def _call(self, fn: Any) -> Any:
        def call(rec: Recorded, **params: str) -> httpx.Response:
            return httpx.Response(200, json=fn({k: v[-1] for k, v in rec.query.items()}, rec.json(), **params))

        return call

    def _backend(self, method: str, template: str, fn: Any) -> None:
        self.route(method, template, self._call(fn))

    @property
    def spec(self) -> Any:
        from .spec_check import load

        return load(self.label)

    def env(self) -> dict[str, str]:
        return {**super().env(), "MOAI_FIREBASE_RULES_URL": self.base_url, "MOAI_FIRESTORE_URL": self.base_url,
                "MOAI_IDENTITYTOOLKIT_URL": self.base_url, "MOAI_FIREBASE_MANAGEMENT_URL": self.base_url}

    def _backend_path(self, path: str) -> bool:
        return path.startswith("/v1/projects/") or bool(re.match(r"^/v2/projects/[^/]+/config$", path)) or \
            bool(re.match(r"^/v1beta1/projects/[^/]+/webApps", path))

    def _dispatch(self, rec: Recorded, request: httpx.Request) -> httpx.Response:
        if not self._backend_path(rec.path):
            return super()._dispatch(rec, request)
        try:
            self._auth(request)
            found = _PROJECT.match(rec.path)
            pid = found.group(1) if found else ""
            if pid in self.denied or pid not in self.projects:
                op = self.spec.match_id(rec.method, rec.path) or "?"
                perm = PERMISSIONS.get(op, "resourcemanager.projects.get")
                api = op.split(".", 1)[0]
                return httpx.Response(403, json={"error": {
                    "code": 403, "status": "PERMISSION_DENIED",
                    "message": f"Permission '{perm}' denied on resource '//{api}.googleapis.com/projects/{pid}' "
                               "(or it may not exist).",
                    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED",
                                 "domain": f"{api}.googleapis.com", "metadata": {"permission": perm}}]}})
            if rec.method != "GET" and not rec.path.endswith(":test"):
                with self.lock:
                    if self.fail_writes_after is not None and self.writes >= self.fail_writes_after:
                        raise _Err(409, "ABORTED", "The operation was aborted (the connection was reset).")
                    self.writes += 1
        except ApiError as e:
            return self.error(e.status, e.code, e.message)
        return self.call_route(rec)

    def _now_str(self) -> str:
        return dt.datetime.fromtimestamp(self.time(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- Firebase Rules --------------------------------------------------------
    def _issues(self, body: Any) -> list[dict[str, Any]]:
        issues: list[dict[str, Any]] = []
        for f in ((body or {}).get("source") or {}).get("files") or []:
            issues += compile_rules(str(f.get("name", "")), str(f.get("content", "")))
        return issues

    def _test(self, q: dict[str, str], body: Any, p: str) -> dict[str, Any]:
        return {"issues": self._issues(body)}

    def _create_ruleset(self, q: dict[str, str], body: Any, p: str) -> dict[str, Any]:
        issues = self._issues(body)
        if issues:
            pos = issues[0]["sourcePosition"]
            raise _Err(400, "INVALID_ARGUMENT", f"{pos['fileName']}:{pos['line']}:{pos['column']} - "
                                                f"{issues[0]['description']}")
        rid = str(uuid.uuid4())
        rs = {"name": f"projects/{p}/rulesets/{rid}", "source": body["source"], "createTime": self._now_str()}
        self.projects[p].rulesets[rid] = rs
        return rs

    def _get_ruleset(self, q: dict[str, str], body: Any, p: str, rs: str) -> dict[str, Any]:
        if rs not in self.projects[p].rulesets:
            raise _Err(404, "NOT_FOUND", f"Ruleset projects/{p}/rulesets/{rs} not found.")
        return self.projects[p].rulesets[rs]

    def _list_releases(self, q: dict[str, str], body: Any, p: str) -> dict[str, Any]:
        return {"releases": list(self.projects[p].releases.values())}

    def _set_release(self, p: str, rel: dict[str, Any], *, create: bool) -> dict[str, Any]:
        name = str(rel.get("name", ""))
        short = name.split("/releases/", 1)[-1]
        proj = self.projects[p]
        if not name.startswith(f"projects/{p}/releases/"):
            raise _Err(400, "INVALID_ARGUMENT", f"Release name {name!r} must start with projects/{p}/releases/.")
        if str(rel.get("rulesetName", "")).rsplit("/", 1)[-1] not in proj.rulesets:
            raise _Err(400, "INVALID_ARGUMENT", f"Ruleset {rel.get('rulesetName')} does not exist.")
        if create and short in proj.releases:
            raise _Err(409, "ALREADY_EXISTS", f"Release {name} already exists.")
        if not create and short not in proj.releases:
            raise _Err(404, "NOT_FOUND", f"Release {name} not found.")
        now = self._now_str()
        created = proj.releases.get(short, {}).get("createTime", now)
        proj.releases[short] = {"name": name, "rulesetName": rel["rulesetName"], "createTime": created,
                                "updateTime": now}
        return proj.releases[short]

    def _create_release(self, q: dict[str, str], body: Any, p: str) -> dict[str, Any]:
        return self._set_release(p, body or {}, create=True)

    def _patch_release(self, q: dict[str, str], body: Any, p: str, rel: str) -> dict[str, Any]:
        return self._set_release(p, (body or {}).get("release") or {}, create=False)

    # -- Firestore Admin ---------------------------------------------------------
    def _db(self, db: str) -> None:
        if db != DEFAULT_DB:
            raise _Err(404, "NOT_FOUND", f"Database {db} does not exist.")

    def _list_indexes(self, q: dict[str, str], body: Any, p: str, db: str, cg: str) -> dict[str, Any]:
        self._db(db)
        out = [ix for ix in self.projects[p].indexes.values() if cg == "-" or ix["name"].split("/")[5] == cg]
        return {"indexes": out}

    def _create_index(self, q: dict[str, str], body: Any, p: str, db: str, cg: str) -> dict[str, Any]:
        self._db(db)
        if cg == "-":
            raise _Err(400, "INVALID_ARGUMENT", "Name the collection group of the index.")
        shape = {"queryScope": body.get("queryScope", "COLLECTION"), "fields": body.get("fields", [])}
        for ix in self.projects[p].indexes.values():
            if ix["name"].split("/")[5] == cg and {k: ix[k] for k in shape} == shape:
                raise _Err(409, "ALREADY_EXISTS", "Index already exists.")
        iid = uuid.uuid4().hex[:16]
        name = f"projects/{p}/databases/{db}/collectionGroups/{cg}/indexes/{iid}"
        self.projects[p].indexes[iid] = {"name": name, **shape, "state": "READY"}
        return {"name": f"projects/{p}/databases/{db}/operations/{uuid.uuid4().hex}", "done": True,
                "response": {"@type": "type.googleapis.com/google.firestore.admin.v1.Index", "name": name}}

    def _delete_index(self, q: dict[str, str], body: Any, p: str, db: str, cg: str, ix: str) -> dict[str, Any]:
        self._db(db)
        if self.projects[p].indexes.pop(ix, None) is None:
            raise _Err(404, "NOT_FOUND", f"Index {ix} not found.")
        return {}

    def _list_fields(self, q: dict[str, str], body: Any, p: str, db: str, cg: str) -> dict[str, Any]:
        self._db(db)
        return {"fields": [f for (c, _), f in self.projects[p].fields.items() if cg == "-" or c == cg]}

    def _patch_field(self, q: dict[str, str], body: Any, p: str, db: str, cg: str, fp: str) -> dict[str, Any]:
        self._db(db)
        mask = [m for m in q.get("updateMask", "indexConfig,ttlConfig").split(",") if m]
        proj = self.projects[p]
        name = f"projects/{p}/databases/{db}/collectionGroups/{cg}/fields/{fp}"
        cur = dict(proj.fields.get((cg, fp)) or {"name": name})
        if "indexConfig" in mask:
            indexes = ((body or {}).get("indexConfig") or {}).get("indexes")
            if indexes is None:
                cur.pop("indexConfig", None)
            else:
                cur["indexConfig"] = {"indexes": indexes, "usesAncestorConfig": False}
        if "ttlConfig" in mask:
            if (body or {}).get("ttlConfig") is not None:
                cur["ttlConfig"] = {"state": "ACTIVE"}
            else:
                cur.pop("ttlConfig", None)
        if "indexConfig" in cur or "ttlConfig" in cur:
            proj.fields[(cg, fp)] = cur
        else:
            proj.fields.pop((cg, fp), None)
        return {"name": f"projects/{p}/databases/{db}/operations/{uuid.uuid4().hex}", "done": True}

    # -- Identity Toolkit -----------------------------------------------------------
    def _get_config(self, q: dict[str, str], body: Any, p: str) -> dict[str, Any]:
        return {"name": f"projects/{p}/config", "authorizedDomains": list(self.projects[p].authorized_domains),
                "subtype": "FIREBASE_AUTH"}

    def _update_config(self, q: dict[str, str], body: Any, p: str) -> dict[str, Any]:
        mask = [m for m in q.get("updateMask", "").split(",") if m]
        if not mask:
            raise _Err(400, "INVALID_ARGUMENT", "updateMask is required.")
        if "authorizedDomains" in mask:
            domains = (body or {}).get("authorizedDomains") or []
            for d in domains:
                if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", d):
                    raise _Err(400, "INVALID_ARGUMENT", f"INVALID_AUTHORIZED_DOMAIN : {d}")
            self.projects[p].authorized_domains = list(dict.fromkeys(domains))
        return self._get_config(q, None, p)

    # -- Firebase Management ----------------------------------------------------------
    def _list_apps(self, q: dict[str, str], body: Any, p: str) -> dict[str, Any]:
        return {"apps": list(self.projects[p].web_apps)}

    def _app_config(self, q: dict[str, str], body: Any, p: str, app: str) -> dict[str, Any]:
        for a in self.projects[p].web_apps:
            if a["appId"] == app or app == "-":
                return {"projectId": p, "appId": a["appId"], "apiKey": "AIzaSyFake" + p.replace("-", "")[:20],
                        "authDomain": f"{p}.firebaseapp.com", "storageBucket": f"{p}.appspot.com",
                        "messagingSenderId": "1234567890"}
        raise _Err(404, "NOT_FOUND", f"Web app {app} not found in project {p}.")
