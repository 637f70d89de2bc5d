"""What the local platform keeps on disk away from other local users.

* modes: the data folder has no access for others (created 0700), and the
  database with its ``-wal``/``-shm`` files, the key file and the blobs are 0600
  (``platform serve`` runs with umask 077);
* secret env values: AES-256-GCM with a key in ``<data>/secrets.key`` (0600), kept
  outside the database so a copy of ``meta.sqlite3`` (a backup, a bug report)
  holds no secret in clear. Each value is bound to its row (site, environment,
  key) as associated data, so a value copied into another row does not decrypt.
"""

from __future__ import annotations

import base64
import contextlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import StateError

KEY_FILE = "secrets.key"
PREFIX = "aesgcm1:"


def private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700), or take every access away from others when it exists.

    Group bits an operator (or the nginx edge, see ``edge_nginx.py``) gave are left as they are."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o007:
        with contextlib.suppress(PermissionError):  # not ours: the database open says what is wrong
            os.chmod(path, mode & ~0o077)


def private_file(path: Path) -> None:
    """Mode 0600 for an existing file (no-op when it is missing or already private)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        with contextlib.suppress(PermissionError):
            os.chmod(path, 0o600)


class SecretBox:
    """Encrypts and decrypts secret env values with the data folder's key."""

    def __init__(self, key: bytes, key_file: Path) -> None:
        self._aead = AESGCM(key)
        self.key_file = key_file

    @classmethod
    def open(cls, data_dir: Path, *, must_exist: bool) -> SecretBox:
        """The key in ``<data>/secrets.key``; a new one (0600) unless ``must_exist`` (encrypted values
        exist), when a missing key is an error that says how to recover."""
        key_file = data_dir / KEY_FILE
        try:
            key = key_file.read_bytes()
        except FileNotFoundError:
            if must_exist:
                raise StateError(
                    f"{key_file} is missing, and the platform's database in {data_dir} holds secret env values "
                    "encrypted with it; without the key they cannot be read.",
                    hint=f"Restore {key_file} from the backup you took with meta.sqlite3. If it is lost, the secret "
                         "values are too: set them again with `moai-adk env set --secret` after moving the "
                         "database aside or deleting their rows.",
                ) from None
            key = AESGCM.generate_key(bit_length=256)
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use that one
                key = key_file.read_bytes()
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(key)
                    fh.flush()
                    os.fsync(fh.fileno())
        if len(key) != 32:
            raise StateError(f"{key_file} is not a key this platform wrote ({len(key)} bytes, not 32).",
                             hint=f"Restore {key_file} from a backup.")
        private_file(key_file)
        return cls(key, key_file)

    def seal(self, value: str, row: tuple[str, str, str]) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), _aad(row))
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open_value(self, stored: str, row: tuple[str, str, str]) -> str:
        if not stored.startswith(PREFIX):
            return stored
        raw = base64.b64decode(stored[len(PREFIX):])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], _aad(row)).decode()
        except InvalidTag:
            raise StateError(
                f"The secret env value {row[2]} of site {row[0]!r} ({row[1]}) does not decrypt with {self.key_file}.",
                hint=f"{self.key_file} is not the key this database was written with: restore the matching one.",
            ) from None


def _aad(row: tuple[str, str, str]) -> bytes:
    return "\0".join(row).encode()
