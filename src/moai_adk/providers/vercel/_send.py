"""How a Vercel deploy sends its files: one upload per missing file, or one archive.

The choice, made on exactly what would be sent (the output's files plus the
project's ``vercel.json``):

* ``archive = "tgz"`` (``--archive``; ``split-tgz`` is the Vercel CLI's old
  name for the same) always sends the archive; ``"off"`` never does, and a
  deploy over Vercel's 15,000-file limit is then refused before any request;
* unset (automatic): the archive when there are more than 15,000 files, as
  Vercel's client does, or when Vercel's ``missing_files`` answer lists more
  files than ``[platforms.vercel] max_upload_requests`` allows (each missing
  file is one upload request, and Vercel's plans cap those per day).

Either way ``Sent.line`` says which mode was used and why, in one line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import IntegrityError, LimitError, ProviderError, UsageError
from .. import _upload
from .._http import ApiClient
from ..base import DeployStats, DeployTarget, Limits, ProgressFn
from . import _archive, _deploy

MODES = ("tgz", "split-tgz", "off")
DEFAULT_UPLOAD_BUDGET = 1_000  # a fifth of the Hobby plan's 5,000 upload requests a day
DEFAULT_ARCHIVE_LIMIT = 100 * 1000 * 1000  # Vercel's Hobby limit on what one CLI deploy uploads (Pro: 1 GB)
BODY_CHUNK = 1 << 20


@dataclass
class Sent:
    created: dict[str, Any]  # the answer of the create call
    mode: str  # "files" or "tgz"
    line: str  # one line for the output: the mode and why
    stats: DeployStats
    parts: int = 0
    archive_bytes: int = 0


@dataclass
class Options:
    archive: str | None  # "tgz", "off" or None (automatic)
    asked_by: str  # where `archive` came from, for the output line
    budget: int  # most upload requests the missing files may cost in file mode (automatic only)
    part_size: int
    max_archive_size: int
    concurrency: int


def mode_of(value: Any, where: str) -> str | None:
    """``tgz``/``off``/None from a flag or setting value; ``split-tgz`` is ``tgz``."""
    if value is None or value == "":
        return None
    if value not in MODES:
        raise UsageError(f"{where} is {value!r}; Vercel archive uploads take one of: {', '.join(MODES)}.",
                         hint='Use "tgz" (one tarball, as `vercel deploy --archive=tgz`) or "off" (one upload '
                              "per file), or leave it out to choose automatically.")
    return "tgz" if value == "split-tgz" else str(value)


def options(settings: Mapping[str, Any], target: DeployTarget, limits: Limits, concurrency: int) -> Options:
    """The deploy's choices: ``--archive`` (``target.archive``) wins over ``[platforms.vercel] archive``."""
    if target.archive is not None:
        archive, asked_by = mode_of(target.archive, "--archive"), "--archive"
    else:
        archive = mode_of(settings.get("archive"), "[platforms.vercel] archive")
        asked_by = f'[platforms.vercel] archive = "{settings.get("archive")}"'
    return Options(
        archive=archive, asked_by=asked_by,
        budget=int(settings.get("max_upload_requests") or DEFAULT_UPLOAD_BUDGET),
        part_size=min(_archive.PART_SIZE, limits.max_file_size or _archive.PART_SIZE),  # a part is one file upload
        max_archive_size=int(settings.get("max_archive_size") or DEFAULT_ARCHIVE_LIMIT),
        concurrency=concurrency,
    )


