"""Comparing two catalogs and writing the SQL that turns one into the other.

``compare(current, desired)`` lists differences from the point of view of
``current`` (for ``db diff``: the target database, ``desired`` being the scratch
database built from the migrations): ``added`` exists only in ``current``
(added by hand), ``removed`` exists only in ``desired`` (missing from
``current``), ``changed`` exists in both with different attributes. Objects
inside an added or removed schema or table are folded into it in the report.

``plan_sql(current, desired)`` writes the statements that bring ``current`` in
line with ``desired``, in dependency order: creations (schemas, extensions,
types, sequences, tables, columns, functions, constraints, indexes, views,
triggers, RLS, policies, grants) after drops in the reverse order. Every DROP
and every column type change is marked destructive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog, Obj

ORDER = ("schema", "extension", "enum", "sequence", "table", "column", "function", "constraint", "index",
         "view", "trigger", "policy", "grant")


@dataclass
class Difference:
    change: str                 # added | removed | changed
    kind: str
    name: str
    details: list[dict[str, Any]] = field(default_factory=list)   # {"attr", "target", "migrations"}

    def to_json(self) -> dict[str, Any]:
        return {"change": self.change, "kind": self.kind, "name": self.name, "details": self.details}

    def describe(self) -> str:
        if self.change == "added":
            return f"{self.kind} {self.name}: in the database only (not created by the migrations)"
        if self.change == "removed":
            return f"{self.kind} {self.name}: missing from the database (created by the migrations)"
        parts = []
        for d in self.details:
            a, b = d["target"], d["migrations"]
            if len(repr(a)) + len(repr(b)) > 120:
                parts.append(f"{d['attr']} differs")
            else:
                parts.append(f"{d['attr']} {_show(a)} in the database, {_show(b)} in the migrations")
        return f"{self.kind} {self.name}: " + "; ".join(parts)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)


@dataclass
class Statement:
    sql: str
    destructive: bool = False

    def render(self) -> str:
        return ("-- destructive\n" if self.destructive else "") + self.sql


def _folded(obj: Obj, gone_schemas: set[str], gone_tables: set[str]) -> bool:
    """True when ``obj`` lives in a schema or table that is itself added or removed."""
    if obj.kind != "schema" and obj.schema in gone_schemas:
        return True
    if obj.kind == "sequence" and obj.attrs["owned_by"]:
        return str(obj.attrs["owned_by"]).rsplit(".", 1)[0] in gone_tables
    return obj.kind != "table" and obj.table is not None and obj.table in gone_tables


def _split(current: Catalog, desired: Catalog) -> tuple[list[Obj], list[Obj], list[tuple[Obj, Obj]]]:
    only_current = [o for k, o in current.items() if k not in desired]
    only_desired = [o for k, o in desired.items() if k not in current]
    both = [(current[k], o) for k, o in desired.items() if k in current and current[k].attrs != o.attrs]
    return only_current, only_desired, both


def _gone(objs: list[Obj]) -> tuple[set[str], set[str]]:
    return ({o.name for o in objs if o.kind == "schema"},
            {o.name for o in objs if o.kind in ("table", "view")})


def compare(current: Catalog, desired: Catalog) -> list[Difference]:
    only_current, only_desired, both = _split(current, desired)
    out: list[Difference] = []
    for change, objs in (("added", only_current), ("removed", only_desired)):
        schemas, tables = _gone(objs)
        out += [Difference(change, o.kind, o.name) for o in objs if not _folded(o, schemas, tables)]
    for cur, want in both:
        details = [{"attr": a, "target": cur.attrs.get(a), "migrations": want.attrs.get(a)}
                   for a in want.attrs if cur.attrs.get(a) != want.attrs.get(a)]
        out.append(Difference("changed", want.kind, want.name, details))
    out.sort(key=lambda d: (ORDER.index(d.kind), d.name, d.change))
    return out


# -- SQL -----------------------------------------------------------------------------------------
def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column_def(o: Obj) -> str:
    a = o.attrs
    sql = f"{o.meta['column']} {a['type']}"
    if a["collation"]:
        sql += f" COLLATE {a['collation']}"
    if a["generated"]:
        sql += f" GENERATED ALWAYS AS ({a['generated']}) STORED"
    if a["identity"]:
        sql += f" GENERATED {a['identity'].upper()} AS IDENTITY"
    if a["default"] is not None:
        sql += f" DEFAULT {a['default']}"
    if a["not_null"] and not a["identity"]:
        sql += " NOT NULL"
    return sql


def _sequence_options(a: dict[str, Any]) -> str:
    return (f"AS {a['type']} INCREMENT BY {a['increment']} MINVALUE {a['min']} MAXVALUE {a['max']} "
            f"START WITH {a['start']} CACHE {a['cache']} {'CYCLE' if a['cycle'] else 'NO CYCLE'}")


def _policy(o: Obj) -> str:
    a = o.attrs
    sql = (f"CREATE POLICY {o.meta['policy']} ON {o.table} AS {'PERMISSIVE' if a['permissive'] else 'RESTRICTIVE'} "
           f"FOR {a['command']} TO {', '.join(a['roles'])}")
    if a["using"] is not None:
        sql += f" USING ({a['using']})"
    if a["with_check"] is not None:
        sql += f" WITH CHECK ({a['with_check']})"
    return sql + ";"


def _create(o: Obj) -> list[Statement]:
    a = o.attrs
    k = o.kind
    if k == "schema":
        return [Statement(f"CREATE SCHEMA IF NOT EXISTS {o.name};")]
    if k == "extension":
        return [Statement(f"CREATE EXTENSION IF NOT EXISTS {o.name} WITH SCHEMA {a['schema']};")]
    if k == "enum":
        return [Statement(f"CREATE TYPE {o.name} AS ENUM ({', '.join(_lit(x) for x in a['labels'])});")]
    if k == "sequence":
        return [Statement(f"CREATE SEQUENCE {o.name} {_sequence_options(a)};")]
    if k == "table":
        part = f" PARTITION BY {a['partition_by']}" if a["partition_by"] else ""
        out = [Statement(f"CREATE TABLE {o.name} (){part};")]
        if a["rls"]:
            out.append(Statement(f"ALTER TABLE {o.name} ENABLE ROW LEVEL SECURITY;"))
        if a["force_rls"]:
            out.append(Statement(f"ALTER TABLE {o.name} FORCE ROW LEVEL SECURITY;"))
        return out
    if k == "column":
        return [Statement(f"ALTER TABLE {o.table} ADD COLUMN {_column_def(o)};")]
    if k == "function":
        return [Statement(a["definition"] + ";")]
    if k == "constraint":
        return [Statement(f"ALTER TABLE {o.table} ADD CONSTRAINT {o.meta['constraint']} {a['definition']};")]
    if k in ("index", "trigger"):
        return [Statement(a["definition"] + ";")]
    if k == "view":
        mat = "MATERIALIZED " if a["materialized"] else ""
        return [Statement(f"CREATE {mat}VIEW {o.name} AS\n{a['definition'].rstrip(';')};")]
    if k == "policy":
        return [Statement(_policy(o))]
    if k == "grant":
        return [Statement(f"GRANT {', '.join(a['privileges'])} ON TABLE {o.table} TO {o.meta['grantee']};")]
    raise ValueError(k)


def _drop(o: Obj) -> list[Statement]:
    k = o.kind
    if k == "schema":
        sql = f"DROP SCHEMA {o.name} CASCADE;"
    elif k == "extension":
        sql = f"DROP EXTENSION {o.name};"
    elif k == "enum":
        sql = f"DROP TYPE {o.name};"
    elif k in ("sequence", "table", "index"):
        sql = f"DROP {k.upper()} {o.name};"
    elif k == "column":
        sql = f"ALTER TABLE {o.table} DROP COLUMN {o.meta['column']};"
    elif k == "function":
        sql = f"DROP {'PROCEDURE' if o.meta.get('procedure') else 'FUNCTION'} {o.name};"
    elif k == "constraint":
        sql = f"ALTER TABLE {o.table} DROP CONSTRAINT {o.meta['constraint']};"
    elif k == "view":
        sql = f"DROP {'MATERIALIZED ' if o.attrs['materialized'] else ''}VIEW {o.name};"
    elif k == "trigger":
        sql = f"DROP TRIGGER {o.meta['trigger']} ON {o.table};"
    elif k == "policy":
        sql = f"DROP POLICY {o.meta['policy']} ON {o.table};"
    elif k == "grant":
        return [Statement(f"REVOKE ALL ON TABLE {o.table} FROM {o.meta['grantee']};")]
    else:
        raise ValueError(k)
    return [Statement(sql, destructive=True)]


def _alter_column(cur: Obj, want: Obj) -> list[Statement]:
    a, b = cur.attrs, want.attrs
    t, c = want.table, want.meta["column"]
    if a["generated"] != b["generated"]:
        return _drop(cur) + _create(want)
    out: list[Statement] = []
    head = f"ALTER TABLE {t} ALTER COLUMN {c}"
    if a["default"] is not None and a["default"] != b["default"]:
        out.append(Statement(f"{head} DROP DEFAULT;"))
    if a["type"] != b["type"] or a["collation"] != b["collation"]:
        coll = f" COLLATE {b['collation']}" if b["collation"] else ""
        out.append(Statement(f"{head} TYPE {b['type']}{coll} USING {c}::{b['type']};", destructive=True))
    if b["not_null"] and not a["not_null"]:
        out.append(Statement(f"{head} SET NOT NULL;"))
    if a["identity"] != b["identity"]:
        if a["identity"] is None:
            out.append(Statement(f"{head} ADD GENERATED {b['identity'].upper()} AS IDENTITY;"))
        elif b["identity"] is None:
            out.append(Statement(f"{head} DROP IDENTITY;"))
        else:
            out.append(Statement(f"{head} SET GENERATED {b['identity'].upper()};"))
    if a["not_null"] and not b["not_null"]:
        out.append(Statement(f"{head} DROP NOT NULL;"))
    if b["default"] is not None and a["default"] != b["default"]:
        out.append(Statement(f"{head} SET DEFAULT {b['default']};"))
    return out


def _alter_enum(cur: Obj, want: Obj, current: Catalog) -> list[Statement]:
    have, labels = cur.attrs["labels"], want.attrs["labels"]
    it = iter(labels)
    if all(x in it for x in have):   # only additions: ADD VALUE keeps the data
        out = []
        for i, label in enumerate(labels):
            if label in have:
                continue
            where = f" AFTER {_lit(labels[i - 1])}" if i else (f" BEFORE {_lit(have[0])}" if have else "")
            out.append(Statement(f"ALTER TYPE {want.name} ADD VALUE {_lit(label)}{where};"))
        return out
    # labels removed or reordered: rebuild the type and convert the columns that use it
    old = want.name + "__old" if not want.name.endswith('"') else want.name[:-1] + '__old"'
    old_ident = old.split(".", 1)[1]
    out = [Statement(f"ALTER TYPE {want.name} RENAME TO {old_ident};"), *_create(want)]
    for o in current.values():
        if o.kind == "column" and o.attrs["type"] == want.name:
            head = f"ALTER TABLE {o.table} ALTER COLUMN {o.meta['column']}"
            if o.attrs["default"] is not None:   # a default cannot be cast with the column
                out.append(Statement(f"{head} DROP DEFAULT;"))
            out.append(Statement(f"{head} TYPE {want.name} USING {o.meta['column']}::text::{want.name};",
                                 destructive=True))
            if o.attrs["default"] is not None:
                out.append(Statement(f"{head} SET DEFAULT {o.attrs['default']};"))
    out.append(Statement(f"DROP TYPE {old};", destructive=True))
    return out


def _alter(cur: Obj, want: Obj, current: Catalog) -> list[Statement]:
    k = want.kind
    a, b = cur.attrs, want.attrs
    if k == "column":
        return _alter_column(cur, want)
    if k == "enum":
        return _alter_enum(cur, want, current)
    if k == "table":
        if a["partition_by"] != b["partition_by"]:
            return _drop(cur) + _create(want)
        out = []
        if a["rls"] != b["rls"]:
            out.append(Statement(f"ALTER TABLE {want.name} {'ENABLE' if b['rls'] else 'DISABLE'} ROW LEVEL SECURITY;"))
        if a["force_rls"] != b["force_rls"]:
            out.append(Statement(f"ALTER TABLE {want.name} {'' if b['force_rls'] else 'NO '}FORCE ROW LEVEL SECURITY;"))
        return out
    if k == "sequence":
        out = [Statement(f"ALTER SEQUENCE {want.name} {_sequence_options(b)};")]
        if a["owned_by"] != b["owned_by"]:
            out.append(Statement(f"ALTER SEQUENCE {want.name} OWNED BY {b['owned_by'] or 'NONE'};"))
        return out
    if k == "extension":
        return [Statement(f"ALTER EXTENSION {want.name} SET SCHEMA {b['schema']};")]
    if k == "function" and a["result"] == b["result"]:
        return [Statement(b["definition"] + ";")]
    if k == "grant":
        add = [p for p in b["privileges"] if p not in a["privileges"]]
        drop = [p for p in a["privileges"] if p not in b["privileges"]]
        out = []
        if drop:
            out.append(Statement(f"REVOKE {', '.join(drop)} ON TABLE {want.table} FROM {want.meta['grantee']};"))
        if add:
            out.append(Statement(f"GRANT {', '.join(add)} ON TABLE {want.table} TO {want.meta['grantee']};"))
        return out
    return _drop(cur) + _create(want)


def plan_sql(current: Catalog, desired: Catalog) -> list[Statement]:
    """Statements that make ``current`` match ``desired`` (nothing is run)."""
    only_current, only_desired, both = _split(current, desired)
    rank = ORDER.index
    drops: list[Statement] = []
    gone_schemas, gone_tables = _gone(only_current)
    for o in sorted(only_current, key=lambda o: (-rank(o.kind), -int(o.meta.get("order", 0)))):
        if _folded(o, gone_schemas, gone_tables) or (o.kind == "grant" and o.table in gone_tables):
            continue
        if o.kind == "sequence" and ("column", o.attrs["owned_by"]) in current and \
                ("column", o.attrs["owned_by"]) not in desired:
            continue   # dropped with its column
        drops += _drop(o)
    changes = sorted([(rank(w.kind), int(w.meta.get("order", 0)), c, w) for c, w in both], key=lambda t: t[:2])
    adds = sorted(only_desired, key=lambda o: (rank(o.kind), int(o.meta.get("order", 0))))
    owned = [Statement(f"ALTER SEQUENCE {o.name} OWNED BY {o.attrs['owned_by']};")
             for o in adds if o.kind == "sequence" and o.attrs["owned_by"]]
    alters: list[Statement] = []
    for _r, _o, cur, want in changes:
        alters += _alter(cur, want, current)
    # creations of the kinds before "column" go first, then alterations, then the rest
    early = [s for o in adds if rank(o.kind) <= rank("column") for s in _create(o)]
    late = [s for o in adds if rank(o.kind) > rank("column") for s in _create(o)]
    return drops + early + owned + alters + late
