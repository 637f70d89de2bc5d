"""The encrypted secrets of one environment: ``.moai/secrets/<env>.age`` and its recipients.

    .moai/secrets/<env>.recipients   one age public key a line (``age1... # who``), safe to commit
    .moai/secrets/<env>.age          JSON ``{"KEY": "value"}`` encrypted (armored age) to those recipients

Both files are safe to commit; only a holder of a private key listed in the
recipients file can read the values. Values are decrypted in memory only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pyrage
from pyrage import x25519

from ..errors import StateError, UsageError
from ..fsutil import atomic_write
from .keys import KeyStore, SecretsKeyError

SECRETS_DIR = Path(".moai") / "secrets"
MIN_VALUE_LEN = 6  # shorter values could not be redacted from output without mangling it
_AGE_ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
_AGE_BINARY = b"age-encryption.org/v1\n"
_RECIPIENT_RE = re.compile(r"^(age1[0-9a-z]+)\s*(?:#\s*(.*))?$")


@dataclass(frozen=True)
class Recipient:
    public_key: str
    label: str = ""

    def line(self) -> str:
        return f"{self.public_key} # {self.label}" if self.label else self.public_key


def check_value(key: str, value: str) -> None:
    if len(value) < MIN_VALUE_LEN:
        raise UsageError(
            f"The value of {key} is {len(value)} character(s) long; secrets need at least {MIN_VALUE_LEN} so "
            "they can be redacted from every output.",
            hint=f"Keep short, non-secret values in a .env file (`moai-adk env set {key} VALUE`).")


class SecretStore:
    """The secrets of ``environment`` in the project at ``root``."""

    def __init__(self, root: Path, environment: str, keys: KeyStore) -> None:
        self.root = root
        self.environment = environment
        self.keys = keys
        self.dir = root / SECRETS_DIR
        self.path = self.dir / f"{environment}.age"
        self.recipients_path = self.dir / f"{environment}.recipients"

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    # -- recipients ----------------------------------------------------------
    def recipients(self) -> list[Recipient]:
        try:
            text = self.recipients_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out: list[Recipient] = []
        for no, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = _RECIPIENT_RE.match(line)
            if not m:
                raise StateError(f"{self.rel(self.recipients_path)}:{no}: expected an age public key (age1...), "
                                 f"found {line[:40]!r}.", hint=f"Fix or delete line {no}.")
            parse_recipient(m.group(1), where=f"{self.rel(self.recipients_path)}:{no}")
            out.append(Recipient(m.group(1), (m.group(2) or "").strip()))
        return out

    def write_recipients(self, recipients: list[Recipient]) -> None:
        header = (f"# Who can read .moai/secrets/{self.environment}.age: one age public key a line.\n"
                  f"# Add yours with `moai-adk secrets keygen --env {self.environment}`; a teammate then runs\n"
                  f"# `moai-adk secrets rotate --env {self.environment}` to re-encrypt.\n")
        atomic_write(self.recipients_path, header + "".join(r.line() + "\n" for r in recipients))

    # -- keys ----------------------------------------------------------------
    def identity(self) -> x25519.Identity:
        secret = self.keys.load(self.environment)
        env = self.environment
        if secret is None:
            raise SecretsKeyError(
                f"No private key for the {env} environment of {self.keys.project} in {self.keys.describe(env)}; "
                f"the {env} key is needed to read {self.rel(self.path)}.",
                hint=f"Run `moai-adk secrets keygen --env {env}`, commit {self.rel(self.recipients_path)}, and ask a "
                     f"teammate who holds the {env} key to run `moai-adk secrets rotate --env {env}`.")
        try:
            return x25519.Identity.from_str(secret)
        except pyrage.IdentityError as exc:
            raise SecretsKeyError(f"The {env} key in {self.keys.describe(env)} is not an age private key ({exc}).",
                                  hint=f"Run `moai-adk secrets keygen --env {env} --force` to replace it.") from exc

    @staticmethod
    def public_key_of(private_key: str) -> str | None:
        try:
            return str(x25519.Identity.from_str(private_key).to_public())
        except pyrage.IdentityError:
            return None

    # -- values --------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> dict[str, str]:
        """Every secret of the environment, decrypted in memory ({} when there is no file yet)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        env, rel = self.environment, self.rel(self.path)
        restore = f"Restore it from version control (`git checkout -- {rel}`), or delete it and set the secrets again."
        if not (data.startswith(_AGE_ARMOR) or data.startswith(_AGE_BINARY)):
            raise StateError(f"{rel} is corrupted: it is not an age-encrypted file.", hint=restore)
        identity = self.identity()
        try:
            plain = pyrage.decrypt(data, [identity])
        except pyrage.DecryptError as exc:
            if "no matching keys" not in str(exc).lower():
                raise StateError(f"{rel} is corrupted: age could not decrypt it ({exc}).", hint=restore) from None
            mine = str(identity.to_public())
            if mine not in {r.public_key for r in self.recipients()}:
                raise SecretsKeyError(
                    f"Your {env} key ({mine}) is not one of the recipients of {rel}, so it cannot open the {env} "
                    "secrets (the key of another environment never does).",
                    hint=f"Ask a teammate who holds the {env} key to run `moai-adk secrets rotate --env {env} "
                         f"--add {mine}`.") from None
            raise SecretsKeyError(
                f"Your {env} key ({mine}) is listed in {self.rel(self.recipients_path)} but cannot open {rel}: it "
                "was not re-encrypted since your key was added, or its header is damaged.",
                hint=f"Ask a teammate who holds the {env} key to run `moai-adk secrets rotate --env {env}`; "
                     f"if that fails too, {restore}") from None
        try:
            payload = json.loads(plain.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
            raise StateError(f"{rel} decrypts, but not to moai-adk's secrets (a JSON object of strings).",
                             hint=restore)
        return dict(payload)

    def write(self, values: dict[str, str], recipients: list[Recipient] | None = None) -> None:
        """Encrypt ``values`` to ``recipients`` (default: the recipients file) and replace the .age file."""
        recipients = self.recipients() if recipients is None else recipients
        if not recipients:
            raise SecretsKeyError(
                f"{self.rel(self.recipients_path)} lists no recipients, so nobody could read the "
                f"{self.environment} secrets.",
                hint=f"Run `moai-adk secrets keygen --env {self.environment}` first.")
        parsed = [parse_recipient(r.public_key, where=self.rel(self.recipients_path)) for r in recipients]
        plain = json.dumps(dict(sorted(values.items())), ensure_ascii=False).encode("utf-8")
        atomic_write(self.path, pyrage.encrypt(plain, parsed, armored=True))


def parse_recipient(text: str, *, where: str) -> x25519.Recipient:
    try:
        return x25519.Recipient.from_str(text)
    except pyrage.RecipientError as exc:
        raise UsageError(f"{where}: {text[:70]!r} is not an age public key ({exc}).",
                         hint="An age public key starts with age1; `moai-adk secrets keygen` prints yours.") from None


def generate() -> tuple[str, str]:
    """A new (private, public) age key pair."""
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())
