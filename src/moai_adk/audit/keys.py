"""Signed digests of the audit log (after CloudTrail's digest files) and the Ed25519 key that signs them.

* The private key lives outside the project, readable by its owner only:
  ``$XDG_CONFIG_HOME/moai-adk/audit-<project-id>.key`` (default ``~/.config``), PKCS#8 PEM, mode 0600.
* The public key and the project id sit beside the log in ``.moai/audit/key.pub`` (JSON).
* ``.moai/audit/digests.jsonl``: one line per digest, naming the last entry it covers (``seq``), that
  entry's SHA-256 (``hash``, which through the chain covers every entry before it), the SHA-256 of the
  previous digest line (``prev_digest``) and an Ed25519 signature (``sig``) over the line's bytes
  before ``,"sig":"`` followed by ``}``.

The key pair is made with the first digest, so a project that never signs needs no key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AuditError, AuditKeyError
from .log import ZERO_HASH, _last_line, _link_of, audit_dir, locked, utc_now

if TYPE_CHECKING:  # cryptography is imported where a key is used: appending an entry does not pay for it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PUB_NAME = "key.pub"
DIGESTS_NAME = "digests.jsonl"
SIG_MARK = b',"sig":"'


def pub_path(root: Path) -> Path:
    return audit_dir(root) / PUB_NAME


def digests_path(root: Path) -> Path:
    return audit_dir(root) / DIGESTS_NAME


def key_path(project_id: str, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME")
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return (Path(base) if base else home / ".config") / "moai-adk" / f"audit-{project_id}.key"


def read_public(root: Path) -> tuple[str, Ed25519PublicKey] | None:
    """(project id, public key) from ``key.pub``, or None when no digest was ever signed."""
    path = pub_path(root)
    if not path.exists():
        return None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        data = json.loads(path.read_bytes())
        project = str(data["project"])
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"], validate=True))
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditKeyError(f"The audit public key {path} is not a valid key file.",
                            hint=f"Restore {path} from version control (git checkout -- {path}).") from exc
    return project, key


def _public_raw(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _create_pair(root: Path, environ: Mapping[str, str] | None) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    project = secrets.token_hex(8)
    private = Ed25519PrivateKey.generate()
    kpath = key_path(project, environ)
    kpath.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(kpath, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        os.fsync(fd)
    finally:
        os.close(fd)
    pub = {"project": project, "algorithm": "ed25519",
           "public_key": base64.b64encode(_public_raw(private.public_key())).decode(), "key_file": str(kpath)}
    tmp = pub_path(root).with_suffix(".tmp")
    tmp.write_text(json.dumps(pub, indent=2) + "\n")
    os.replace(tmp, pub_path(root))
    return private


def load_private(root: Path, environ: Mapping[str, str] | None = None) -> Ed25519PrivateKey:
    """The signing key of this project's log; AuditKeyError when missing, too open, or not the right one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    found = read_public(root)
    if found is None:
        raise AuditKeyError(f"This project has no audit signing key yet ({pub_path(root)} does not exist).",
                            hint="Run `moai-adk audit digest`; it creates the key pair with the first digest.")
    project, public = found
    path = key_path(project, environ)
    if not path.exists():
        raise AuditKeyError(
            f"The audit signing key of this project (id {project}) is missing: expected at {path}. Digests can "
            "only be signed with the key whose public half is in .moai/audit/key.pub.",
            hint=f"Copy audit-{project}.key from the machine that signed the earlier digests to {path} "
                 f"and run chmod 600 {path}.")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise AuditKeyError(f"The audit signing key {path} is readable by other users (mode {mode:04o}).",
                            hint=f"chmod 600 {path}")
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"The audit signing key {path} is not a valid Ed25519 PEM key.",
                            hint=f"Restore {path} from the machine that created it.") from exc
    if not isinstance(private, Ed25519PrivateKey) or _public_raw(private.public_key()) != _public_raw(public):
        raise AuditKeyError(f"The key in {path} is not the one whose public key is in {pub_path(root)} "
                            f"(project id {project}); digests signed with it would not verify.",
                            hint=f"Put the right audit-{project}.key at {path} (chmod 600).")
    return private


def read_digest_lines(root: Path) -> list[bytes]:
    path = digests_path(root)
    return path.read_bytes().splitlines() if path.exists() else []


def sign_digest_locked(root: Path, fd: int, environ: Mapping[str, str] | None, *,
                       required: bool) -> dict[str, Any] | None:
    """Sign a digest of the log as it is now (caller holds the log lock). Without ``required``, a
    missing or wrong key leaves the entries for the next digest instead of failing the change."""
    last = _last_line(fd)
    if last is None:
        if required:
            raise AuditError("The audit log is empty: there is nothing to sign yet.",
                             hint="Digests are signed once changes (deploy, env set, ...) have been recorded.")
        return None
    hash_hex, seq = _link_of(last)
    lines = read_digest_lines(root)
    if lines:
        previous = json.loads(lines[-1][:lines[-1].rfind(SIG_MARK)] + b"}")
        if previous.get("seq") == seq:
            return dict(previous)  # nothing new since the last digest
    try:
        private = load_private(root, environ) if pub_path(root).exists() else _create_pair(root, environ)
    except AuditKeyError:
        if required:
            raise
        return None
    project = read_public(root)
    assert project is not None
    payload = {"project": project[0], "seq": seq, "hash": hash_hex,
               "prev_digest": hashlib.sha256(lines[-1]).hexdigest() if lines else ZERO_HASH, "at": utc_now()}
    body = json.dumps(payload, separators=(",", ":")).encode()
    sig = base64.b64encode(private.sign(body)).decode()
    line = body[:-1] + SIG_MARK + sig.encode() + b'"}\n'
    dfd = os.open(digests_path(root), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(dfd, line)
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return payload


def sign_digest(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Sign a digest now (``moai-adk audit digest``)."""
    with locked(root) as fd:
        result = sign_digest_locked(root, fd, environ, required=True)
    assert result is not None
    return result


def check_digest(line: bytes, public: Ed25519PublicKey) -> dict[str, Any]:
    """The payload of a digest line whose signature is valid; ValueError naming what is wrong otherwise."""
    from cryptography.exceptions import InvalidSignature

    i = line.rfind(SIG_MARK)
    if i < 0 or not line.endswith(b'"}'):
        raise ValueError("it is not a signed digest")
    body = line[:i] + b"}"
    try:
        payload = json.loads(body)
        public.verify(base64.b64decode(line[i + len(SIG_MARK):-2], validate=True), body)
    except InvalidSignature as exc:
        raise ValueError("its signature does not match the public key in .moai/audit/key.pub") from exc
    except ValueError as exc:
        raise ValueError("it is not valid JSON or base64") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("seq"), int):
        raise ValueError("it names no entry")
    return payload
