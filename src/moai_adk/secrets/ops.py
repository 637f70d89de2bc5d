"""What ``moai-adk secrets ...`` does, as functions returning data (no printing)."""

from __future__ import annotations

import getpass
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import audit, envs, workspace
from ..config import Config
from ..errors import ConfigError, MoaiError, UsageError
from ..providers.capabilities import EnvStore
from .keys import KeyStore, SecretsKeyError
from .store import SECRETS_DIR, Recipient, SecretStore, check_value, generate, parse_recipient

_KEY_AT_LINE_START = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")


def open_store(cfg: Config, environment: str, environ: Mapping[str, str]) -> SecretStore:
    """The store of ``environment``; an unknown environment is a ConfigError listing the known ones."""
    cfg.environment(environment)
    return SecretStore(cfg.root, environment, KeyStore(cfg.name, environ))


def _audit(store: SecretStore, action: str, result: dict[str, Any]) -> None:
    """One audit entry per change of the store: names and counts, never a value or a private key."""
    keep = ("key", "action", "added", "changed", "removed", "recipients", "file")
    audit.record(store.root, action, environment=store.environment, target="secrets",
                 details={k: result[k] for k in keep if k in result})


def default_label(environ: Mapping[str, str]) -> str:
    user = environ.get("USER") or environ.get("USERNAME")
    if not user:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = "someone"
    return f"{user}@{socket.gethostname()}"


def keygen(store: SecretStore, *, label: str, force: bool = False) -> dict[str, Any]:
    env = store.environment
    old = store.keys.load(env)
    if old is not None and not force:
        raise UsageError(
            f"You already have a key for the {env} environment in {store.keys.describe(env)}.",
            hint=f"Keep it; to replace it run `moai-adk secrets keygen --env {env} --force` (you lose access to "
                 f"{store.rel(store.path)} until it is re-encrypted to the new key).")
    private, public = generate()
    replaced = store.public_key_of(old) if old is not None else None  # the key --force replaces opens nothing now
    recipients = [r for r in store.recipients() if r.public_key not in (public, replaced)]
    store.keys.save(env, private, public)
    store.write_recipients([*recipients, Recipient(public, label)])
    result = {"environment": env, "public_key": public, "stored_in": store.keys.describe(env),
              "backend": store.keys.backend, "recipients_file": store.rel(store.recipients_path),
              "needs_rotate": store.exists()}
    _audit(store, "secrets keygen", result)
    return result


def set_secret(store: SecretStore, key: str, value: str) -> dict[str, Any]:
    envs.check_key(key)
    check_value(key, value)
    values = store.read()
    action = "unchanged" if values.get(key) == value else ("change" if key in values else "add")
    if action != "unchanged":
        values[key] = value
        store.write(values)
    result = {"environment": store.environment, "key": key, "action": action, "file": store.rel(store.path)}
    _audit(store, "secrets set", result)
    return result


def remove_secret(store: SecretStore, key: str) -> dict[str, Any]:
    envs.check_key(key)
    values = store.read()
    if key not in values:
        raise UsageError(f"{key} is not a secret of the {store.environment} environment.",
                         hint=f"Run `moai-adk secrets list --env {store.environment}` to see its secrets.")
    del values[key]
    store.write(values)
    result = {"environment": store.environment, "key": key, "action": "remove", "file": store.rel(store.path)}
    _audit(store, "secrets rm", result)
    return result


def get_secret(store: SecretStore, key: str) -> str:
    envs.check_key(key)
    values = store.read()
    if key not in values:
        raise UsageError(f"{key} is not a secret of the {store.environment} environment.",
                         hint=f"Run `moai-adk secrets list --env {store.environment}` to see its secrets.")
    return values[key]


def list_secrets(store: SecretStore) -> dict[str, Any]:
    values = store.read()
    return {"environment": store.environment, "file": store.rel(store.path), "keys": sorted(values),
            "recipients": [{"public_key": r.public_key, "label": r.label} for r in store.recipients()]}


