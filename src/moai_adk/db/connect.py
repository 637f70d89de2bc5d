"""Which database, and how to reach it: URL resolution, connection, redaction.

The URL comes from ``--db-url``, or from the environment variable named by
``db_url_env`` in ``[environments.<env>]`` of moai.toml, read from the
``environ`` mapping the caller passes. Passwords never reach the screen: every
message shows the URL through ``redact``.

Commands that hold the session advisory lock (``db push``, ``migration repair``)
pass their target through ``session_target``: Supabase's transaction pooler
(Supavisor, ``*.pooler.supabase.com:6543``) hands each transaction to another
server connection, so a session lock taken there protects nothing. As the
Supabase CLI does for migrations, the target is moved to the session pooler on
port 5432 of the same host, with a notice. The dedicated PgBouncer on
``db.<ref>.supabase.co:6543`` has no session mode there, so it is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg

from ..config import Config
from ..errors import ConfigError, DatabaseError, UsageError

APPLICATION_NAME = "moai-adk"
TRANSACTION_POOLER_PORT = 6543
SESSION_POOLER_PORT = 5432
SUPAVISOR_SUFFIX = ".pooler.supabase.com"
SUPABASE_DB_SUFFIX = ".supabase.co"


@dataclass(frozen=True)
class Target:
    """A database to talk to, and how the user named it (for messages and hints)."""

    url: str
    environment: str | None = None
    env_var: str | None = None

    @property
    def label(self) -> str:
        if self.environment:
            return f"environment '{self.environment}' (${self.env_var}: {redact(self.url)})"
        return f"--db-url {redact(self.url)}"

    @property
    def flag(self) -> str:
        """The flag that selects this database again, for hints."""
        if self.environment:
            return f"--env {self.environment}"
        return f"--db-url '{redact(self.url)}'"


def redact(url: str) -> str:
    """``url`` with any password replaced by ``****`` (URL or key=value form)."""
    if "://" in url:
        try:
            parts = urlsplit(url)
        except ValueError:
            return re.sub(r"://[^@/]*@", "://****@", url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":****"
            netloc = f"{userinfo}@{host}"
        query = re.sub(r"(?i)(password=)[^&]*", r"\1****", parts.query)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return re.sub(r"(?i)(password\s*=\s*)('([^'\\]|\\.)*'|\S+)", r"\1****", url)


def password_of(url: str) -> str | None:
    try:
        return psycopg.conninfo.conninfo_to_dict(url).get("password")  # type: ignore[return-value]
    except psycopg.Error:
        return None


def scrub(message: str, url: str) -> str:
    """Remove the URL's password from a driver message."""
    if url and url in message:
        message = message.replace(url, redact(url))
    pw = password_of(url)
    if pw:
        message = message.replace(str(pw), "****")
    return message


def resolve_target(config: Config | None, env: str | None, db_url: str | None,
                   environ: Mapping[str, str], *, required: bool = True) -> Target | None:
    """``--db-url`` wins; else the env var named by ``environments.<env>.db_url_env``."""
    if env and db_url:
        raise UsageError("Pass either --env or --db-url, not both.",
                         hint="Drop one of the two flags.")
    if db_url:
        return Target(url=db_url)
    if not env:
        if not required:
            return None
        raise UsageError("No database given: pass --env <environment> or --db-url <postgresql://...>.",
                         hint="moai-adk db push --env production")
    if config is None:
        raise ConfigError(
            f"--env {env} needs moai.toml to find the database URL of environment '{env}', but there is none "
            "in this folder or its parents.",
            hint="Run `moai-adk init`, or pass the URL directly with --db-url.",
        )
    environment = config.environment(env)
    where = config.path or "moai.toml"
    if not environment.db_url_env:
        raise ConfigError(
            f"Environment '{env}' has no database URL: `environments.{env}.db_url_env` is not set in {where}.",
            hint=f'Add `db_url_env = "{env.upper().replace("-", "_")}_DB_URL"` under [environments.{env}] in '
                 f"{where} and export that variable, or pass --db-url.",
        )
    var = environment.db_url_env
    url = environ.get(var, "").strip()
    if not url:
        raise ConfigError(
            f"The database URL of environment '{env}' is missing: environment variable {var} (named by "
            f"`environments.{env}.db_url_env` in {where}) is not set.",
            hint=f"export {var}='postgresql://user:password@host:5432/postgres', or pass --db-url.",
        )
    return Target(url=url, environment=env, env_var=var)


