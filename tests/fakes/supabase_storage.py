"""A fake of a Supabase project's Storage API (the project-URL side): the bucket routes.

Served under ``<base>/<ref>/storage/v1/...`` (so one fake serves every project of a
``FakeSupabaseApi``; ``MOAI_SUPABASE_PROJECT_URL=<base>/{ref}`` points moai-adk at it). Requests and
answers are checked against ``specs/supabase-storage.json``, written from the route schemas of
supabase/storage. On top, what Storage itself refuses: a call without the project's service-role key
(``apikey`` and ``Authorization: Bearer``) 403, a bucket name outside its ``isValidBucketName`` rule
400, a bucket that exists 409, deleting a bucket that still holds files 409. Emptying a bucket is
queued on the real service ("may take up to an hour"); here it empties at once unless
``empty_is_queued`` is set, when the files go only when the test calls ``run_queue()``.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import httpx

from . import ApiError, FakeApi, Recorded

if TYPE_CHECKING:
    from .supabase_api import FakeSupabaseApi
    from .supabase_backend import BackendState

BUCKET_NAME = re.compile(r"^[A-Za-z0-9_!.*'() &$=@;:+,?-]{1,100}$")
_PREFIX = re.compile(r"^/([a-z]{20})(/.*)$")


def storage_error(status: int, error: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"statusCode": str(status), "error": error, "message": message})


class FakeSupabaseStorage(FakeApi):
    label = "supabase-storage"

    def __init__(self, api: FakeSupabaseApi, base_url: str = "https://storage.supabase.fake") -> None:
        super().__init__(tokens=())
        self.api = api
        self.base_url = base_url
        self.empty_is_queued = False
        self._queued: set[tuple[str, str]] = set()
        r = self.route
        r("GET", "/storage/v1/bucket", self.list_buckets)
        r("POST", "/storage/v1/bucket", self.create_bucket)
        r("PUT", "/storage/v1/bucket/{bucketId}", self.update_bucket)
        r("DELETE", "/storage/v1/bucket/{bucketId}", self.delete_bucket)
        r("POST", "/storage/v1/bucket/{bucketId}/empty", self.empty_bucket)

    @property
    def project_url(self) -> str:
        return self.base_url + "/{ref}"

    def handle(self, request: httpx.Request) -> httpx.Response:
        m = _PREFIX.match(request.url.path)
        if m is None:
            return storage_error(404, "not_found", "Route not found")
        inner = httpx.Request(request.method, request.url.copy_with(path=m.group(2)),
                              headers={**request.headers, "x-fake-project-ref": m.group(1)}, content=request.read())
        return super().handle(inner)

    def _dispatch(self, rec: Recorded, request: httpx.Request) -> httpx.Response:
        ref = rec.headers.get("x-fake-project-ref", "")
        state = self.api.backend_state(ref) if ref in self.api.projects else None
        if state is None:
            return storage_error(404, "not_found", "Project not found")
        key = state.service_key
        if rec.headers.get("apikey") != key or rec.authorization != f"Bearer {key}":
            return storage_error(403, "Unauthorized", "new row violates row-level security policy")
        return self.call_route(rec)

    def run_queue(self) -> None:
        """The queued empties finish: their buckets hold no files any more."""
        with self.lock:
            for ref, bucket_id in self._queued:
                bucket = self.api.backend_state(ref).buckets.get(bucket_id)
                if bucket is not None:
                    bucket["objects"] = 0
            self._queued.clear()

    def _st(self, rec: Recorded) -> BackendState:
        return self.api.backend_state(rec.headers["x-fake-project-ref"])

    @staticmethod
    def _row(b: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in b.items() if k != "objects"}

    def _bucket(self, rec: Recorded, bucket_id: str) -> dict[str, Any]:
        buckets = self._st(rec).buckets
        if bucket_id not in buckets:
            raise ApiError(404, "Bucket not found", "Bucket not found")
        return buckets[bucket_id]

    def error(self, status: int, code: str, message: str, **extra: Any) -> httpx.Response:
        return storage_error(status, code, message)

    def list_buckets(self, rec: Recorded) -> httpx.Response:
        return httpx.Response(200, json=[self._row(b) for b in sorted(self._st(rec).buckets.values(),
                                                                     key=lambda b: b["name"])])

    def create_bucket(self, rec: Recorded) -> httpx.Response:
        state = self._st(rec)
        body = rec.json() or {}
        name = body["name"]
        bucket_id = body.get("id") or name
        if not BUCKET_NAME.match(name) or not BUCKET_NAME.match(bucket_id):
            return storage_error(400, "Invalid Input", "Bucket name invalid")
        if bucket_id in state.buckets:
            return storage_error(409, "Duplicate", "The resource already exists")
        if not state.write_allowed():
            return storage_error(400, "Simulated", "simulated outage")
        state.add_bucket(bucket_id, public=bool(body.get("public", False)),
                               file_size_limit=body.get("file_size_limit") or None,
                               allowed_mime_types=body.get("allowed_mime_types") or None)
        return httpx.Response(200, json={"name": name})

    def update_bucket(self, rec: Recorded, bucketId: str) -> httpx.Response:  # noqa: N803 - the route's name
        bucket = self._bucket(rec, bucketId)
        body = rec.json() or {}
        if not self._st(rec).write_allowed():
            return storage_error(400, "Simulated", "simulated outage")
        if "public" in body:
            bucket["public"] = body["public"]
        if "file_size_limit" in body:
            bucket["file_size_limit"] = body["file_size_limit"] or None
        if "allowed_mime_types" in body:
            bucket["allowed_mime_types"] = [t for t in body["allowed_mime_types"] if t] or None
        bucket["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        return httpx.Response(200, json={"message": "Successfully updated"})

    def empty_bucket(self, rec: Recorded, bucketId: str) -> httpx.Response:  # noqa: N803
        bucket = self._bucket(rec, bucketId)
        if self.empty_is_queued:
            self._queued.add((self._st(rec).ref, bucketId))
        else:
            bucket["objects"] = 0
        return httpx.Response(200, json={"message": "Empty bucket has been queued. Completion may take up to an hour."})

    def delete_bucket(self, rec: Recorded, bucketId: str) -> httpx.Response:  # noqa: N803
        bucket = self._bucket(rec, bucketId)
        if bucket["objects"]:
            return storage_error(409, "InvalidRequest", "The bucket you tried to delete is not empty")
        if not self._st(rec).write_allowed():
            return storage_error(400, "Simulated", "simulated outage")
        del self._st(rec).buckets[bucketId]
        return httpx.Response(200, json={"message": "Successfully deleted"})

