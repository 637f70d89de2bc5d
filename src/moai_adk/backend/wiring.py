"""Wiring a backend into a host: ``moai-adk link supabase|firebase --to <host>`` (docs/backends.md).

For each environment, the backend's public client settings go into the hosting platform's variables of
the same environment, under the framework's public prefix (``NEXT_PUBLIC_``, ``VITE_``, ``PUBLIC_``,
``NUXT_PUBLIC_``):

    supabase   <P>SUPABASE_URL, <P>SUPABASE_ANON_KEY      (Management API: the project's API keys)
               SUPABASE_SERVICE_ROLE_KEY as a secret, only with service_role=True (never under a prefix)
    firebase   <P>FIREBASE_API_KEY, <P>FIREBASE_AUTH_DOMAIN, ... from the web app config (public by design)

A host with an env store (local, Vercel, Netlify) gets them through ``envs.push_values`` (every value
checked before the first write: all or nothing; a secret under a public prefix refused there). Firebase
Hosting keeps no variables: the values go into ``.env.<env>``, which the deploy's build reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import audit, envs
from ..envs_files import read_dotenv
from ..errors import ConfigError, MoaiError, UsageError
from ..fsutil import atomic_write
from ..project.detect import detect
from ..providers.capabilities import EnvStore
from ..providers.supabase._client import project_ref
from ..workspace import provider_context
from .supabase_api import SupabaseCalls, project_url

if TYPE_CHECKING:
    import httpx

    from ..config import Config

PREFIXES = {"nextjs": "NEXT_PUBLIC_", "vite": "VITE_", "astro": "PUBLIC_", "sveltekit": "PUBLIC_",
            "nuxt": "NUXT_PUBLIC_"}
SERVICE_ROLE_KEY = "SUPABASE_SERVICE_ROLE_KEY"
FIREBASE_KEYS = {"apiKey": "API_KEY", "authDomain": "AUTH_DOMAIN", "projectId": "PROJECT_ID",
                 "storageBucket": "STORAGE_BUCKET", "messagingSenderId": "MESSAGING_SENDER_ID", "appId": "APP_ID",
                 "measurementId": "MEASUREMENT_ID", "databaseURL": "DATABASE_URL"}


@dataclass(frozen=True)
class Prefix:
    prefix: str
    framework: str | None
    note: str | None = None


def public_prefix(root: Path) -> Prefix:
    """The framework's prefix for variables the browser may read (detected from the project's files)."""
    if any((root / f"nuxt.config.{ext}").is_file() for ext in ("ts", "js", "mjs")):
        return Prefix("NUXT_PUBLIC_", "Nuxt")
    found = detect(root)
    if found.framework in PREFIXES:
        return Prefix(PREFIXES[found.framework], found.title)
    return Prefix("", found.title if found.framework else None,
                  f"No framework with a public-variable prefix recognised ({found.title.lower()}): the variables are "
                  "written without a prefix; name them in your build as your framework expects.")


@dataclass
class LinkedEnv:
    environment: str
    project: str
    destination: str  # "vercel", "local", ".env.staging"
    keys: dict[str, bool]  # key -> secret
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "project": self.project, "destination": self.destination,
                "keys": [{"key": k, "secret": s} for k, s in self.keys.items()], "added": self.added,
                "changed": self.changed, "unchanged": self.unchanged}


@dataclass
class LinkReport:
    backend: str
    host: str
    prefix: Prefix
    environments: list[LinkedEnv] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "to": self.host, "prefix": self.prefix.prefix,
                "framework": self.prefix.framework, "dry_run": self.dry_run, "notes": self.notes,
                "environments": [e.to_json() for e in self.environments]}


# -- what each backend gives -------------------------------------------------------------------------------
def supabase_environments(cfg: Config, environ: Mapping[str, str], wanted: Iterable[str] = ()) -> dict[str, str]:
    """environment -> Supabase project ref: the ``wanted`` ones (each must have a project), else every
    environment moai.toml declares that has one."""
    ctx = provider_context(cfg, "supabase", environ)
    chosen = list(dict.fromkeys(wanted))
    for env in chosen:
        cfg.environment(env)  # an unknown name lists the known ones
    if chosen:
        return {env: project_ref(ctx, env) for env in chosen}
    out: dict[str, str] = {}
    for env in sorted(cfg.environments) or ["preview", "production"]:
        try:
            out[env] = project_ref(ctx, env)
        except ConfigError:
            continue
    if not out:
        raise ConfigError(f"{cfg.path or 'moai.toml'} names no Supabase project for any environment.",
                          hint='Add `supabase_project_ref = "<ref>"` under [environments.<env>], or pass --env.')
    return out


def supabase_values(cfg: Config, environment: str, ref: str, environ: Mapping[str, str], prefix: str, *,
                    service_role: bool, transport: httpx.BaseTransport | None = None) -> dict[str, tuple[str, bool]]:
    """key -> (value, secret) for one environment's project: the URL and anon key, and the service-role key."""
    ctx = provider_context(cfg, "supabase", environ, transport=transport)
    calls = SupabaseCalls(ctx, ref, environment)
    try:
        keys = calls.api_keys()
    finally:
        calls.close()

    def key_of(name: str, kind: str) -> str | None:
        for k in keys:
            if k.get("api_key") and (k.get("name") == name or k.get("type") == kind):
                return str(k["api_key"])
        return None

    anon = key_of("anon", "publishable")
    if anon is None:
        raise MoaiError(f"Project {ref} (environment {environment}) showed no anon (publishable) key.",
                        hint="Check the project's API keys in the Supabase dashboard (Project settings > API).")
    out = {f"{prefix}SUPABASE_URL": (project_url(environ, ref), False), f"{prefix}SUPABASE_ANON_KEY": (anon, False)}
    if service_role:
        secret = key_of("service_role", "secret")
        if secret is None:
            raise MoaiError(f"Project {ref} (environment {environment}) showed no service-role key.",
                            hint="The token needs the secrets:read permission on the project.")
        out[SERVICE_ROLE_KEY] = (secret, True)
    return out


