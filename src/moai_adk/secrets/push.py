"""Send an environment's secrets store to a platform as its secret type, only the values that changed.

    load(cfg, environment, environ)   the store's values, decrypted in memory (None: no .age file);
                                      a missing or wrong key is a SecretsKeyError naming the environment
    push(secrets, provider)           compare, send what changed, record the fingerprints, audit "secrets push"

How "changed" is decided, per key:

* not on the platform: sent;
* readable there (the local platform's plain variables, Vercel "encrypted"): compared with the value;
* write-only there (local secrets, Vercel "sensitive", Netlify secrets, Supabase secrets): compared by a
  fingerprint kept in ``.moai/cache/secrets-sent.json`` (mode 0600, never committed): an HMAC-SHA256 of
  the platform target, the key and the value, keyed by a hash of the environment's *private* age key.
  The repository holds no such key, so the fingerprints cannot be used to test guesses of a value by
  anyone who only has the repository or the cache file. A teammate holds another key and so other
  fingerprints: their first deploy sends every write-only secret once. A value changed on the platform
  by hand is not seen; deleting the cache file makes the next deploy send everything.

Nothing decrypted is written to disk. Values go to the platform through the ``EnvStore`` capability
with ``secret=True`` (or ``Secrets.set_secrets`` where the platform sets secrets together); a platform
with neither (Firebase Hosting) gets nothing and the report says why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import audit, envs
from ..config import Config
from ..errors import MoaiError
from ..fsutil import atomic_write
from ..providers.base import Provider
from ..providers.capabilities import EnvStore, Hosting, Secrets
from .keys import SecretsKeyError
from .ops import open_store

FINGERPRINTS = Path(".moai") / "cache" / "secrets-sent.json"
_WHERE_ELSE = {
    "firebase": "Firebase Hosting serves static files and keeps no variables; give Cloud Functions their secrets "
                "with `firebase functions:secrets:set`.",
}


@dataclass
class StoreSecrets:
    """One environment's secrets, decrypted in memory, and the key of its fingerprints."""

    root: Path
    environment: str
    file: str
    values: dict[str, str]
    fingerprint_key: bytes = field(repr=False)

    def __repr__(self) -> str:  # never the values, even in a --debug traceback
        return f"StoreSecrets({self.environment!r}, {self.file!r}, keys={sorted(self.values)})"

    def scan_values(self) -> dict[str, str]:
        """Names (for the "secret value in the build output" error) -> values."""
        return {f"{key} of {self.file}": value for key, value in self.values.items()}


@dataclass
class SecretsPush:
    """What ``push`` did (or, with ``dry_run``, would do). Key names only."""

    environment: str
    platform: str
    file: str
    sent: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False
    not_sent: str | None = None  # why nothing could be sent (no env store on the platform)
    not_compared: str | None = None  # a dry run that could not ask the platform: every key is listed as sent

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "environment": self.environment, "platform": self.platform, "sent": self.sent,
                "unchanged": self.unchanged, "dry_run": self.dry_run, "not_sent": self.not_sent,
                "not_compared": self.not_compared}

    def message(self) -> str:
        if self.not_sent:
            return f"Secrets not sent: {self.not_sent}"
        verb = "Would send" if self.dry_run else "Sent"
        if not self.sent:
            return f"Secrets of {self.file}: all {len(self.unchanged)} unchanged on {self.platform}."
        note = f" (could not compare: {self.not_compared})" if self.not_compared else ""
        return (f"{verb} {len(self.sent)} secret(s) of {self.file} to {self.platform} as secrets: "
                f"{', '.join(self.sent)}; {len(self.unchanged)} unchanged{note}.")


def load(cfg: Config, environment: str, environ: Mapping[str, str]) -> StoreSecrets | None:
    """The environment's store, decrypted in memory; None when ``.moai/secrets/<env>.age`` does not exist."""
    store = open_store(cfg, environment, environ)
    if not store.exists():
        return None
    file = store.rel(store.path)
    try:
        values = store.read()
        private = store.keys.load(environment) or ""
    except SecretsKeyError as exc:
        raise SecretsKeyError(
            f"Deploying to {environment} sends the secrets of {file} to the platform, so it needs the "
            f"{environment} key. {exc.message}",
            hint=f"{exc.hint} If you should not hold the {environment} key, ask an admin of the project to deploy.",
        ) from None
    key = hashlib.sha256(b"moai-adk secrets-sent fingerprint v1\0" + private.encode("utf-8")).digest()
    return StoreSecrets(root=cfg.root, environment=environment, file=file, values=values, fingerprint_key=key)


