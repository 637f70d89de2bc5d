"""Reading a database's schema from the PostgreSQL catalog, for ``db diff`` and ``db pull``.

Every object becomes an ``Obj``: a kind, a name (quoted, schema-qualified SQL, so
it can go straight into a statement), the attributes compared between two
databases, and the facts needed to write SQL about it (``meta``, never compared).
The catalog is read with ``search_path = ''`` so every expression the server
prints (defaults, index, constraint, view and function definitions) names its
objects with their schema, the same way in both databases.

Left out: system schemas, the migration history schema, objects that belong to
an extension (the extension itself is compared), and by default the schemas a
Supabase project manages itself (``MANAGED_SCHEMAS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .history import SCHEMA as HISTORY_SCHEMA

Conn = Any   # psycopg.Connection; kept loose so tests can pass any connection

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", HISTORY_SCHEMA)
# Created and upgraded by the Supabase platform itself, not by a project's migrations.
MANAGED_SCHEMAS = ("auth", "storage", "realtime", "_realtime", "extensions", "graphql", "graphql_public",
                   "vault", "pgsodium", "pgsodium_masks", "net", "supabase_functions", "cron", "pgbouncer",
                   "_analytics", "pgtle", "topology", "tiger", "tiger_data")

KINDS = ("schema", "extension", "enum", "sequence", "table", "column", "function", "constraint", "index",
         "view", "trigger", "policy", "grant")


@dataclass(frozen=True)
class Obj:
    kind: str
    name: str
    attrs: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return str(self.meta.get("schema", self.name))

    @property
    def table(self) -> str | None:
        return self.meta.get("table")


Catalog = dict[tuple[str, str], Obj]


def excluded_schemas(include_managed: bool = False) -> list[str]:
    return list(SYSTEM_SCHEMAS) + ([] if include_managed else list(MANAGED_SCHEMAS))


# Schema filter for a namespace alias n; %(ex)s is the list of excluded schema names.
_NS = "(n.nspname <> ALL(%(ex)s) AND n.nspname NOT LIKE 'pg\\_%%')"


def _not_ext(classid: str, oid: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{classid}'::regclass AND d.objid = {oid} "
            "AND d.deptype = 'e')")


_Q: dict[str, str] = {
    "schema": f"""SELECT format('%%I', n.nspname) FROM pg_namespace n WHERE {_NS}
                  AND {_not_ext('pg_namespace', 'n.oid')} ORDER BY 1""",
    "extension": f"""SELECT format('%%I', e.extname), format('%%I', n.nspname) FROM pg_extension e
                     JOIN pg_namespace n ON n.oid = e.extnamespace WHERE {_NS} AND e.extname <> 'plpgsql'
                     ORDER BY 1""",
    "enum": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, t.typname),
                array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
                WHERE {_NS} AND {_not_ext('pg_type', 't.oid')} GROUP BY n.nspname, t.typname, t.oid ORDER BY t.oid""",
    "sequence": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, c.relname),
                    format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                    s.seqcycle,
                    (SELECT format('%%I.%%I.%%I', tn.nspname, tc.relname, a.attname) FROM pg_depend d
                       JOIN pg_class tc ON tc.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                       JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'
                        AND d.refclassid = 'pg_class'::regclass)
                    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE {_NS} AND {_not_ext('pg_class', 'c.oid')}
                      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                      AND d.objid = c.oid AND d.deptype = 'i')
                    ORDER BY c.oid""",
    "table": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, c.relname), c.relkind,
                 c.relrowsecurity, c.relforcerowsecurity,
                 CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {_NS} AND {_not_ext('pg_class', 'c.oid')}
                 ORDER BY c.oid""",
    "column": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, c.relname), format('%%I', a.attname),
                  format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid), a.attnotnull,
                  a.attidentity, a.attgenerated,
                  CASE WHEN a.attcollation <> t.typcollation THEN (SELECT format('%%I.%%I', cn.nspname, co.collname)
                       FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                       WHERE co.oid = a.attcollation) END
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_type t ON t.oid = a.atttypid
                  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
                    AND {_NS} AND {_not_ext('pg_class', 'c.oid')}
                  ORDER BY c.oid, a.attnum""",
    "function": f"""SELECT format('%%I', n.nspname), format('%%I.%%I(%%s)', n.nspname, p.proname,
                           pg_get_function_identity_arguments(p.oid)),
                    p.prokind, pg_get_functiondef(p.oid), pg_get_function_result(p.oid)
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE p.prokind IN ('f', 'p') AND {_NS} AND {_not_ext('pg_proc', 'p.oid')}
                    ORDER BY p.oid""",
    "constraint": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, c.relname), format('%%I', con.conname),
                      con.contype, pg_get_constraintdef(con.oid)
                      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conislocal AND NOT c.relispartition
                        AND {_NS} AND {_not_ext('pg_class', 'c.oid')}
                      ORDER BY c.oid, con.contype = 'f', con.oid""",
    "index": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, ct.relname),
                 format('%%I.%%I', n.nspname, ci.relname), pg_get_indexdef(i.indexrelid)
                 FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class ct ON ct.oid = i.indrelid
                 JOIN pg_namespace n ON n.oid = ci.relnamespace
                 WHERE ct.relkind IN ('r', 'p', 'm') AND NOT ct.relispartition AND {_NS}
                   AND {_not_ext('pg_class', 'ct.oid')}
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                   AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
                 ORDER BY ci.oid""",
    "view": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, c.relname), c.relkind,
                pg_get_viewdef(c.oid)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('v', 'm') AND {_NS} AND {_not_ext('pg_class', 'c.oid')}
                ORDER BY c.oid""",
    "trigger": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, c.relname), format('%%I', t.tgname),
                   pg_get_triggerdef(t.oid)
                   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {_NS} AND {_not_ext('pg_class', 'c.oid')}
                   ORDER BY t.oid""",
    "policy": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, c.relname), format('%%I', p.polname),
                  p.polpermissive, p.polcmd,
                  ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END
                        FROM unnest(p.polroles) r ORDER BY 1),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
                  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE {_NS} ORDER BY p.oid""",
    "grant": f"""SELECT format('%%I', n.nspname), format('%%I.%%I', n.nspname, c.relname),
                 CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                 array_agg(a.privilege_type::text ORDER BY a.privilege_type)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
                 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.grantee <> c.relowner AND {_NS}
                   AND {_not_ext('pg_class', 'c.oid')}
                 GROUP BY n.nspname, c.relname, a.grantee ORDER BY 2, 3""",
}

