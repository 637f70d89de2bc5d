"""Where backups are kept: a local folder (0700, files 0600) or an S3-compatible bucket.

``[db.backups] location`` is a folder relative to moai.toml (default ``.moai/backups``) or
``s3://bucket/prefix``. S3 goes through boto3 with the credentials of the ``environ`` mapping
the caller passes (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_REGION``/``AWS_DEFAULT_REGION``; else boto3's own chain, e.g. ``~/.aws/credentials``),
and ``endpoint_url`` (or ``$AWS_ENDPOINT_URL_S3``/``$AWS_ENDPOINT_URL``) for other stores.
Uploads and downloads stream from and to files (multipart above 16 MiB), never whole in memory.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import BackupSettings
from ..errors import BackupError, ConfigError
from ..fsutil import atomic_write

MULTIPART_THRESHOLD = 16 << 20
MULTIPART_CHUNK = 16 << 20


class Storage(ABC):
    """A flat namespace of backup objects."""

    where: str

    @abstractmethod
    def names(self) -> list[str]: ...

    @abstractmethod
    def put_file(self, local: Path, name: str) -> None:
        """Store ``local`` as ``name`` (the local file may be moved)."""

    @abstractmethod
    def put_bytes(self, name: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, name: str) -> bytes: ...

    @abstractmethod
    def fetch(self, name: str, workdir: Path) -> Path:
        """A local path holding object ``name`` (the object itself when local, else a download in ``workdir``)."""

    @abstractmethod
    def delete(self, name: str) -> None: ...

    def workdir(self) -> Path | None:
        """A folder on the same filesystem to write new dumps in (None: use a temporary folder)."""
        return None


class LocalStorage(Storage):
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = str(folder)

    def _ensure(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def workdir(self) -> Path:
        self._ensure()
        return self.folder

    def names(self) -> list[str]:
        try:
            return sorted(p.name for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("."))
        except FileNotFoundError:
            return []

    def put_file(self, local: Path, name: str) -> None:
        self._ensure()
        dest = self.folder / name
        os.chmod(local, 0o600)
        if local.parent.resolve() == self.folder.resolve():
            os.replace(local, dest)
        else:
            partial = self.folder / f".{name}.partial"
            shutil.copyfile(local, partial)
            os.chmod(partial, 0o600)
            os.replace(partial, dest)

    def put_bytes(self, name: str, data: bytes) -> None:
        self._ensure()
        atomic_write(self.folder / name, data, mode=0o600)

    def get_bytes(self, name: str) -> bytes:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            raise BackupError(f"No {name} in {self.where}.", hint="List the backups: moai-adk db backups list") from None

    def fetch(self, name: str, workdir: Path) -> Path:
        path = self.folder / name
        if not path.is_file():
            raise BackupError(f"The backup file {path} is missing (its manifest is there).",
                              hint="Use another backup: moai-adk db backups list")
        return path

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)


class S3Storage(Storage):
    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix.strip("/"), client
        self.where = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise BackupError(f"No {what} in {self.where}.",
                                  hint="List the backups: moai-adk db backups list") from exc
            raise BackupError(f"The bucket {self.where} refused {what}: {exc}",
                              hint="Check the bucket name, [db.backups] endpoint_url and the AWS_* credentials.") \
                from exc
        except (BotoCoreError, OSError) as exc:
            raise BackupError(f"Cannot reach {self.where} for {what}: {exc}",
                              hint="Check [db.backups] endpoint_url, the network and the AWS_* credentials.") \
                from exc

    def _transfer(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNK,
                              max_concurrency=4)

    def names(self) -> list[str]:
        out: list[str] = []
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
        for page in self._call("the listing", list, pages):
            for obj in page.get("Contents", []):
                rest = obj["Key"][len(start):]
                if rest and "/" not in rest:
                    out.append(rest)
        return sorted(out)

    def put_file(self, local: Path, name: str) -> None:
        self._call(f"the upload of {name}", self.client.upload_file, str(local), self.bucket, self._key(name),
                   Config=self._transfer())

    def put_bytes(self, name: str, data: bytes) -> None:
        self._call(f"the upload of {name}", self.client.put_object, Bucket=self.bucket, Key=self._key(name),
                   Body=data)

    def get_bytes(self, name: str) -> bytes:
        body = self._call(name, self.client.get_object, Bucket=self.bucket, Key=self._key(name))["Body"]
        data: bytes = self._call(name, body.read)
        return data

    def fetch(self, name: str, workdir: Path) -> Path:
        dest = workdir / name
        self._call(name, self.client.download_file, self.bucket, self._key(name), str(dest),
                   Config=self._transfer())
        os.chmod(dest, 0o600)
        return dest

    def delete(self, name: str) -> None:
        self._call(f"deleting {name}", self.client.delete_object, Bucket=self.bucket, Key=self._key(name))


def s3_client(settings: BackupSettings, environ: Mapping[str, str]) -> Any:
    try:
        import boto3
    except ImportError as exc:  # a dependency of moai-adk; only a broken install lacks it
        raise ConfigError("S3 backups need boto3, which moai-adk installs with itself, but it is missing.",
                          hint="Repair the install: pip install --force-reinstall moai-adk") from exc
    session = boto3.session.Session(
        aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY") or None,
        aws_session_token=environ.get("AWS_SESSION_TOKEN") or None,
        region_name=settings.region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    endpoint = settings.endpoint_url or environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or None
    return session.client("s3", endpoint_url=endpoint)


def open_storage(root: Path, settings: BackupSettings, environ: Mapping[str, str]) -> Storage:
    """The storage ``[db.backups] location`` names."""
    location = settings.location.strip()
    if location.startswith("s3://"):
        bucket, _, prefix = location[5:].partition("/")
        if not bucket:
            raise ConfigError(f"[db.backups] location = {location!r} names no bucket.",
                              hint='Use location = "s3://my-bucket/backups".')
        return S3Storage(bucket, prefix, s3_client(settings, environ))
    if "://" in location:
        raise ConfigError(f"[db.backups] location = {location!r}: only folders and s3:// buckets are supported.",
                          hint='Use a folder (location = ".moai/backups") or location = "s3://bucket/prefix".')
    return LocalStorage(root / location)