def _target(provider: EnvStore, environment: str) -> str:
    """Which platform, project/site and environment a fingerprint is for."""
    ctx = provider.ctx.settings if isinstance(provider, Provider) else {}
    settings = json.dumps(ctx, sort_keys=True, default=str)
    where = hashlib.sha256(settings.encode("utf-8")).hexdigest()[:16]
    mapped = provider.platform_environment(environment)
    return f"{provider.name}:{where}:{mapped}"


def _fingerprint(secrets: StoreSecrets, target: str, key: str, value: str) -> str:
    msg = "\0".join((target, key, value)).encode("utf-8")
    return hmac.new(secrets.fingerprint_key, msg, hashlib.sha256).hexdigest()


def _read_fingerprints(root: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads((root / FINGERPRINTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: every write-only secret is sent again
    if not isinstance(data, dict):
        return {}
    return {t: {k: v for k, v in m.items() if isinstance(v, str)} for t, m in data.items() if isinstance(m, dict)}


def _write_fingerprints(root: Path, data: dict[str, dict[str, str]]) -> None:
    path = root / FINGERPRINTS
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n", mode=0o600)


def push(secrets: StoreSecrets, provider: Provider | Hosting | EnvStore, *, dry_run: bool = False) -> SecretsPush:
    """Send the store's values that differ from the platform's as secrets (all checked before the first)."""
    env = secrets.environment
    report = SecretsPush(environment=env, platform=provider.name, file=secrets.file, dry_run=dry_run)
    if not secrets.values:
        return report
    if not isinstance(provider, EnvStore):
        names = ", ".join(sorted(secrets.values))
        report.not_sent = (f"{provider.name} has no environment-variable store, so the {len(secrets.values)} "
                           f"secret(s) of {secrets.file} ({names}) were not sent. "
                           + _WHERE_ELSE.get(provider.name, "Set them where the code that needs them runs."))
        return report
    for key, value in secrets.values.items():  # everything the platform would refuse, before the first write
        envs.check_key(key)
        envs.check_public(key, value, secret=True, provider=provider)
        provider.check_env_value(env, key, value, secret=True)
    try:
        listed = {v.key: v for v in provider.env_list(env)}
    except MoaiError as exc:
        if not dry_run:
            raise
        report.sent, report.not_compared = sorted(secrets.values), exc.message
        return report
    target = _target(provider, env)
    stored = _read_fingerprints(secrets.root)
    known = stored.get(target, {})
    prints = {key: _fingerprint(secrets, target, key, value) for key, value in secrets.values.items()}
    for key, value in sorted(secrets.values.items()):
        old = listed.get(key)
        if old is not None and old.secret and (old.value == value if old.value is not None
                                                else known.get(key) == prints[key]):
            report.unchanged.append(key)
        else:
            report.sent.append(key)
    if dry_run or not report.sent:
        return report
    done: list[str] = []
    try:
        if isinstance(provider, Secrets):  # set together (Supabase): one request
            provider.set_secrets(env, {k: secrets.values[k] for k in report.sent})
            done = list(report.sent)
        else:
            for key in report.sent:
                provider.env_set(env, key, secrets.values[key], secret=True)
                done.append(key)
    finally:
        if done or report.unchanged:
            stored[target] = {**known, **{k: prints[k] for k in [*done, *report.unchanged]}}
            _write_fingerprints(secrets.root, stored)
        if done:
            audit.record(secrets.root, "secrets push", environment=env, target=provider.name,
                         result="ok" if len(done) == len(report.sent) else "partial",
                         details={"file": secrets.file, "sent": done})
    return report


__all__ = ["FINGERPRINTS", "SecretsPush", "StoreSecrets", "load", "push"]