def _with_port(url: str, port: int) -> str:
    """``url`` with its port replaced (URL form keeps its shape; key=value form is rebuilt)."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.port is not None and "," not in parts.netloc:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            host = hostport.rsplit(":", 1)[0]
            netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
            return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return psycopg.conninfo.make_conninfo(url, port=str(port))


def session_target(target: Target) -> tuple[Target, list[str]]:
    """``target`` made able to hold a session advisory lock, and the notices to show.

    Supavisor's transaction port 6543 becomes its session port 5432 (same host, user and
    password); PgBouncer's transaction port on ``db.<ref>.supabase.co`` is refused."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(target.url)
    except psycopg.Error:
        return target, []  # connect() reports the malformed URL with its source
    host = str(params.get("host") or "").lower()
    port = str(params.get("port") or "")
    if port != str(TRANSACTION_POOLER_PORT) or "," in host:
        return target, []
    source = f"${target.env_var}" if target.env_var else "--db-url"
    if host.endswith(SUPAVISOR_SUFFIX):
        switched = Target(url=_with_port(target.url, SESSION_POOLER_PORT), environment=target.environment,
                          env_var=target.env_var)
        return switched, [
            f"The database URL from {source} uses Supabase's transaction pooler (port "
            f"{TRANSACTION_POOLER_PORT}), which cannot hold the session lock that keeps two migration runs "
            f"apart; connecting to the session pooler on port {SESSION_POOLER_PORT} of {host} instead, as the "
            f"Supabase CLI does for migrations. Put :{SESSION_POOLER_PORT} in {source} to silence this notice."
        ]
    if host.endswith(SUPABASE_DB_SUFFIX):
        raise ConfigError(
            f"The database URL from {source} ({redact(target.url)}) uses the transaction-mode PgBouncer on port "
            f"{TRANSACTION_POOLER_PORT}, which cannot hold the session lock that keeps two migration runs apart.",
            hint=f"Set {source} to the direct connection on port {SESSION_POOLER_PORT} of {host}, or to the "
                 f"session pooler URL from the dashboard (Connect > Session pooler: "
                 f"postgresql://postgres.<ref>:<password>@<region>{SUPAVISOR_SUFFIX}:{SESSION_POOLER_PORT}/postgres).",
        )
    return target, []


def connect(target: Target, *, connect_timeout: int = 10) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection, or a ``DatabaseError`` naming where the URL came from."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(target.url)
    except psycopg.Error as exc:
        source = f"environment variable {target.env_var}" if target.env_var else "--db-url"
        raise ConfigError(
            f"The database URL from {source} is not a valid PostgreSQL URL ({scrub(str(exc), target.url)}).",
            hint="Use the form postgresql://user:password@host:5432/dbname.",
        ) from None
    params.setdefault("connect_timeout", connect_timeout)
    params.setdefault("application_name", APPLICATION_NAME)
    try:
        return psycopg.connect(autocommit=True, **params)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        detail = scrub(" ".join(lines) or type(exc).__name__, target.url)
        if target.environment:
            hint = (f"Check that the database of environment '{target.environment}' is running and reachable, "
                    f"and that ${target.env_var} holds its URL.")
        else:
            hint = "Check that the server is running and reachable, and the URL given to --db-url."
        raise DatabaseError(f"Cannot connect to the database of {target.label}: {detail}", hint=hint) from exc


def translate(exc: psycopg.Error, target: Target, doing: str) -> DatabaseError:
    """A driver error met while ``doing`` something, as a ``DatabaseError``."""
    diag = exc.diag
    code = f" (SQLSTATE {diag.sqlstate})" if diag.sqlstate else ""
    msg = scrub(diag.message_primary or str(exc).strip(), target.url)
    if isinstance(exc, psycopg.OperationalError) and not diag.sqlstate:
        return DatabaseError(f"Lost the connection to the database of {target.label} while {doing}: {msg}",
                             hint="Check the server and the network, then run the command again.")
    return DatabaseError(f"PostgreSQL refused {doing} on {target.label}: {msg}{code}",
                         hint="Check the database user's privileges and the server log.")
