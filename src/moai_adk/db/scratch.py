"""A throwaway database on the target's own server, built from the local migrations.

``scratch_database`` creates ``moai_scratch_<random>`` (from ``template0``, so
nothing a template carries leaks in) with the target's connection and drops it
when the block ends, whatever ended it: success, an error, Ctrl-C, or SIGTERM
(turned into ``KeyboardInterrupt`` for the duration). ``apply_local`` runs
the migrations into it with ``db push``'s own code, so a file that would fail
on push fails here the same way.
"""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import psycopg

from ..errors import DatabaseError, MigrationError, MoaiError
from .catalog import MANAGED_SCHEMAS
from .connect import Target, connect, translate
from .history import Conn
from .push import Connector, push

PREFIX = "moai_scratch_"
Events = Callable[[str, dict[str, object]], None]


def no_events(_event: str, _data: dict[str, object]) -> None:
    return None


def scratch_target(target: Target, dbname: str) -> Target:
    params = psycopg.conninfo.conninfo_to_dict(target.url)
    params["dbname"] = dbname
    return Target(url=psycopg.conninfo.make_conninfo(**params))  # type: ignore[arg-type]


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _drop(admin: Conn, target: Target, name: str, connector: Connector) -> None:
    sql = f'DROP DATABASE IF EXISTS "{name}"'
    force = " WITH (FORCE)" if admin.info.server_version >= 130000 else ""
    conn = admin
    try:
        if conn.closed or conn.broken:
            conn = connector(target)
        conn.execute((sql + force).encode())
    finally:
        if conn is not admin:
            conn.close()


@contextmanager
def scratch_database(admin: Conn, target: Target, *, connector: Connector = connect,
                     events: Events = no_events) -> Iterator[Target]:
    """Create a scratch database beside ``target`` (through ``admin``, its connection); drop it afterwards."""
    name = PREFIX + secrets.token_hex(6)
    try:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0'.encode())
    except psycopg.errors.InsufficientPrivilege as exc:
        user = admin.info.user
        raise DatabaseError(
            f"Cannot create the scratch database {name} on the server of {target.label}: the database user "
            f"'{user}' may not create databases (CREATEDB). The local migrations are applied to a scratch database "
            "on the same server to compare the schemas.",
            hint=f"Grant it as an administrator (`ALTER ROLE \"{user}\" CREATEDB;`), or use a URL of a user that has "
                 "CREATEDB for this command.",
        ) from exc
    except psycopg.Error as exc:
        raise translate(exc, target, f"creating the scratch database {name}") from exc
    events("scratch", {"name": name})
    try:
        with _sigterm_as_interrupt():
            yield scratch_target(target, name)
    except BaseException as exc:
        try:
            _drop(admin, target, name, connector)
        except (psycopg.Error, MoaiError) as drop_exc:
            note = (f" The scratch database {name} could not be dropped ({drop_exc}); drop it with "
                    f"`DROP DATABASE \"{name}\" WITH (FORCE);`.")
            if isinstance(exc, MoaiError):
                exc.hint = (exc.hint or "") + note
        raise
    else:
        try:
            _drop(admin, target, name, connector)
        except psycopg.Error as exc:
            raise DatabaseError(f"Could not drop the scratch database {name} on the server of {target.label}: "
                                f"{exc}", hint=f"Drop it by hand: DROP DATABASE \"{name}\" WITH (FORCE);") from exc
        events("scratch-dropped", {"name": name})


def apply_local(root: Path, scratch: Target) -> int:
    """Apply every local migration to the scratch database; a failure says it happened there."""
    try:
        result = push(root, scratch)
    except MoaiError as exc:
        managed = [s for s in MANAGED_SCHEMAS if f'"{s}' in exc.message or f"{s}." in exc.message]
        hint = ("The migrations must apply to an empty database; fix the file named above, then run the command "
                "again. The scratch database is dropped.")
        if managed:
            hint += (f" The failure names the Supabase-managed schema {managed[0]}, which a scratch database "
                     "does not have: see 'Managed schemas' in docs/migrations.md.")
        raise MigrationError("The local migrations do not apply to a scratch database, so there is nothing "
                             f"to compare with. {exc.message}", hint=hint) from exc
    return len(result.applied)
