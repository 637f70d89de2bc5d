"""How the local provider sends blobs and manifests to the platform.

* ``plan_batches``: missing files grouped into batches of up to 1,000 files /
  16 MB; a file over 16 MB goes alone (``PUT /blobs/<sha256>``);
* ``BlobUploader``: each batch is one ``POST /blobs`` whose body is read from
  the files while it is sent (``Body``: the index line, then each file's
  bytes), on the shared upload engine (``_upload.Uploader``); the platform
  writes and verifies every blob as its bytes arrive;
* ``last_deploy`` / ``remember``: the manifest of the last deploy made from
  this project, per platform URL and site, in ``.moai/cache/local-deploys.bin``,
  so a redeploy sends only what changed against it (a delta manifest).
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from ..artifacts.snapshot import SnapshotFile
from ..errors import IntegrityError
from ..fsutil import atomic_write
from ._http import ApiClient
from ._upload import Uploader
from .base import ProgressFn

STATE_FILE = Path(".moai") / "cache" / "local-deploys.bin"  # last deploy's manifest per platform and site
BATCH_TYPE = "application/x-moai-blob-batch"
BATCH_FILE_MAX = 16 << 20  # larger files go alone with PUT, streamed from disk
BATCH_BYTES = 16 << 20
BATCH_FILES = 1000
READ_CHUNK = 1 << 20
CONCURRENCY = 4  # requests in flight: each streams many files, so a few keep both sides busy


def plan_batches(files: list[SnapshotFile]) -> list[list[SnapshotFile]]:
    """Group files into batches (at most 1,000 files / 16 MB); files over 16 MB alone."""
    groups: list[list[SnapshotFile]] = []
    current: list[SnapshotFile] = []
    size = 0
    for f in files:
        if f.size > BATCH_FILE_MAX:
            groups.append([f])
            continue
        if current and (size + f.size > BATCH_BYTES or len(current) >= BATCH_FILES):
            groups.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        groups.append(current)
    return groups


class Changed(Exception):
    """A file's size changed between the snapshot and sending it."""

    def __init__(self, f: SnapshotFile, size: int) -> None:
        super().__init__(f"{f.path} has {size} bytes now, {f.size} when it was hashed")
        self.file = f


def _file_chunks(f: SnapshotFile) -> Iterator[bytes]:
    """The bytes of ``f`` in pieces of ``READ_CHUNK`` (``Changed`` when its size changed)."""
    assert f.abspath is not None
    sent = 0
    with open(f.abspath, "rb", buffering=0) as fh:
        if f.size <= READ_CHUNK:
            data = fh.read(f.size + 1)
            if len(data) != f.size:
                raise Changed(f, len(data))
            yield data
            return
        while chunk := fh.read(READ_CHUNK):
            sent += len(chunk)
            if sent > f.size:
                break
            yield chunk
    if sent != f.size:
        raise Changed(f, sent)


class Body:
    """A request body read from the files as it is sent (iterable again for a retry)."""

    def __init__(self, head: bytes, files: list[SnapshotFile]) -> None:
        self.head, self.files = head, files

    def __iter__(self) -> Iterator[bytes]:
        if self.head:
            yield self.head
        for f in self.files:
            yield from _file_chunks(f)


def _changed(paths: list[str], exc: IntegrityError) -> IntegrityError:
    shown = ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more in the same upload)" if len(paths) > 3 else "")
    return IntegrityError(
        f"The local platform rejected the bytes of {shown}: they do not match the sha256 in the manifest "
        f"({exc.message})", hint="A file changed while deploying; re-run the deploy.", status=exc.status)


def last_deploy(root: Path, key: str) -> tuple[str, dict[str, str]] | None:
    """(deploy id, manifest) of the last deploy made from the project at ``root`` under ``key``
    (a platform URL and site)."""
    try:
        state = marshal.loads((root / STATE_FILE).read_bytes())
        deploy_id, manifest = state[key]
    except (OSError, ValueError, EOFError, TypeError, KeyError):
        return None
    if not isinstance(deploy_id, str) or not isinstance(manifest, dict):
        return None
    return deploy_id, manifest


def remember(root: Path, key: str, deploy_id: str, manifest: dict[str, str]) -> None:
    """Keep the manifest of a ready deploy (one per ``key``) for the next delta."""
    path = root / STATE_FILE
    try:
        state = marshal.loads(path.read_bytes())
        if not isinstance(state, dict):
            state = {}
    except (OSError, ValueError, EOFError, TypeError):
        state = {}
    state[key] = (deploy_id, manifest)
    try:
        atomic_write(path, marshal.dumps(state), durable=False)
    except OSError:
        pass  # only a cache: the next deploy sends the full manifest


class BlobUploader(Uploader[list[SnapshotFile]]):
    """One upload is a streamed batch of files or one very large file (``plan_batches``), sent
    through ``request`` (the provider's, which turns refusals into errors)."""

    algorithm = "sha256"

    def __init__(self, api: ApiClient, request: Callable[..., httpx.Response], concurrency: int,
                 progress: ProgressFn | None) -> None:
        super().__init__(api, concurrency, progress)
        self.request = request

    def path_of(self, entry: list[SnapshotFile]) -> str:
        return entry[0].path

    def transfer(self, entry: list[SnapshotFile]) -> tuple[int, int, tuple[int, int]]:
        if len(entry) == 1 and entry[0].size > BATCH_FILE_MAX:
            size = self.put_one(entry[0])
        else:
            size = self.put_batch(entry)
        return len(entry), size, (len(entry), size)

    def put_one(self, f: SnapshotFile) -> int:
        try:
            self.request("PUT", f"/blobs/{f.hashes['sha256']}", content=Body(b"", [f]),
                          headers={"content-type": "application/octet-stream", "content-length": str(f.size)})
        except IntegrityError as exc:
            raise _changed([f.path], exc) from exc
        except Changed as exc:
            raise _changed([f.path], IntegrityError(str(exc))) from exc
        return f.size

    def put_batch(self, group: list[SnapshotFile]) -> int:
        """One streamed batch: the index line, then each file's bytes read as they are sent; the
        platform writes and verifies each blob as its bytes arrive."""
        index = json.dumps([[f.hashes["sha256"], f.size] for f in group], separators=(",", ":")).encode() + b"\n"
        total = sum(f.size for f in group)
        try:
            response = self.request("POST", "/blobs", content=Body(index, group), allow=frozenset({422}),
                                     headers={"content-type": BATCH_TYPE, "content-length": str(len(index) + total)})
        except Changed as exc:
            raise _changed([exc.file.path], IntegrityError(str(exc))) from exc
        if response.status_code == 422:
            err = self.api.decode(response).get("error", {})
            bad = {m.get("sha256") for m in err.get("mismatched", [])}
            paths = [f.path for f in group if f.hashes["sha256"] in bad] or [f.path for f in group]
            raise _changed(paths, IntegrityError(str(err.get("message")), status=422))
        return total
