"""Databases beside the target on its own server: create, restore a dump into, count, drop, rename.

``db backups verify`` restores into ``moai_verify_<random>`` (always dropped afterwards);
``db restore --to`` into ``<live>_restore_<time>``, then swaps names with the live database.
Statements that act on a whole database run from the server's maintenance database
(``postgres``, or ``template1`` when the live database is ``postgres``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from .backup import restore as pg_restore_into
from .connect import Target, connect, translate
from .manifest import count_rows

MAX_NAME = 63  # PostgreSQL's identifier limit (bytes)


def with_database(target: Target, dbname: str) -> Target:
    """``target`` pointing at another database of the same server (same user and password)."""
    params = psycopg.conninfo.conninfo_to_dict(target.url)
    params["dbname"] = dbname
    return Target(url=psycopg.conninfo.make_conninfo(**params),  # type: ignore[arg-type]
                  environment=target.environment, env_var=target.env_var)


def database_of(target: Target) -> str:
    conn = connect(target)
    try:
        return conn.info.dbname
    finally:
        conn.close()


def derived_name(base: str, suffix: str) -> str:
    """``<base><suffix>`` cut to PostgreSQL's 63-byte limit (the suffix is kept whole)."""
    room = MAX_NAME - len(suffix.encode())
    cut = base.encode()[:room].decode("utf-8", "ignore")
    return cut + suffix


def maintenance(target: Target, avoid: str) -> Target:
    return with_database(target, "template1" if avoid == "postgres" else "postgres")


def create_database(target: Target, name: str) -> Target:
    """Create ``name`` on the target's server; a Target for it."""
    conn = connect(target)
    try:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise translate(exc, target, f"creating the database {name}") from exc
    finally:
        conn.close()
    return with_database(target, name)


def drop_database(target: Target, name: str) -> None:
    conn = connect(maintenance(target, name))
    try:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise translate(exc, target, f"dropping the database {name}") from exc
    finally:
        conn.close()


@contextmanager
def scratch_database(target: Target, name: str) -> Iterator[Target]:
    """A new database for the block's duration, dropped afterwards whatever happens."""
    created = create_database(target, name)
    try:
        yield created
    finally:
        drop_database(target, name)


def restore_and_count(dump: Path, into: Target, environ: Mapping[str, str],
                      entries: int | None = None) -> dict[str, int]:
    """pg_restore a plain dump into an empty database, then the exact row count of each user table
    (``entries``: see ``backup.restore``)."""
    pg_restore_into(dump, into, environ=environ, entries=entries)
    conn = connect(into)
    try:
        return count_rows(conn)
    except psycopg.Error as exc:
        raise translate(exc, into, "counting the restored rows") from exc
    finally:
        conn.close()


def swap(target: Target, live: str, new: str, old: str, *, attempts: int = 20) -> int:
    """Rename ``live`` to ``old`` and ``new`` to ``live`` in one transaction; returns the sessions ended.

    New connections to ``live`` are refused while the names move; its sessions are terminated
    (retried until they are gone, as termination is asynchronous)."""
    conn = connect(maintenance(target, live))
    ident = sql.Identifier
    ended = 0
    try:
        conn.execute(sql.SQL("alter database {} with allow_connections false").format(ident(live)))
        try:
            for attempt in range(attempts):
                row = conn.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity "
                                   "where datname = %s and pid <> pg_backend_pid()", (live,)).fetchone()
                ended += row[0] if row and isinstance(row[0], int) else 0
                try:
                    with conn.transaction():
                        conn.execute(sql.SQL("alter database {} rename to {}").format(ident(live), ident(old)))
                        conn.execute(sql.SQL("alter database {} rename to {}").format(ident(new), ident(live)))
                    break
                except psycopg.errors.ObjectInUse:
                    if attempt == attempts - 1:
                        raise
                    time.sleep(0.1)
        finally:
            renamed = conn.execute("select 1 from pg_database where datname = %s", (old,)).fetchone()
            conn.execute(sql.SQL("alter database {} with allow_connections true").format(
                ident(old if renamed else live)))
    except psycopg.Error as exc:
        raise translate(exc, target, f"swapping the databases {live} and {new}") from exc
    finally:
        conn.close()
    return ended
