"""Uploading the files a platform says it lacks: read, verify, send, count.

One place for what every digest-deploy adapter does per file: read it (or
take its inlined bytes), check it still has the hash the manifest promised
(a file rebuilt during a deploy must not be published under an old hash),
send it with bounded adaptive concurrency, and count files and bytes for
``DeployStats`` and the progress bar. An adapter subclasses ``Uploader``
and implements ``send`` (one HTTP request) and ``path_of``; it may override
``transform`` (the bytes as sent, e.g. gzipped, whose digest is the hash) and
``units`` (what one upload counts for on the progress bar). An adapter whose
unit of upload is not one file (the local platform sends small files in
batches and verifies every hash on its side) overrides ``transfer`` instead
and keeps the rest: the adaptive window, the counts and the progress bar.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, cast

from ..errors import IntegrityError
from ._http import ApiClient, run_concurrently
from .base import DeployStats


class UploadEntry(Protocol):
    sha: str
    abspath: str | None
    data: bytes | None


E = TypeVar("E")  # one upload: a file entry (UploadEntry) for most adapters, a batch for the local platform


class Uploader(Generic[E]):
    algorithm = "sha1"

    def __init__(self, api: ApiClient, concurrency: int, progress: Callable[[int, int], None] | None) -> None:
        self.api = api
        self.concurrency = concurrency
        self.progress = progress
        self.stats = DeployStats()
        self._lock = threading.Lock()

    def path_of(self, entry: E) -> str:
        raise NotImplementedError

    def send(self, entry: E, data: bytes) -> None:
        raise NotImplementedError

    def transform(self, data: bytes) -> bytes:
        """The bytes as sent (and hashed); the file's own bytes unless overridden."""
        return data

    def units(self, entry: E, sent: bytes) -> tuple[int, int]:
        """(files, bytes) one finished upload adds to the progress bar."""
        return 1, len(sent)

    def upload(self, entries: list[E]) -> None:
        # each request already waits out its own Retry-After; the window shrinks to a quarter at most
        run_concurrently(entries, self._one, concurrency=self.concurrency, throttled=self.api.throttled,
                         min_window=max(1, self.concurrency // 4))

    def transfer(self, entry: E) -> tuple[int, int, tuple[int, int]]:
        """Send one upload: (files sent, bytes sent, what it adds to the progress bar)."""
        data = self.read(entry)
        self.send(entry, data)
        return 1, len(data), self.units(entry, data)

    def _one(self, entry: E) -> None:
        files, nbytes, shown = self.transfer(entry)
        with self._lock:
            self.stats.files_uploaded += files
            self.stats.bytes_uploaded += nbytes
        if self.progress is not None:
            self.progress(*shown)

    def read(self, upload: E) -> bytes:
        entry = cast(UploadEntry, upload)  # adapters that read files upload UploadEntry items
        if entry.data is not None:
            data = entry.data
        else:
            assert entry.abspath is not None
            with open(entry.abspath, "rb") as fh:
                data = fh.read()
        data = self.transform(data)
        digest: Any = hashlib.new(self.algorithm, data)
        if digest.hexdigest() != entry.sha:
            raise IntegrityError(
                f"{self.path_of(upload)} changed while deploying (its {self.algorithm.upper()} no longer matches "
                "the snapshot).",
                hint="Do not rebuild during a deploy; run the deploy again.",
            )
        return data
