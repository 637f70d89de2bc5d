"""What ``db sync`` and ``db forget`` read from the catalog: tables, columns, foreign keys, sequences.

:func:`copy_order` sorts tables so that a referenced table is filled before the tables that point
at it (Kahn's algorithm over ``pg_constraint`` foreign keys among the chosen tables). A table that
references itself needs nothing: PostgreSQL checks a non-deferred foreign key at the end of the
statement, so one ``COPY`` may hold a row before the row it points to. A cycle between tables has
no order; it is allowed only when every foreign key on it is ``DEFERRABLE`` (the sync runs
``SET CONSTRAINTS ALL DEFERRED``, so they are checked at commit). Otherwise it is an error naming
the constraints: disabling triggers (``session_replication_role = replica``) would need a superuser
and would let broken references in unchecked, so the sync never does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from ..errors import DatabaseError
from .anonymize import Column


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    oid: int
    kind: str = "r"  # r: table, p: partitioned table
    estimate: int = -1  # pg_class.reltuples (-1: never analysed)

    @property
    def qualified(self) -> str:
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"

    @property
    def ident(self) -> str:
        return f"{_quote(self.schema)}.{_quote(self.name)}"


@dataclass(frozen=True)
class ForeignKey:
    name: str
    child: int
    parent: int
    deferrable: bool


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote(name: str) -> str:
    return _quote(name)


_TABLE_SQL = """
select n.nspname, c.relname, c.oid::int, c.relkind::text, c.reltuples::bigint
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition
"""


def _row(r: tuple[Any, ...]) -> Table:
    return Table(schema=r[0], name=r[1], oid=r[2], kind=r[3], estimate=int(r[4]))


def find_tables(conn: psycopg.Connection[Any], names: list[str] | None, schema: str = "public") -> list[Table]:
    """The tables named (``name`` or ``schema.name``), or every table of ``schema``; missing names -> []."""
    if names is None:
        rows = conn.execute(_TABLE_SQL + " and n.nspname = %s order by 1, 2", (schema,)).fetchall()
        return [_row(r) for r in rows]
    found: list[Table] = []
    for name in names:
        sch, _, rel = name.rpartition(".")
        row = conn.execute(_TABLE_SQL + " and n.nspname = %s and c.relname = %s", (sch or schema, rel)).fetchone()
        if row is not None:
            found.append(_row(row))
    return found


def find_table(conn: psycopg.Connection[Any], name: str, schema: str = "public") -> Table | None:
    tables = find_tables(conn, [name], schema)
    return tables[0] if tables else None


def columns(conn: psycopg.Connection[Any], table: Table) -> list[Column]:
    """Columns in attnum order, generated ones left out (they cannot be written)."""
    rows = conn.execute("""
        select a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, null), a.attnotnull,
               case when a.atttypid in ('varchar'::regtype, 'bpchar'::regtype) and a.atttypmod > 4
                    then a.atttypmod - 4 end
        from pg_attribute a
        where a.attrelid = %s and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
        order by a.attnum""", (table.oid,)).fetchall()
    return [Column(name=r[0], type=r[1], base=r[2], not_null=bool(r[3]), max_length=r[4]) for r in rows]


def foreign_keys(conn: psycopg.Connection[Any]) -> list[ForeignKey]:
    rows = conn.execute("select conname, conrelid::int, confrelid::int, condeferrable from pg_constraint "
                        "where contype = 'f'").fetchall()
    return [ForeignKey(name=r[0], child=r[1], parent=r[2], deferrable=bool(r[3])) for r in rows]


def copy_order(tables: list[Table], fks: list[ForeignKey]) -> list[Table]:
    """``tables`` with every referenced table before its referencing ones (see the module docstring)."""
    by_oid = {t.oid: t for t in tables}
    parents: dict[int, set[int]] = {t.oid: set() for t in tables}
    for fk in fks:
        if fk.child in by_oid and fk.parent in by_oid and fk.child != fk.parent:
            parents[fk.child].add(fk.parent)
    order: list[Table] = []
    done: set[int] = set()
    pending = sorted(tables, key=lambda t: (t.schema, t.name))
    while pending:
        ready = [t for t in pending if parents[t.oid] <= done]
        if not ready:
            break
        for t in ready:
            order.append(t)
            done.add(t.oid)
        pending = [t for t in pending if t.oid not in done]
    if pending:
        left = {t.oid for t in pending}
        cycle = [fk for fk in fks if fk.child in left and fk.parent in left and fk.child != fk.parent]
        strict = [fk for fk in cycle if not fk.deferrable]
        if strict:
            names = ", ".join(f"{fk.name} ({by_oid[fk.child].qualified} -> {by_oid[fk.parent].qualified})"
                              for fk in strict)
            raise DatabaseError(
                f"The tables {', '.join(t.qualified for t in pending)} reference each other in a cycle, so no "
                f"copy order fills a table before the tables it points to; these foreign keys are checked at "
                f"once: {names}.",
                hint="Make them DEFERRABLE on the target (ALTER TABLE ... ALTER CONSTRAINT <name> DEFERRABLE), "
                     "so they are checked at commit, or leave one side out with --tables.")
        order.extend(pending)
    return order


def outside_references(fks: list[ForeignKey], tables: list[Table],
                       names: dict[int, str]) -> list[str]:
    """Foreign keys from a table not being synced into one that is (TRUNCATE would refuse)."""
    chosen = {t.oid for t in tables}
    return sorted({f"{names.get(fk.child, str(fk.child))} ({fk.name})" for fk in fks
                   if fk.parent in chosen and fk.child not in chosen})


def table_names(conn: psycopg.Connection[Any]) -> dict[int, str]:
    rows = conn.execute("select c.oid::int, n.nspname, c.relname from pg_class c join pg_namespace n "
                        "on n.oid = c.relnamespace where c.relkind in ('r', 'p')").fetchall()
    return {r[0]: r[2] if r[1] == "public" else f"{r[1]}.{r[2]}" for r in rows}


def sequences(conn: psycopg.Connection[Any], table: Table) -> list[tuple[str, str]]:
    """(column, sequence) for each serial or identity column of ``table``."""
    rows = conn.execute("""
        select a.attname, pg_get_serial_sequence(%s, a.attname)
        from pg_attribute a where a.attrelid = %s and a.attnum > 0 and not a.attisdropped""",
                        (table.ident, table.oid)).fetchall()
    return [(r[0], r[1]) for r in rows if r[1]]


def count_rows(conn: psycopg.Connection[Any], table: Table) -> int:
    row = conn.execute(f"select count(*) from {table.ident}").fetchone()
    return int(row[0]) if row else 0