def read_dotenv_strict(path: Path) -> dict[str, str]:
    """A .env file's values; a key given twice is a ConfigError naming every line it is on."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"No such file: {path}.", hint="Pass the path of a .env file, e.g. .env.production.") from None
    lines: dict[str, list[int]] = {}
    for no, raw in enumerate(text.splitlines(), 1):
        m = _KEY_AT_LINE_START.match(raw)
        if m and not raw.lstrip().startswith("#"):
            lines.setdefault(m.group(1), []).append(no)
    dups = {k: v for k, v in lines.items() if len(v) > 1}
    if dups:
        what = "; ".join(f"{k} on lines {', '.join(map(str, v[:-1]))} and {v[-1]}" for k, v in dups.items())
        raise ConfigError(f"{path} sets the same key more than once: {what}. Nothing was imported.",
                          hint="Keep one line per key and run the import again.")
    return envs.parse_dotenv(text, path)


def import_file(store: SecretStore, path: Path) -> dict[str, Any]:
    wanted = read_dotenv_strict(path)
    for key, value in wanted.items():  # everything refused before anything is written
        envs.check_key(key)
        check_value(key, value)
    values = store.read()
    added = sorted(k for k in wanted if k not in values)
    changed = sorted(k for k in wanted if k in values and values[k] != wanted[k])
    values.update(wanted)
    if added or changed or not store.exists():
        store.write(values)
    result = {"environment": store.environment, "file": store.rel(store.path), "added": added, "changed": changed,
              "unchanged": sorted(set(wanted) - set(added) - set(changed))}
    _audit(store, "secrets import", result)
    return result


def rotate(store: SecretStore, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> dict[str, Any]:
    """Re-encrypt to the recipients file + ``add`` - ``remove`` (public keys or labels)."""
    values = store.read()
    before = store.recipients()
    after = list(before)
    for public in add:
        parse_recipient(public, where="--add")
        if public not in {r.public_key for r in after}:
            after.append(Recipient(public, "added by rotate"))
    for who in remove:
        match = [r for r in after if who in (r.public_key, r.label)]
        if not match:
            raise UsageError(f"--remove {who!r} is not a recipient of the {store.environment} secrets.",
                             hint=f"Run `moai-adk secrets list --env {store.environment}` to see the recipients.")
        after = [r for r in after if r not in match]
    mine = str(store.identity().to_public())
    if mine not in {r.public_key for r in after}:
        raise UsageError("That would remove your own key, so nobody here could check the result.",
                         hint="Ask another recipient to remove you.")
    store.write(values, after)
    store.write_recipients(after)
    removed = [r.public_key for r in before if r not in after]
    result = {"environment": store.environment, "file": store.rel(store.path), "keys": sorted(values),
              "recipients": [r.public_key for r in after], "added": [r.public_key for r in after if r not in before],
              "removed": removed}
    _audit(store, "secrets rotate", result)
    return result


def platforms_holding(cfg: Config, environ: Mapping[str, str], environment: str,
                      keys: list[str]) -> list[dict[str, Any]]:
    """For each platform of the project, which of ``keys`` it holds for ``environment`` (names only)."""
    out: list[dict[str, Any]] = []
    names = dict.fromkeys([cfg.platform_for(environment), *cfg.platforms])
    for name in names:
        try:
            with workspace.open_provider(cfg, environ, name, environment) as provider:
                if not isinstance(provider, EnvStore):
                    continue
                held = sorted({v.key for v in provider.env_list(environment)} & set(keys))
            out.append({"platform": name, "keys": held})
        except MoaiError as exc:
            out.append({"platform": name, "keys": None, "error": exc.message})
    return out


def readable_values(cfg: Config, environ: Mapping[str, str]) -> list[str]:
    """Every secret value this user can decrypt, of every environment with a store (for the redaction
    filter); an environment whose key this user lacks, or whose file is damaged, adds nothing."""
    out: list[str] = []
    folder = cfg.root / SECRETS_DIR
    for path in sorted(folder.glob("*.age")) if folder.is_dir() else []:
        try:
            out.extend(open_store(cfg, path.stem, environ).read().values())
        except MoaiError:
            continue
    return out


__all__ = ["SecretsKeyError", "open_store", "keygen", "set_secret", "get_secret", "remove_secret", "list_secrets",
           "import_file", "rotate", "platforms_holding", "read_dotenv_strict",
           "readable_values"]
