"""Client-side encryption of backups to an environment's age recipients (the secrets store's).

A backup of environment ``E`` is encrypted to the public keys in ``.moai/secrets/E.recipients``
(the same people who can read E's secrets) and decrypted with the user's own E key from the
key store (OS keyring or key file, see ``secrets/keys.py``). Both directions stream file to file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyrage
from pyrage import x25519

from ..errors import BackupError, UsageError
from ..secrets.keys import KeyStore, SecretsKeyError
from ..secrets.store import SecretStore, parse_recipient


def recipients(root: Path, project: str, environment: str | None, environ: Mapping[str, str]) -> list[str]:
    """The public keys a backup of ``environment`` is encrypted to."""
    if not environment:
        raise UsageError("An encrypted backup needs an environment (--env): it is encrypted to that environment's "
                         "age recipients.", hint="moai-adk db backup --env production --encrypt")
    store = SecretStore(root, environment, KeyStore(project, environ))
    found = [r.public_key for r in store.recipients()]
    if not found:
        raise SecretsKeyError(
            f"Cannot encrypt the backup: {store.rel(store.recipients_path)} lists no age recipients for the "
            f"{environment} environment.",
            hint=f"Run `moai-adk secrets keygen --env {environment}` (it adds your public key), or turn encryption "
                 "off ([db.backups] encrypt = false, or --no-encrypt).")
    return found


def encrypt_file(plain: Path, out: Path, public_keys: list[str], where: str) -> None:
    parsed = [parse_recipient(k, where=where) for k in public_keys]
    try:
        pyrage.encrypt_file(str(plain), str(out), parsed)
    except pyrage.EncryptError as exc:
        raise BackupError(f"Encrypting the backup failed: {exc}", hint="Check the recipients in " + where) from exc


def decrypt_file(sealed: Path, out: Path, *, project: str, environment: str | None, environ: Mapping[str, str],
                 public_keys: list[str]) -> None:
    """Decrypt with the user's key of ``environment`` (the environment the backup was taken from)."""
    env = environment or "?"
    keys = KeyStore(project, environ)
    secret = keys.load(env) if environment else None
    if secret is None:
        raise SecretsKeyError(
            f"The backup is encrypted to the {env} environment's age recipients and there is no {env} key for "
            f"{project} in {keys.describe(env)}.",
            hint=f"Import your {env} key there (or set MOAI_SECRETS_BACKEND=file and copy the key file), or ask "
                 f"a holder of the {env} key to restore it. The backup's recipients: {', '.join(public_keys)}.")
    try:
        identity = x25519.Identity.from_str(secret)
    except pyrage.IdentityError as exc:
        raise SecretsKeyError(f"The {env} key in {keys.describe(env)} is not an age private key ({exc}).",
                              hint=f"Replace it with your {env} key.") from exc
    try:
        pyrage.decrypt_file(str(sealed), str(out), [identity])
    except pyrage.DecryptError as exc:
        mine = str(identity.to_public())
        if mine not in public_keys:
            raise SecretsKeyError(
                f"Your {env} key ({mine}) is not one of the recipients this backup was encrypted to, so it cannot "
                "open it.", hint=f"Ask a holder of one of these keys to restore it: {', '.join(public_keys)}.") \
                from None
        raise BackupError(f"The encrypted backup could not be decrypted ({exc}).",
                          hint="Use another backup: moai-adk db backups list") from None
