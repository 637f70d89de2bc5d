"""``create = true`` of ``[backend.supabase]``: create an environment's Supabase project (docs/backends.md).

When an environment has no project ref and says ``create = true`` (with an organization and a region),
apply

1. lists the token's projects (``GET /v1/projects``) and adopts one of the same name in the same
   organization (an earlier apply interrupted after creating it), else
2. generates a database password, stores it in the environment's encrypted secrets store
   (``SUPABASE_DB_PASSWORD``) and creates the project (``POST /v1/projects``),
3. waits until its services answer healthy (``GET /v1/projects/{ref}/health``); a timeout leaves the
   project in place (the next apply adopts it),
4. writes the ref into moai.toml ``[environments.<env>] supabase_project_ref`` (comments kept).

Everything that can be checked (organization, region, the secrets key) is checked before any request.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from ..config import CONFIG_FILE, Config
from ..config.backend_supabase import SupabaseEnvironmentBackend
from ..errors import ConfigError, ProviderError
from ..fsutil import atomic_write
from ..providers._http import poll_until
from ..providers.base import ProviderContext
from ..providers.supabase._client import ENV_REF_KEY, LINKED_REF_FILE, make_client
from .engine import BackendError

DB_PASSWORD_KEY = "SUPABASE_DB_PASSWORD"
HEALTH_SERVICES = ("auth", "db", "rest", "storage")
HEALTHY = "ACTIVE_HEALTHY"
CREATE_TIMEOUT = 900.0  # seconds: a new project usually answers healthy within a few minutes


def ref_configured(ctx: ProviderContext, environment: str) -> bool:
    """Whether any source of a project ref (see ``providers.supabase._client.project_ref``) has one."""
    entry = ctx.environments.get(environment)
    if isinstance(entry, Mapping) and entry.get(ENV_REF_KEY):
        return True
    return bool(ctx.settings.get("project_ref")) or ctx.root.joinpath(*LINKED_REF_FILE).is_file()


def project_name(cfg: Config, environment: str, spec: SupabaseEnvironmentBackend) -> str:
    return spec.name or f"{cfg.name}-{environment}"


def check_config(cfg: Config, environment: str, spec: SupabaseEnvironmentBackend) -> None:
    """``create = true`` needs an organization and a region (checked before any request)."""
    where = cfg.path or CONFIG_FILE
    missing = [k for k in ("organization", "region") if getattr(spec, k) is None]
    if missing:
        raise ConfigError(
            f"{where}: the {environment} environment has no supabase_project_ref and [backend.supabase] says "
            f"create = true, but no {' and no '.join(missing)} to create the project in.",
            hint=f"Add {' and '.join(f'{k} = ...' for k in missing)} under [backend.supabase.environments."
                 f"{environment}] (organization: the slug in https://supabase.com/dashboard/org/<slug>; region: "
                 f"e.g. \"eu-central-1\"), or set [environments.{environment}] supabase_project_ref.")


def check_store(cfg: Config, environment: str, environ: Mapping[str, str]) -> None:
    """The database password goes into the environment's secrets store: it must be writable by us."""
    from ..secrets.ops import open_store

    store = open_store(cfg, environment, environ)
    if store.keys.load(environment) is None or not store.recipients():
        raise ConfigError(
            f"Creating the Supabase project of {environment} stores its database password ({DB_PASSWORD_KEY}) in "
            f"{store.rel(store.path)}, but you hold no {environment} key for that store. Nothing was created.",
            hint=f"Run `moai-adk secrets keygen --env {environment}`, then apply again.")


def _db_password(cfg: Config, environment: str, environ: Mapping[str, str]) -> str:
    """The stored password (an interrupted earlier apply made one), else a new one, stored before it is used."""
    from ..secrets.ops import open_store, set_secret

    store = open_store(cfg, environment, environ)
    values = store.read()
    if values.get(DB_PASSWORD_KEY):
        return values[DB_PASSWORD_KEY]
    password = _secrets.token_urlsafe(32)
    set_secret(store, DB_PASSWORD_KEY, password)
    return password


def find_existing(ctx: ProviderContext, name: str, organization: str) -> str | None:
    """The ref of the token's project called ``name`` in ``organization`` (None: there is none)."""
    with make_client(ctx) as api:
        rows = api.decode(api.request("GET", "/v1/projects")) or []
    for row in rows:
        if row.get("name") == name and row.get("organization_slug") == organization and \
                row.get("status") not in ("REMOVED", "GOING_DOWN"):
            return str(row["ref"])
    return None


def create_project(ctx: ProviderContext, cfg: Config, environment: str, spec: SupabaseEnvironmentBackend) -> str:
    """POST /v1/projects; the new project's ref."""
    body: dict[str, Any] = {"name": project_name(cfg, environment, spec), "organization_slug": spec.organization,
                            "region_selection": {"type": "specific", "code": spec.region},
                            "db_pass": _db_password(cfg, environment, ctx.environ)}
    with make_client(ctx) as api:
        try:  # never retried: a lost answer is found by name on the next apply, not created twice
            data = api.decode(api.request("POST", "/v1/projects", json=body, retry=False))
        except ProviderError as exc:
            raise ProviderError(
                f"Supabase refused to create project {body['name']} in organization {spec.organization} "
                f"({spec.region}): {exc.message}",
                hint="The token needs the projects:write permission in that organization, and the organization a "
                     "free project slot (or a paid plan).", status=exc.status) from exc
    return str(data["ref"])


def wait_healthy(ctx: ProviderContext, ref: str, *, timeout: float = CREATE_TIMEOUT,
                 sleep: Callable[[float], None] | None = None) -> None:
    """Poll the project's services until every one of HEALTH_SERVICES is ACTIVE_HEALTHY."""
    last: dict[str, str] = {s: "no answer" for s in HEALTH_SERVICES}

    def fetch() -> dict[str, str]:
        with make_client(ctx) as api:
            rows = api.decode(api.request("GET", f"/v1/projects/{ref}/health",
                                          params=[("services", s) for s in HEALTH_SERVICES])) or []
        last.update({str(r.get("name")): str(r.get("status")) for r in rows})
        return dict(last)

    try:
        poll_until(fetch, lambda got: all(got.get(s) == HEALTHY for s in HEALTH_SERVICES),
                   what=f"Supabase project {ref}", interval=2.0, max_interval=10.0, timeout=timeout,
                   sleep=sleep or ctx.sleep)
    except ProviderError as exc:
        if exc.status is not None:
            raise
        waiting = ", ".join(f"{s} ({last[s]})" for s in HEALTH_SERVICES if last.get(s) != HEALTHY)
        raise BackendError(
            f"Supabase project {ref} was created but is not healthy after {timeout:.0f} seconds: {waiting}. "
            "It was not deleted, and moai.toml does not name it yet.",
            hint="Check the project in the Supabase dashboard, then run `moai-adk backend apply` again: it finds "
                 "the project by name, waits for it and applies the rest.") from exc


def write_ref(path: Path, environment: str, ref: str) -> None:
    """Set ``[environments.<env>] supabase_project_ref`` in moai.toml, keeping everything else as written."""
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    envs = doc.get("environments")
    if not isinstance(envs, Table):
        envs = tomlkit.table(is_super_table=True)
        doc["environments"] = envs
    entry = envs.get(environment)
    if not isinstance(entry, Table):
        entry = tomlkit.table()
        envs[environment] = entry
    entry[ENV_REF_KEY] = ref
    atomic_write(path, tomlkit.dumps(doc))
