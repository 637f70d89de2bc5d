"""A stateful fake of Firebase Hosting: the REST API (v1beta1), the upload host,
Google's OAuth2 token endpoint and the Cloud Functions v2 listing, in one ``httpx`` handler.

State kept like the real service: sites, versions with their status machine
(CREATED -> FINALIZED; ``populateFiles`` only while CREATED; finalize refused
while a populated hash has not been uploaded), file contents stored by hash
(each upload must be gzip whose SHA-256 is the hash in its URL), channels
with releases and ``expireTime``, the ``live`` channel, ``versions:clone``
operations (done on their first poll), access tokens (the API accepts only
those its token endpoint issued, until they expire) issued for service-account
JWTs (signature checked against the account's public key) and for refresh
tokens sent with firebase-tools' OAuth client, deployed functions, and 429
bursts. Time is the fake's own clock (``time()``, ``advance()``): channels
whose ``expireTime`` has passed are deleted, as the real service does.

Paths: ``/v1beta1/...`` API, ``/upload/...`` uploads, ``/oauth2/token`` and
``/oauth2/v3/token`` tokens, ``/v2/projects/{p}/locations/-/functions`` functions,
``/__hosting/{site}/{channel}/...`` serves what a channel has released (its
``url``). Every API request and answer goes through the spec layer of
``FakeApi`` (the discovery document's subset in ``specs/firebase.json``): a
request outside it is answered 400 and recorded in ``violations``.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from . import ApiError, FakeApi, Recorded, serve_handler

V = "/v1beta1"
REFRESH_TOKEN = "1//0fake-refresh-token-from-login-ci"
CLI_CLIENT_ID = "563584335869-fgrhgmd47bqnekij5i8b5pr03ho849e6.apps.googleusercontent.com"
CLI_CLIENT_SECRET = "j9iVZfS8kkCEFUPaAeJV0sAi"
TOKEN_LIFETIME = 3599


_Err = ApiError  # _Err(http status, Google status, message)


@dataclass
class Site:
    name: str
    project: str
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # version id -> {path: hash}
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # newest first


class FakeFirebase(FakeApi):
    label = "firebase"

    def __init__(self, base_url: str = "https://firebase.fake", *, refresh_tokens: tuple[str, ...] = (REFRESH_TOKEN,),
                 project: str = "demo-project", sites: tuple[str, ...] = ("demo-site",),
                 start: dt.datetime | None = None) -> None:
        super().__init__(tokens=())  # access tokens exist only once the token endpoint issued them
        self.refresh_tokens = set(refresh_tokens)
        self.token_expiry: dict[str, float] = {}
        self.token_grants: list[str] = []  # grant_type of every token issued
        self.functions: list[dict[str, Any]] = []  # Cloud Functions v2 ``Function`` objects
        self.start = (start or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        self.offset = 0.0  # seconds the clock was advanced
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.sites: dict[str, Site] = {}
        self.blobs: dict[str, bytes] = {}
        self.ops: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, Any] = {}  # client_email -> public key
        self.revoked: set[str] = set()
        self.bursts: dict[str, int] = {}  # "api" | "populate" | "upload" | "token" -> 429s still to send
        self.uploaded: list[str] = []
        self._tick = 0
        for s in sites:
            self.add_site(s)
        api = self._api
        api("POST", "/projects/{project}/sites", lambda q, b, project: self._create_site(project, q))
        api("GET", "/projects/{project}/sites/{site}", lambda q, b, project, site: self._site_obj(self._site(site)))
        api("POST", "/projects/{project}/sites/{site}/versions:clone", lambda q, b, project, site: self._clone(site, b))
        api("POST", "/projects/{project}/sites/{site}/versions", lambda q, b, project, site: self._create_version(site, b))
        api("GET", "/projects/{project}/sites/{site}/versions",
            lambda q, b, project, site: self._page(list(reversed(self._site(site).versions.values())), "versions", q))
        api("GET", "/projects/{project}/sites/{site}/versions/{version}",
            lambda q, b, project, site, version: self._version(self._site(site), version))
        api("PATCH", "/projects/{project}/sites/{site}/versions/{version}",
            lambda q, b, project, site, version: self._patch_version(site, version, q, b))
        api("POST", "/projects/{project}/sites/{site}/versions/{version}:populateFiles",
            lambda q, b, project, site, version: self._populate(site, version, b))
        api("GET", "/projects/{project}/operations/{operation}", lambda q, b, project, operation: self._poll(operation))
        api("POST", "/projects/{project}/sites/{site}/channels",
            lambda q, b, project, site: self._create_channel(site, q, b))
        api("GET", "/projects/{project}/sites/{site}/channels",
            lambda q, b, project, site: self._page(list(self._site(site).channels.values()), "channels", q))
        api("GET", "/projects/{project}/sites/{site}/channels/{channel}",
            lambda q, b, project, site, channel: self._get_channel(site, channel))
        api("PATCH", "/projects/{project}/sites/{site}/channels/{channel}",
            lambda q, b, project, site, channel: self._patch_channel(site, channel, q, b))
        api("DELETE", "/projects/{project}/sites/{site}/channels/{channel}",
            lambda q, b, project, site, channel: self._delete_channel(site, channel))
        api("POST", "/projects/{project}/sites/{site}/channels/{channel}/releases",
            lambda q, b, project, site, channel: self._release(site, channel, q, b))
        api("GET", "/projects/{project}/sites/{site}/channels/{channel}/releases",
            lambda q, b, project, site, channel: self._page(self._releases(site, channel), "releases", q))

    def _api(self, method: str, template: str, fn: Callable[..., Any]) -> None:
        """Route ``V + template`` to ``fn(query, json body, **path params)``; its result is the 200 answer."""
        def call(rec: Recorded, **params: str) -> httpx.Response:
            return httpx.Response(200, json=fn({k: v[-1] for k, v in rec.query.items()}, rec.json(), **params))

        self.route(method, V + template, call)

    def error(self, status: int, code: str, message: str, **extra: Any) -> httpx.Response:
        google = code if code.isupper() else "INVALID_ARGUMENT"  # the base class passes its own lower-case codes
        return httpx.Response(status, json={"error": {"code": status, "message": message, "status": google}})

    # -- helpers for tests ---------------------------------------------------
    def add_site(self, site: str) -> Site:
        obj = Site(site, self.project)
        obj.channels["live"] = self._channel_obj(obj, "live", None)
        obj.releases["live"] = []
        self.sites[site] = obj
        return obj

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/oauth2/token"

    def service_account(self, email: str = "deployer@demo-project.iam.gserviceaccount.com") -> dict[str, Any]:
        """A service-account key (JSON dict) whose token_uri is this fake."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        self.accounts[email] = key.public_key()
        return {"type": "service_account", "project_id": self.project, "private_key_id": uuid.uuid4().hex,
                "private_key": pem, "client_email": email, "client_id": "1" * 21, "token_uri": self.token_uri}

    def env(self) -> dict[str, str]:
        """What a client needs to reach this fake with the refresh token it accepts."""
        return {"FIREBASE_TOKEN": REFRESH_TOKEN, "MOAI_FIREBASE_API_URL": self.base_url,
                "MOAI_GOOGLE_OAUTH_URL": self.base_url, "MOAI_FIREBASE_FUNCTIONS_URL": self.base_url}

    def issue_token(self, grant: str = "test") -> str:
        """A fresh access token, as the token endpoint hands out."""
        with self.lock:
            token = f"ya29.fake-{uuid.uuid4().hex}"
            self.tokens.add(token)
            self.token_expiry[token] = self.time() + TOKEN_LIFETIME
            self.token_grants.append(grant)
        return token

    def add_function(self, fid: str, region: str = "us-central1", *, gen2: bool = True,
                     service: str | None = None) -> dict[str, Any]:
        """A deployed function; a 2nd-gen one runs on the Cloud Run service ``service`` (default: its id)."""
        fn: dict[str, Any] = {"name": f"projects/{self.project}/locations/{region}/functions/{fid}",
                              "environment": "GEN_2" if gen2 else "GEN_1", "state": "ACTIVE"}
        if gen2:
            fn["serviceConfig"] = {"service": f"projects/{self.project}/locations/{region}/services/{service or fid}",
                                   "uri": f"https://{service or fid}-abc123-uc.a.run.app"}
        self.functions.append(fn)
        return fn

    def time(self) -> float:
        """The fake's clock, epoch seconds."""
        return self.start.timestamp() + self._tick + self.offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += seconds

    def live_version(self, site: str = "demo-site") -> str | None:
        rel = self.sites[site].channels["live"].get("release")
        return rel["version"]["name"].rsplit("/", 1)[-1] if rel else None

    # -- plumbing --------------------------------------------------------------
    def _now(self, plus: int = 0) -> str:
        with self.lock:
            self._tick += 1
            t = dt.datetime.fromtimestamp(self.time() + plus, dt.UTC)
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _expire_channels(self) -> None:
        now = self.time()
        for site in self.sites.values():
            for cid, chan in list(site.channels.items()):
                expire = chan.get("expireTime")
                if cid != "live" and expire and _epoch(expire) <= now:
                    del site.channels[cid]
                    site.releases.pop(cid, None)

    def _channel_obj(self, site: Site, cid: str, ttl: str | None) -> dict[str, Any]:
        now = self._now()
        chan: dict[str, Any] = {"name": f"projects/{site.project}/sites/{site.name}/channels/{cid}",
                                "url": f"{self.base_url}/__hosting/{site.name}/{cid}", "createTime": now,
                                "updateTime": now, "retainedReleaseCount": 10}
        if ttl is not None:
            chan["expireTime"] = self._now(int(float(ttl[:-1])))
        return chan

    def _burst(self, kind: str) -> bool:
        with self.lock:
            for k in (kind, "any"):
                if self.bursts.get(k, 0) > 0:
                    self.bursts[k] -= 1
                    return True
        return False

    def _auth(self, request: httpx.Request) -> None:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with self.lock:
            valid = token in self.tokens and self.token_expiry.get(token, float("inf")) > self.time()
        if not valid:
            raise _Err(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.")

    def _dispatch(self, rec: Recorded, request: httpx.Request) -> httpx.Response:
        path = rec.path
        if path in ("/oauth2/token", "/oauth2/v3/token"):  # Google's OAuth2 token endpoints: not the Hosting API
            return self._token(rec)
        with self.lock:
            self._expire_channels()
        if path.startswith("/__hosting/"):  # what a channel serves: not part of the Hosting API
            return self._serve(path)
        try:
            self._auth(request)
            if path.startswith("/v2/"):  # the Cloud Functions v2 listing: no spec of it is kept here
                return self._functions(path, rec.query)
            kind = "upload" if path.startswith("/upload/") else ("populate" if path.endswith(":populateFiles") else "api")
            if self._burst(kind):
                return httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {
                    "code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}})
            if path.startswith("/upload/"):  # the upload host (populateFiles' uploadUrl): not in the discovery doc
                return self._upload(path, rec.body, request.headers.get("content-type", ""))
        except ApiError as e:
            return self.error(e.status, e.code, e.message)
        return self.call_route(rec)

    # -- API -----------------------------------------------------------------
    def _site(self, s: str) -> Site:
        if s not in self.sites:
            raise _Err(404, "NOT_FOUND", f"Site {s} not found.")
        return self.sites[s]

    def _version(self, site: Site, vid: str) -> dict[str, Any]:
        if vid not in site.versions:
            raise _Err(404, "NOT_FOUND", f"Version sites/{site.name}/versions/{vid} not found.")
        return site.versions[vid]

    def _site_obj(self, site: Site) -> dict[str, Any]:
        return {"name": f"projects/{site.project}/sites/{site.name}", "defaultUrl": f"https://{site.name}.web.app",
                "type": "USER_SITE"}

    def _create_site(self, project: str, q: dict[str, str]) -> dict[str, Any]:
        sid = q.get("siteId", "")
        if not re.fullmatch(r"[a-z0-9-]{6,30}", sid):
            raise _Err(400, "INVALID_ARGUMENT", f"Invalid siteId {sid!r}.")
        if sid in self.sites:
            raise _Err(409, "ALREADY_EXISTS", f"Site {sid} already exists.")
        return self._site_obj(self.add_site(sid))

    def _new_version(self, site: Site, status: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
        vid = uuid.uuid4().hex[:16]
        version: dict[str, Any] = {"name": f"sites/{site.name}/versions/{vid}", "status": status,
                                   "createTime": self._now(), "fileCount": "0", "versionBytes": "0"}
        if labels:
            version["labels"] = labels
        site.versions[vid] = version
        site.files[vid] = {}
        return version

    def _create_version(self, s: str, body: Any) -> dict[str, Any]:
        site = self._site(s)
        status = (body or {}).get("status", "CREATED")
        if status != "CREATED":
            raise _Err(400, "INVALID_ARGUMENT", "A new version must have status CREATED.")
        version = self._new_version(site, "CREATED", (body or {}).get("labels"))
        if body and "config" in body:
            version["config"] = body["config"]
        return version

    def _populate(self, s: str, vid: str, body: Any) -> dict[str, Any]:
        site = self._site(s)
        version = self._version(site, vid)
        if version["status"] != "CREATED":
            raise _Err(400, "FAILED_PRECONDITION", f"Version {vid} is {version['status']}; files can only be added while CREATED.")
        files = (body or {}).get("files") or {}
        needed: set[str] = set()
        for path, h in files.items():
            if not path.startswith("/"):
                raise _Err(400, "INVALID_ARGUMENT", f"File path {path!r} must start with '/'.")
            if h == "":
                site.files[vid].pop(path, None)
                continue
            if not re.fullmatch(r"[0-9a-f]{64}", h):
                raise _Err(400, "INVALID_ARGUMENT", f"Hash {h!r} for {path} is not a SHA-256 hex digest.")
            site.files[vid][path] = h
            if h not in self.blobs:
                needed.add(h)
        version["fileCount"] = str(len(site.files[vid]))
        return {"uploadRequiredHashes": sorted(needed),
                "uploadUrl": f"{self.base_url}/upload/sites/{s}/versions/{vid}/files"}

    def _upload(self, path: str, body: bytes, ctype: str) -> httpx.Response:
        m = re.fullmatch(r"/upload/sites/([^/]+)/versions/([^/]+)/files/([0-9a-f]{64})", path)
        if not m:
            raise _Err(404, "NOT_FOUND", f"No upload target {path}.")
        s, vid, h = m.groups()
        with self.lock:
            version = self._version(self._site(s), vid)
            if version["status"] != "CREATED":
                raise _Err(400, "FAILED_PRECONDITION", f"Version {vid} is {version['status']}; uploads are closed.")
            if h not in self.sites[s].files[vid].values():
                raise _Err(400, "INVALID_ARGUMENT", f"Hash {h} is not part of version {vid}.")
        try:
            gzip.decompress(body)
        except (OSError, EOFError):
            raise _Err(400, "INVALID_ARGUMENT", "Upload body is not gzip.") from None
        if hashlib.sha256(body).hexdigest() != h:
            raise _Err(400, "INVALID_ARGUMENT", "The SHA-256 of the uploaded bytes does not match the hash in the URL.")
        with self.lock:
            self.blobs[h] = body
            self.uploaded.append(h)
        return httpx.Response(200)

    def _patch_version(self, s: str, vid: str, q: dict[str, str], body: Any) -> dict[str, Any]:
        site = self._site(s)
        version = self._version(site, vid)
        mask = (q.get("updateMask") or "status").split(",")
        body = body or {}
        if "status" in mask:
            want = body.get("status")
            if want != "FINALIZED" or version["status"] != "CREATED":
                raise _Err(400, "FAILED_PRECONDITION", f"Cannot move version {vid} from {version['status']} to {want}.")
            missing = {h for h in site.files[vid].values() if h not in self.blobs}
            if missing:
                raise _Err(400, "FAILED_PRECONDITION", f"{len(missing)} file(s) of version {vid} have not been uploaded.")
        if "config" in mask:
            version["config"] = body.get("config") or {}
        if "status" in mask:
            version["status"] = "FINALIZED"
            version["finalizeTime"] = self._now()
            version["versionBytes"] = str(sum(len(self.blobs[h]) for h in set(site.files[vid].values())))
        return version

    def _clone(self, s: str, body: Any) -> dict[str, Any]:
        target = self._site(s)
        src = (body or {}).get("sourceVersion", "")
        m = re.fullmatch(r"sites/([^/]+)/versions/([^/]+)", src)
        if not m or m.group(1) not in self.sites or m.group(2) not in self.sites[m.group(1)].versions:
            raise _Err(404, "NOT_FOUND", f"Source version {src!r} not found.")
        source_site = self.sites[m.group(1)]
        if source_site.versions[m.group(2)]["status"] != "FINALIZED":
            raise _Err(400, "FAILED_PRECONDITION", "Only FINALIZED versions can be cloned.")
        version = self._new_version(target, "CLONING")
        target.files[version["name"].rsplit("/", 1)[-1]] = dict(source_site.files[m.group(2)])
        version["config"] = source_site.versions[m.group(2)].get("config", {})
        op_id = uuid.uuid4().hex[:12]
        self.ops[op_id] = {"name": f"projects/{self.project}/operations/{op_id}", "done": False,
                           "_version": (s, version["name"].rsplit("/", 1)[-1], bool((body or {}).get("finalize")))}
        return {k: v for k, v in self.ops[op_id].items() if not k.startswith("_")}

    def _poll(self, op_id: str) -> dict[str, Any]:
        op = self.ops.get(op_id)
        if op is None:
            raise _Err(404, "NOT_FOUND", f"Operation {op_id} not found.")
        if not op["done"]:
            s, vid, finalize = op["_version"]
            version = self.sites[s].versions[vid]
            version["status"] = "FINALIZED" if finalize else "CREATED"
            version["fileCount"] = str(len(self.sites[s].files[vid]))
            op["done"] = True
            op["response"] = {"@type": "type.googleapis.com/google.firebase.hosting.v1beta1.Version", **version}
        return {k: v for k, v in op.items() if not k.startswith("_")}

    def _get_channel(self, s: str, c: str) -> dict[str, Any]:
        site = self._site(s)
        if c not in site.channels:
            raise _Err(404, "NOT_FOUND", f"Channel {c} not found.")
        return site.channels[c]

    def _releases(self, s: str, c: str) -> list[dict[str, Any]]:
        self._get_channel(s, c)  # 404 for an unknown channel
        return self._site(s).releases.get(c, [])

    def _create_channel(self, s: str, q: dict[str, str], body: Any) -> dict[str, Any]:
        site = self._site(s)
        cid = q.get("channelId", "")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", cid):
            raise _Err(400, "INVALID_ARGUMENT", f"Invalid channelId {cid!r}.")
        if cid in site.channels:
            raise _Err(409, "ALREADY_EXISTS", f"Channel {cid} already exists.")
        site.channels[cid] = self._channel_obj(site, cid, (body or {}).get("ttl", "604800s"))
        site.releases[cid] = []
        return site.channels[cid]

    def _patch_channel(self, s: str, c: str, q: dict[str, str], body: Any) -> dict[str, Any]:
        chan = self._get_channel(s, c)
        if "ttl" in (q.get("updateMask") or "").split(",") and body and "ttl" in body:
            chan["expireTime"] = self._now(int(float(body["ttl"][:-1])))
            chan["updateTime"] = self._now()
        return chan

    def _delete_channel(self, s: str, c: str) -> dict[str, Any]:
        self._get_channel(s, c)
        if c == "live":
            raise _Err(400, "FAILED_PRECONDITION", "The live channel cannot be deleted.")
        site = self.sites[s]
        del site.channels[c]
        site.releases.pop(c, None)
        return {}

    def _release(self, s: str, c: str, q: dict[str, str], body: Any) -> dict[str, Any]:
        site = self._site(s)
        chan = self._get_channel(s, c)
        name = q.get("versionName", "")
        m = re.fullmatch(r"sites/([^/]+)/versions/([^/]+)", name)
        if not m or m.group(1) != s:
            raise _Err(400, "INVALID_ARGUMENT", f"versionName {name!r} must name a version of site {s}.")
        version = self._version(site, m.group(2))
        if version["status"] != "FINALIZED":
            raise _Err(400, "FAILED_PRECONDITION", f"Version {name} is {version['status']}, not FINALIZED.")
        history = site.releases.setdefault(c, [])
        earlier = any(r["version"]["name"] == name for r in history)
        release = {"name": f"{chan['name']}/releases/{uuid.uuid4().hex[:12]}", "version": dict(version),
                   "type": "ROLLBACK" if earlier else "DEPLOY", "releaseTime": self._now()}
        if body and body.get("message"):
            release["message"] = body["message"]
        history.insert(0, release)
        chan["release"] = release
        chan["updateTime"] = release["releaseTime"]
        return release

    def _page(self, items: list[dict[str, Any]], key: str, q: dict[str, str]) -> dict[str, Any]:
        size = min(100, int(q.get("pageSize") or 25))
        start = int(q.get("pageToken") or 0)
        out: dict[str, Any] = {key: items[start:start + size]}
        if start + size < len(items):
            out["nextPageToken"] = str(start + size)
        return out

    # -- token endpoint and serving --------------------------------------------
    def _token(self, call: Recorded) -> httpx.Response:
        if self._burst("token"):
            return httpx.Response(429, json={"error": "rate_limited"})
        form = {k: v[-1] for k, v in parse_qs(call.body.decode()).items()}

        def refuse(why: str) -> httpx.Response:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": why})

        if form.get("grant_type") == "refresh_token" and call.path == "/oauth2/v3/token":
            if form.get("client_id") != CLI_CLIENT_ID or form.get("client_secret") != CLI_CLIENT_SECRET:
                return httpx.Response(401, json={"error": "invalid_client", "error_description": "Unauthorized"})
            if form.get("refresh_token") not in self.refresh_tokens or form["refresh_token"] in self.revoked:
                return refuse("Bad Request")
            return httpx.Response(200, json={"access_token": self.issue_token("refresh_token"),
                                             "expires_in": TOKEN_LIFETIME, "token_type": "Bearer",
                                             "scope": "https://www.googleapis.com/auth/cloud-platform "
                                                      "https://www.googleapis.com/auth/firebase"})
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return httpx.Response(400, json={"error": "unsupported_grant_type", "error_description": "Bad grant type."})
        try:
            h, p, sig = form["assertion"].split(".")
            claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
            signature = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        except (KeyError, ValueError):
            return refuse("Malformed JWT.")
        key = self.accounts.get(claims.get("iss", ""))
        if key is None or claims["iss"] in self.revoked:
            return refuse("Invalid JWT Signature.")
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            key.verify(signature, f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return refuse("Invalid JWT Signature.")
        if claims.get("aud") not in (self.token_uri, "https://oauth2.googleapis.com/token") or "https://www.googleapis.com/auth/firebase" not in claims.get("scope", ""):
            return refuse("Invalid JWT: wrong audience or scope.")
        token = self.issue_token("jwt-bearer")
        return httpx.Response(200, json={"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"})

    def _functions(self, path: str, query: dict[str, list[str]]) -> httpx.Response:
        """``GET /v2/projects/{p}/locations/{loc}/functions`` (``-``: every region), 2 per page."""
        m = re.fullmatch(r"/v2/projects/([^/]+)/locations/([^/]+)/functions", path)
        if not m:
            raise _Err(404, "NOT_FOUND", f"No such method {path}.")
        if m.group(1) != self.project:
            raise _Err(403, "PERMISSION_DENIED", f"Permission denied on resource project {m.group(1)}.")
        unknown = set(query) - {"pageSize", "pageToken", "filter", "orderBy"}
        if unknown:
            raise _Err(400, "INVALID_ARGUMENT", f"Unknown query parameter(s) {sorted(unknown)}.")
        fns = [f for f in self.functions if m.group(2) == "-" or f["name"].split("/")[3] == m.group(2)]
        start = int((query.get("pageToken") or ["0"])[-1] or 0)
        out: dict[str, Any] = {"functions": fns[start:start + 2]}
        if start + 2 < len(fns):
            out["nextPageToken"] = str(start + 2)
        return httpx.Response(200, json=out)

    def _serve(self, path: str) -> httpx.Response:
        parts = path.split("/", 4)
        if len(parts) < 4 or parts[2] not in self.sites or parts[3] not in self.sites[parts[2]].channels:
            return httpx.Response(404, text="Site Not Found")
        rel = self.sites[parts[2]].channels[parts[3]].get("release")
        if rel is None:
            return httpx.Response(404, text="Site Not Found")
        files = self.sites[parts[2]].files[rel["version"]["name"].rsplit("/", 1)[-1]]
        want = "/" + (parts[4] if len(parts) > 4 else "")
        for candidate in (want, want.rstrip("/") + "/index.html", want + ".html"):
            if candidate in files:
                return httpx.Response(200, content=gzip.decompress(self.blobs[files[candidate]]))
        return httpx.Response(404, text="Not Found")

    # -- a real loopback server --------------------------------------------------
    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve this fake on 127.0.0.1; sets and yields ``base_url``."""
        old = self.base_url
        with serve_handler(self.handle) as url:
            self.base_url = url
            try:
                yield url
            finally:
                self.base_url = old


def _epoch(rfc3339: str) -> float:
    return dt.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()


def firebase_provider(fake: FakeFirebase, root: Any, *, settings: dict[str, Any] | None = None,
                      environ: dict[str, str] | None = None, **ctx: Any) -> Any:
    """A ``FirebaseProvider`` wired to ``fake`` and its clock (``FIREBASE_TOKEN`` auth unless ``environ``
    says otherwise)."""
    from moai_adk.providers.base import ProviderContext
    from moai_adk.providers.firebase import FirebaseProvider

    env = fake.env()
    if environ is not None:
        env = {k: v for k, v in env.items() if k != "FIREBASE_TOKEN"} | environ
    ctx.setdefault("sleep", lambda _s: None)
    return FirebaseProvider(ProviderContext(root=root, settings=dict(settings or {"site": "demo-site"}),
                                            environ=env, transport=fake.transport(), **ctx), clock=fake.time)