_CMD = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


def _rows(conn: Conn, kind: str, exclude: list[str]) -> Iterable[tuple[Any, ...]]:
    return conn.execute(_Q[kind], {"ex": exclude}).fetchall()  # type: ignore[no-any-return]


def read_catalog(conn: Conn, exclude: list[str]) -> Catalog:
    """Every compared object of the database behind ``conn`` outside the ``exclude`` schemas."""
    conn.execute("SET search_path = ''")
    try:
        return _read(conn, exclude)
    finally:
        conn.execute("RESET search_path")


def _read(conn: Conn, exclude: list[str]) -> Catalog:
    out: Catalog = {}

    def add(kind: str, name: str, attrs: dict[str, Any], **meta: Any) -> None:
        meta.setdefault("order", len(out))
        out[(kind, name)] = Obj(kind, name, attrs, meta)

    for (schema,) in _rows(conn, "schema", exclude):
        add("schema", schema, {})
    for name, schema in _rows(conn, "extension", exclude):
        add("extension", name, {"schema": schema}, schema=schema)
    for schema, name, labels in _rows(conn, "enum", exclude):
        add("enum", name, {"labels": list(labels)}, schema=schema)
    for schema, name, typ, start, inc, lo, hi, cache, cycle, owned in _rows(conn, "sequence", exclude):
        add("sequence", name, {"type": typ, "start": int(start), "increment": int(inc), "min": int(lo),
                               "max": int(hi), "cache": int(cache), "cycle": bool(cycle), "owned_by": owned},
            schema=schema)
    for schema, name, relkind, rls, force, partkey in _rows(conn, "table", exclude):
        add("table", name, {"rls": bool(rls), "force_rls": bool(force), "partition_by": partkey},
            schema=schema, table=name, partitioned=relkind == "p")
    for schema, table, col, typ, default, notnull, identity, generated, collation in _rows(conn, "column", exclude):
        gen = default if generated else None
        add("column", f"{table}.{col}", {
            "type": typ, "default": None if generated else default, "not_null": bool(notnull),
            "identity": {"a": "always", "d": "by default"}.get(identity), "generated": gen, "collation": collation,
        }, schema=schema, table=table, column=col)
    for schema, name, prokind, definition, result in _rows(conn, "function", exclude):
        add("function", name, {"definition": definition.strip(), "result": result}, schema=schema,
            procedure=prokind == "p")
    for schema, table, con, contype, definition in _rows(conn, "constraint", exclude):
        add("constraint", f"{con} on {table}", {"definition": definition}, schema=schema, table=table,
            constraint=con, foreign=contype == "f")
    for schema, table, name, definition in _rows(conn, "index", exclude):
        add("index", name, {"definition": definition}, schema=schema, table=table)
    for schema, name, relkind, definition in _rows(conn, "view", exclude):
        add("view", name, {"definition": definition.strip(), "materialized": relkind == "m"}, schema=schema)
    for schema, table, name, definition in _rows(conn, "trigger", exclude):
        add("trigger", f"{name} on {table}", {"definition": definition}, schema=schema, table=table, trigger=name)
    for schema, table, name, permissive, cmd, roles, qual, check in _rows(conn, "policy", exclude):
        add("policy", f"{name} on {table}", {
            "permissive": bool(permissive), "command": _CMD.get(cmd, cmd), "roles": list(roles),
            "using": qual, "with_check": check,
        }, schema=schema, table=table, policy=name)
    for schema, table, grantee, privileges in _rows(conn, "grant", exclude):
        add("grant", f"{grantee} on {table}", {"privileges": list(privileges)}, schema=schema, table=table,
            grantee=grantee)
    return out