def _mb(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB"


def send(api: ApiClient, body: dict[str, Any], manifest: _deploy.Manifest, opts: Options, root: Path,
         progress: ProgressFn | None, params: dict[str, str]) -> Sent:
    count = len(manifest.entries)
    limit = _deploy.FILE_LIMIT
    if opts.archive == "tgz":
        return _send_archive(api, body, manifest, opts, root, progress, params, f"asked for by {opts.asked_by}")
    if count > limit:
        if opts.archive == "off":
            raise LimitError(
                f"This deploy has {count:,} files; Vercel accepts at most {limit:,} per deployment sent file by "
                f"file, and {opts.asked_by} turns archive uploads off. Nothing was uploaded.",
                hint='Remove archive = "off" from [platforms.vercel] (or pass --archive) to send one tarball, '
                     "as `vercel deploy --archive=tgz` does.",
            )
        return _send_archive(api, body, manifest, opts, root, progress, params,
                             f"{count:,} files is over Vercel's {limit:,}-file limit per deployment")
    files_body = {**body, "files": manifest.body()}
    uploader = _deploy.Uploader(api, opts.concurrency, progress)
    response = api.request("POST", "/v13/deployments", json=files_body, params=params, expect={400})
    data = api.decode(response)
    wanted = 0
    if response.status_code != 400:
        created = _deploy.created(data)
    else:
        missing = _deploy.missing_shas(data)
        if missing is None:
            raise api.translate(response, "POST", "/v13/deployments")
        wanted = len(set(missing))
        if opts.archive is None and wanted > opts.budget:
            return _send_archive(api, body, manifest, opts, root, progress, params,
                                 f"{wanted:,} missing files would cost more than the budget of {opts.budget:,} "
                                 "upload requests ([platforms.vercel] max_upload_requests)")
        _deploy.upload_missing(manifest, missing, uploader)
        created = _deploy.create_with_handshake(api, files_body, manifest, uploader, params=params)
    why = f"archive uploads turned off by {opts.asked_by}" if opts.archive == "off" else (
        f"within Vercel's {limit:,}-file limit and the budget of {opts.budget:,} upload requests")
    line = f"Upload mode: file by file ({count:,} files, {wanted:,} missing, {uploader.stats.files_uploaded:,} sent): {why}."
    return Sent(created, "files", line, uploader.stats)


class _PartBody:
    """A chunk file as a request body, read in pieces; iterable again for each retry."""

    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size = path, size

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            left = self.size
            while left > 0:
                piece = fh.read(min(BODY_CHUNK, left))
                if not piece:
                    raise IntegrityError(f"{self.path} shrank while it was being uploaded.",
                                         hint="Do not remove .moai/cache during a deploy; run the deploy again.")
                left -= len(piece)
                yield piece


class PartUploader(_upload.Uploader[_archive.Part]):
    """Sends archive chunks to ``POST /v2/files`` straight from disk (never a whole chunk in memory)."""

    def __init__(self, api: ApiClient, concurrency: int, archive: _archive.Archive,
                 shown: Callable[[_archive.Part], None]) -> None:
        super().__init__(api, concurrency, None)
        self.archive, self.shown = archive, shown

    def path_of(self, entry: _archive.Part) -> str:
        return entry.name

    def transfer(self, entry: _archive.Part) -> tuple[int, int, tuple[int, int]]:
        self.api.request("POST", "/v2/files", retries=_deploy.UPLOAD_RETRIES,
                         content=_PartBody(self.archive.path(entry), entry.size), headers={
                             "Content-Type": "application/octet-stream",
                             "Content-Length": str(entry.size),
                             "x-vercel-digest": entry.sha,
                         })
        self.shown(entry)
        return 1, entry.size, (0, 0)


class _Bar:
    """The pipeline's bar counts the output's bytes: the first half fills while the
    archive is built, the rest as its chunks are sent."""

    def __init__(self, progress: ProgressFn | None, total: int) -> None:
        self.progress, self.total, self.shown = progress, total, 0

    def add(self, n: int) -> None:
        n = max(0, min(n, self.total - self.shown))
        if n and self.progress is not None:
            self.shown += n
            self.progress(0, n)

    def built(self, nbytes: int) -> None:
        self.add(nbytes // 2)

    def sent(self, part: _archive.Part, archive_size: int) -> None:
        self.add(round((self.total - self.total // 2) * part.size / max(1, archive_size)))

    def done(self) -> None:
        self.add(self.total - self.shown)


def _send_archive(api: ApiClient, body: dict[str, Any], manifest: _deploy.Manifest, opts: Options, root: Path,
                  progress: ProgressFn | None, params: dict[str, str], why: str) -> Sent:
    entries = manifest.entries
    bar = _Bar(progress, sum(e.size for e in entries))
    built = False
    archive = _archive.cached(root, _archive.fingerprint(entries, opts.part_size))
    if archive is None:
        archive = _archive.build(entries, root, opts.part_size, progress=bar.built)
        built = True
    if archive.size > opts.max_archive_size:
        _archive.discard_chunks(root)
        raise LimitError(
            f"The archive of this deploy is {archive.size:,} bytes ({len(entries):,} files compressed); Vercel "
            f"accepts at most {opts.max_archive_size:,} bytes per deployment upload. Nothing was uploaded.",
            hint="Remove large files from the build output, or set [platforms.vercel] max_archive_size if your "
                 "plan allows more (1,000,000,000 on Pro).",
        )
    stats = DeployStats()
    for _ in range(_deploy.MAX_HANDSHAKES):
        archive_body = {**body, "files": archive.body()}
        response = api.request("POST", "/v13/deployments", json=archive_body, params=params, expect={400})
        data = api.decode(response)
        if response.status_code != 400:
            created = _deploy.created(data)
            _archive.discard_chunks(root)  # Vercel has them; the index still spares the next identical deploy
            bar.done()
            plural = "s" if len(archive.parts) != 1 else ""
            line = (f"Upload mode: archive (tgz, {len(archive.parts)} part{plural}, {_mb(archive.size)}, "
                    f"{stats.files_uploaded} sent): {why}.")
            return Sent(created, "tgz", line, stats, len(archive.parts), archive.size)
        missing = _deploy.missing_shas(data)
        if missing is None:
            raise api.translate(response, "POST", "/v13/deployments")
        wanted = [p for p in archive.parts if p.sha in set(missing)]
        if len(wanted) != len(set(missing)):
            raise ProviderError(f"Vercel asked for {len(set(missing))} archive part(s) this deploy does not have.",
                                hint="Re-run the deploy; if it repeats, re-run with --debug and report it.")
        if not all(archive.on_disk(p) for p in wanted):
            if built:
                raise IntegrityError("The archive chunks in .moai/cache/vercel changed during the deploy.",
                                     hint="Do not touch .moai/cache during a deploy; run the deploy again.")
            fresh = _archive.build(entries, root, opts.part_size, progress=bar.built)
            built = True
            if fresh.parts != archive.parts:  # built differently before (another zlib): send what we have now
                archive = fresh
                continue
            archive = fresh
        uploader = PartUploader(api, opts.concurrency, archive, functools.partial(bar.sent, archive_size=archive.size))
        uploader.upload(wanted)
        stats.files_uploaded += uploader.stats.files_uploaded
        stats.bytes_uploaded += uploader.stats.bytes_uploaded
    raise ProviderError(f"Vercel still reported missing archive parts after {_deploy.MAX_HANDSHAKES} uploads.",
                        hint="Re-run the deploy; parts already uploaded are not sent again.")
