"""Where a user's private age keys live: the OS keyring, or a 0600 key file.

One key per project and environment, so the development key never opens
production. The backend is chosen by ``MOAI_SECRETS_BACKEND``:

    keyring   the OS keyring (``keyring``); an error when none is usable
    file      ``$XDG_CONFIG_HOME/moai-adk/keys/<project>/<env>.key`` (else ``~/.config/...``), mode 0600
    auto      (default) the keyring when one is usable, else the key file; reads also look in the
              key file, so a key made before a keyring was set up keeps working

The choice is reported (``KeyStore.describe``) by ``keygen`` and by every
"no key" error, and an error from a usable keyring is raised, never swallowed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import MoaiError, UsageError
from ..fsutil import atomic_write

BACKEND_ENV = "MOAI_SECRETS_BACKEND"
BACKENDS = ("auto", "keyring", "file")
KEYRING_SERVICE = "moai-adk"


class SecretsKeyError(MoaiError):
    """A private key is missing, unusable, or cannot be stored."""


def config_dir(environ: Mapping[str, str]) -> Path:
    """The user's config folder for moai-adk (XDG_CONFIG_HOME honoured)."""
    base = environ.get("XDG_CONFIG_HOME")
    if base and Path(base).is_absolute():
        return Path(base) / "moai-adk"
    if os.name == "nt" and environ.get("APPDATA"):
        return Path(environ["APPDATA"]) / "moai-adk"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".config" / "moai-adk"


def _usable_keyring() -> Any | None:
    """The keyring backend in use, or None when only keyring's "fail" backend is there."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    children = getattr(backend, "backends", None)  # the chainer: usable only if it chains something
    if children is not None and not children:
        return None
    return backend


class KeyStore:
    """Reads and writes the private key of ``project``/``environment`` in the chosen backend."""

    def __init__(self, project: str, environ: Mapping[str, str]) -> None:
        self.project = project
        self.choice = (environ.get(BACKEND_ENV) or "auto").strip().lower()
        if self.choice not in BACKENDS:
            raise UsageError(f"{BACKEND_ENV}={self.choice!r} is not a secrets key backend.",
                             hint=f"Set {BACKEND_ENV} to one of: {', '.join(BACKENDS)} (or unset it).")
        self.key_dir = config_dir(environ) / "keys" / project
        self._found: tuple[Any | None] | None = None  # the keyring backend, looked up on first use

    @property
    def _keyring(self) -> Any | None:
        """The OS keyring backend, found on first use: finding it loads keyring's plugins (~70 ms), which
        a command that never touches a key (a deploy without a secrets store) should not pay."""
        if self._found is None:
            backend = _usable_keyring() if self.choice in ("auto", "keyring") else None
            if backend is None and self.choice == "keyring":
                raise SecretsKeyError(
                    f"{BACKEND_ENV}=keyring, but no OS keyring is usable here (keyring found only its "
                    "'fail' backend).",
                    hint=f"Start your desktop keyring (or set PYTHON_KEYRING_BACKEND), or set {BACKEND_ENV}=file "
                         f"to keep keys in {self.key_dir}.")
            self._found = (backend,)
        return self._found[0]

    @property
    def backend(self) -> str:
        return "keyring" if self._keyring is not None else "file"

    def key_file(self, environment: str) -> Path:
        return self.key_dir / f"{environment}.key"

    def _username(self, environment: str) -> str:
        return f"{self.project}/{environment}"

    def describe(self, environment: str) -> str:
        if self._keyring is not None:
            name = type(self._keyring).__name__
            return f"the OS keyring ({name}, service {KEYRING_SERVICE!r}, entry {self._username(environment)!r})"
        why = " (no OS keyring is usable here)" if self.choice == "auto" else ""
        return f"the key file {self.key_file(environment)}{why}"

    def load(self, environment: str) -> str | None:
        """The private key (``AGE-SECRET-KEY-1...``), or None when this backend has none."""
        if self._keyring is not None:
            try:
                value = self._keyring.get_password(KEYRING_SERVICE, self._username(environment))
            except Exception as exc:  # noqa: BLE001 - any keyring failure is reported, not hidden
                raise SecretsKeyError(f"The OS keyring refused to read the {environment} key: {exc}.",
                                      hint=f"Unlock your keyring, or set {BACKEND_ENV}=file.") from exc
            if value or self.choice == "keyring":
                return value or None
        path = self.key_file(environment)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        return lines[0] if lines else None

    def save(self, environment: str, private_key: str, public_key: str) -> None:
        if self._keyring is not None:
            try:
                self._keyring.set_password(KEYRING_SERVICE, self._username(environment), private_key)
            except Exception as exc:  # noqa: BLE001
                raise SecretsKeyError(f"The OS keyring refused to store the {environment} key: {exc}.",
                                      hint=f"Unlock your keyring, or set {BACKEND_ENV}=file.") from exc
            return
        path = self.key_file(environment)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, f"# moai-adk {self.project} {environment}\n# public key: {public_key}\n{private_key}\n",
                     mode=0o600)