def firebase_values(config: Mapping[str, Any], prefix: str) -> dict[str, tuple[str, bool]]:
    """The web app config as variables (public by design: Firebase security rules guard the data)."""
    return {f"{prefix}FIREBASE_{name}": (str(config[k]), False) for k, name in FIREBASE_KEYS.items() if config.get(k)}


# -- writing them ----------------------------------------------------------------------------------------
def update_dotenv(path: Path, values: Mapping[str, str], *, dry_run: bool) -> tuple[list[str], list[str], list[str]]:
    """Set ``values`` in a .env file, keeping its other lines; (added, changed, unchanged)."""
    old = read_dotenv(path) if path.is_file() else {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    added = [k for k in values if k not in old]
    changed = [k for k in values if k in old and old[k] != values[k]]
    unchanged = [k for k in values if k in old and old[k] == values[k]]
    if dry_run or not (added or changed):
        return added, changed, unchanged
    rendered = dict(zip(values, envs.format_dotenv(values).splitlines(), strict=True))
    out = []
    for line in lines:
        m = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        out.append(rendered.pop(m.group(1)) if m and m.group(1) in rendered else line)
    out.extend(rendered.values())
    atomic_write(path, "\n".join(out) + "\n", mode=0o600)
    return added, changed, unchanged


def write_env(host: Any, root: Path, environment: str, values: Mapping[str, tuple[str, bool]], *,
              dry_run: bool) -> tuple[str, list[str], list[str], list[str]]:
    """Put ``values`` where ``host`` keeps the environment's variables; (destination, added, changed, unchanged)."""
    plain = {k: v for k, (v, _) in values.items()}
    if isinstance(host, EnvStore):
        result = envs.push_values(host, environment, plain, secret_keys=frozenset(k for k, (_, s) in values.items() if s),
                                  dry_run=dry_run)
        return host.name, result.added, result.changed, result.unchanged
    secret = [k for k, (_, s) in values.items() if s]
    if secret:
        raise UsageError(
            f"{getattr(host, 'name', 'This host')} keeps no server-side variables, so {', '.join(secret)} has "
            "nowhere safe to go there. Nothing was changed.",
            hint="Leave out --service-role for this host; give the key to the code that runs on a server (e.g. "
                 "`moai-adk secrets set` for Supabase Edge Functions).")
    for key, value in plain.items():
        envs.check_key(key)
        envs.check_public(key, value, secret=False)
    path = root / f".env.{environment}"
    added, changed, unchanged = update_dotenv(path, plain, dry_run=dry_run)
    return path.name, added, changed, unchanged


def link(cfg: Config, backend: str, host: Any, environ: Mapping[str, str], *, environments: Iterable[str] = (),
         service_role: bool = False, dry_run: bool = False,
         transport: httpx.BaseTransport | None = None) -> LinkReport:
    """Write ``backend``'s client settings into ``host``'s variables of each environment."""
    prefix = public_prefix(cfg.root)
    report = LinkReport(backend=backend, host=host.name, prefix=prefix, dry_run=dry_run)
    if prefix.note:
        report.notes.append(prefix.note)
    if backend == "supabase":
        refs = supabase_environments(cfg, environ, environments)
        gathered = {env: (ref, supabase_values(cfg, env, ref, environ, prefix.prefix, service_role=service_role,
                                               transport=transport)) for env, ref in refs.items()}
        if service_role:
            report.notes.append(f"{SERVICE_ROLE_KEY} is a server-side secret (it bypasses row-level security): read "
                                "it only in server code, never under a public prefix.")
    elif backend == "firebase":
        if service_role:
            raise UsageError("--service-role is for Supabase; Firebase's web app config has no secret key.",
                             hint="Leave out --service-role.")
        gathered = _firebase_gathered(cfg, environ, environments, prefix.prefix, transport)
        report.notes.append("The Firebase web app config (apiKey included) is public by design: it identifies the "
                            "project, and Firebase security rules and authorized domains guard the data.")
    else:
        raise UsageError(f"Unknown backend '{backend}'; known: supabase, firebase.",
                         hint="Run `moai-adk link supabase --to <host>` or `moai-adk link firebase --to <host>`.")
    # every environment's values are checked before the first write (each push is all-or-nothing itself)
    for env, (_, values) in gathered.items():
        for key, (value, secret) in values.items():
            envs.check_public(key, value, secret=secret, provider=host)
            if isinstance(host, EnvStore):
                host.check_env_value(env, key, value, secret=secret)
    for env, (project, values) in gathered.items():
        destination, added, changed, unchanged = write_env(host, cfg.root, env, values, dry_run=dry_run)
        report.environments.append(LinkedEnv(env, project, destination, {k: s for k, (_, s) in values.items()},
                                             added, changed, unchanged))
        if not dry_run:
            audit.record(cfg.root, "backend link", environment=env, target=host.name,
                         details={"backend": backend, "project": project, "destination": destination,
                                  "keys": sorted(values), "added": added, "changed": changed})
    return report


def firebase_environments(cfg: Config, wanted: Iterable[str] = ()) -> dict[str, str]:
    """environment -> Firebase project: the ``wanted`` ones, else every declared environment that has one."""
    from .firebase import project_of

    chosen = list(dict.fromkeys(wanted))
    for env in chosen:
        cfg.environment(env)
    out = {env: project_of(cfg, env)[0] for env in chosen or sorted(cfg.environments) or ["preview", "production"]}
    missing = [env for env in chosen if not out[env]]
    if missing or not any(out.values()):
        raise ConfigError(f"{cfg.path or 'moai.toml'} names no Firebase project for "
                          + (f"environment {missing[0]}." if missing else "any environment."),
                          hint='Add `project = "<id>"` under [backend.firebase] or [platforms.firebase].')
    return {env: project for env, project in out.items() if project}


def environments_for(cfg: Config, backend: str, environ: Mapping[str, str], wanted: Iterable[str] = ()) -> list[str]:
    """The environments ``link`` writes (for the CLI's access check before anything is sent)."""
    if backend == "supabase":
        return list(supabase_environments(cfg, environ, wanted))
    if backend == "firebase":
        return list(firebase_environments(cfg, wanted))
    raise UsageError(f"Unknown backend '{backend}'; known: supabase, firebase.",
                     hint="Run `moai-adk link supabase --to <host>` or `moai-adk link firebase --to <host>`.")


def _firebase_gathered(cfg: Config, environ: Mapping[str, str], wanted: Iterable[str], prefix: str,
                       transport: httpx.BaseTransport | None) -> dict[str, tuple[str, dict[str, tuple[str, bool]]]]:
    from .firebase import FirebaseBackend

    out: dict[str, tuple[str, dict[str, tuple[str, bool]]]] = {}
    for env in firebase_environments(cfg, wanted):
        fb = FirebaseBackend(cfg, env, environ, transport)
        try:
            out[env] = (fb.project, firebase_values(fb.web_config(), prefix))
        finally:
            fb.close()
    return out
