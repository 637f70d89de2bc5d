"""Firebase Hosting uploads on the shared ``Uploader``: each hash the API asked for is sent once,
as the deterministic gzip of the file (whose SHA-256 is the hash), to ``{uploadUrl}/{hash}``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...artifacts import hashing
from .._upload import Uploader
from .api import HostingApi


@dataclass
class Upload:
    """One hash the API asked for: the first file with it, and every file it stands for (progress)."""

    sha: str
    abspath: str | None
    path: str
    files: int
    size: int
    data: bytes | None = None


class GzipUploader(Uploader[Upload]):
    """``POST {uploadUrl}/{hash}`` with the deterministic gzip of the file, whose SHA-256 is the hash."""

    algorithm = "sha256"

    def __init__(self, api: HostingApi, upload_url: str, concurrency: int,
                 progress: Callable[[int, int], None] | None) -> None:
        super().__init__(api.client, concurrency, progress)
        self.hosting = api
        self.upload_url = upload_url

    def path_of(self, entry: Upload) -> str:
        return entry.path

    def transform(self, data: bytes) -> bytes:
        return hashing.deterministic_gzip(data)

    def units(self, entry: Upload, sent: bytes) -> tuple[int, int]:
        return entry.files, entry.size

    def send(self, entry: Upload, data: bytes) -> None:
        self.hosting.upload(self.upload_url, entry.sha, data)
