"""The bloat section of ``db inspect``: space in tables and btree indexes beyond what their rows need.

With the ``pgstattuple`` extension created in the database, the largest tables and btree indexes are
measured (``pgstattuple_approx``, ``pgstatindex``). Without it, the size the live rows should take is
estimated from ``reltuples`` and the average column widths in ``pg_stats`` (page and tuple headers,
line pointers, alignment and fillfactor counted) and compared with ``relpages``: a rough figure,
right about big differences, which are the ones that matter.
"""

from __future__ import annotations

import math
from typing import Any

from psycopg import sql

from .inspect import Conn, Section, Thresholds, human_size, one, rows, user_schemas_clause

PAGE_HEADER = 24        # PageHeaderData
LINE_POINTER = 4        # ItemIdData
HEAP_HEADER = 23        # HeapTupleHeaderData, before the null bitmap
INDEX_HEADER = 8        # IndexTupleData
BTREE_SPECIAL = 16      # BTPageOpaqueData at the end of each btree page
BTREE_FILLFACTOR = 90   # default leaf fillfactor of btree indexes

_FILLFACTOR = "coalesce((select split_part(o, '=', 2)::int from unnest({rel}.reloptions) o " \
              "where o ~ '^fillfactor='), {default})"


def _align(n: float, to: int = 8) -> int:
    return int(math.ceil(n / to) * to)


def _row(kind: str, r: dict[str, Any], ratio: float) -> dict[str, Any]:
    ratio = min(1.0, max(0.0, ratio))
    size = int(r["size_bytes"])
    return {"kind": kind, "schema": r["schema"], "name": r["name"], "table": r.get("table"), "size_bytes": size,
            "wasted_bytes": int(size * ratio), "bloat_ratio": round(ratio, 3)}


def _estimate(r: dict[str, Any], tuple_bytes: int, usable: float) -> float:
    """Share of the relation's pages beyond what ``reltuples`` tuples of ``tuple_bytes`` need."""
    per_page = max(1, math.floor(usable / tuple_bytes))
    expected = math.ceil(float(r["tuples"]) / per_page) + (1 if r["kind"] == "index" else 0)  # btree meta page
    pages = int(r["pages"])
    return (pages - expected) / pages if pages else 0.0


def table_estimates(conn: Conn) -> list[dict[str, Any]]:
    found = rows(conn, f"""select 'table' as kind, n.nspname as schema, c.relname as name, c.relpages as pages,
                                  c.reltuples::float8 as tuples, pg_relation_size(c.oid) as size_bytes,
                                  current_setting('block_size')::int as block, {_FILLFACTOR.format(rel='c', default=100)} as ff,
                                  s.width, s.ncols, s.nullable,
                                  (select count(*) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0
                                     and not a.attisdropped) as natts
                           from pg_class c join pg_namespace n on n.oid = c.relnamespace
                           join lateral (select sum((1 - st.null_frac) * st.avg_width)::float8 as width,
                                                count(*) as ncols, bool_or(st.null_frac > 0) as nullable
                                         from pg_stats st where st.schemaname = n.nspname and st.tablename = c.relname
                                           and not st.inherited) s on s.ncols > 0
                           where c.relkind in ('r', 'm') and c.relpages > 0 and c.reltuples >= 0
                             and {user_schemas_clause('n.nspname')}""")
    out = []
    for r in found:
        if int(r["ncols"]) != int(r["natts"]):
            continue  # statistics for part of the columns only: no estimate
        header = _align(HEAP_HEADER + (math.ceil(int(r["natts"]) / 8) if r["nullable"] else 0))
        tuple_bytes = header + _align(float(r["width"])) + LINE_POINTER
        usable = (int(r["block"]) - PAGE_HEADER) * int(r["ff"]) / 100
        out.append(_row("table", r, _estimate(r, tuple_bytes, usable)))
    return out


def index_estimates(conn: Conn) -> list[dict[str, Any]]:
    found = rows(conn, f"""select 'index' as kind, n.nspname as schema, c.relname as name, t.relname as "table",
                                  c.relpages as pages, c.reltuples::float8 as tuples,
                                  pg_relation_size(c.oid) as size_bytes, current_setting('block_size')::int as block,
                                  {_FILLFACTOR.format(rel='c', default=BTREE_FILLFACTOR)} as ff,
                                  s.width, s.ncols, s.nullable, i.indnatts as natts
                           from pg_index i join pg_class c on c.oid = i.indexrelid
                           join pg_am am on am.oid = c.relam and am.amname = 'btree'
                           join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace
                           join lateral (select sum((1 - st.null_frac) * st.avg_width)::float8 as width,
                                                count(*) as ncols, bool_or(st.null_frac > 0) as nullable
                                         from unnest(i.indkey::int2[]) k(attnum)
                                         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                                         join pg_stats st on st.schemaname = n.nspname and st.tablename = t.relname
                                          and st.attname = a.attname and not st.inherited) s on true
                           where c.relpages > 1 and c.reltuples >= 0 and i.indisvalid
                             and 0 <> all (i.indkey::int2[]) and {user_schemas_clause('n.nspname')}""")
    out = []
    for r in found:
        if int(r["ncols"]) != int(r["natts"]):
            continue
        tuple_bytes = _align(INDEX_HEADER + (4 if r["nullable"] else 0) + float(r["width"] or 0)) + LINE_POINTER
        usable = (int(r["block"]) - PAGE_HEADER - BTREE_SPECIAL) * int(r["ff"]) / 100
        out.append(_row("index", r, _estimate(r, tuple_bytes, usable)))
    return out


def measure_pgstattuple(conn: Conn, schema: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` largest tables and btree indexes, measured with pgstattuple."""
    ext = sql.Identifier(schema).as_string(conn)
    tables = rows(conn, f"""select n.nspname as schema, c.relname as name, p.table_len as size_bytes,
                                   {_FILLFACTOR.format(rel='c', default=100)} as ff,
                                   p.dead_tuple_len, p.approx_free_space
                            from (select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                  where c.relkind in ('r', 'm') and {user_schemas_clause('n.nspname')}
                                  order by pg_relation_size(c.oid) desc limit %s) big
                            join pg_class c on c.oid = big.oid join pg_namespace n on n.oid = c.relnamespace,
                            lateral {ext}.pgstattuple_approx(c.oid) p""", (limit,))
    out = []
    for r in tables:
        size = int(r["size_bytes"])
        wasted = int(r["dead_tuple_len"]) + int(r["approx_free_space"]) - size * (100 - int(r["ff"])) / 100
        out.append(_row("table", r, wasted / size if size else 0.0))
    indexes = rows(conn, f"""select n.nspname as schema, c.relname as name, t.relname as "table",
                                    p.index_size as size_bytes, p.leaf_pages, p.avg_leaf_density,
                                    current_setting('block_size')::int as block,
                                    {_FILLFACTOR.format(rel='c', default=BTREE_FILLFACTOR)} as ff
                             from (select i.indexrelid from pg_index i join pg_class c on c.oid = i.indexrelid
                                   join pg_am am on am.oid = c.relam and am.amname = 'btree'
                                   join pg_namespace n on n.oid = c.relnamespace
                                   where i.indisvalid and {user_schemas_clause('n.nspname')}
                                   order by pg_relation_size(i.indexrelid) desc limit %s) big
                             join pg_index i on i.indexrelid = big.indexrelid
                             join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
                             join pg_namespace n on n.oid = c.relnamespace,
                             lateral {ext}.pgstatindex(c.oid::regclass) p""", (limit,))
    for r in indexes:
        size, density = int(r["size_bytes"]), float(r["avg_leaf_density"])
        if not size or math.isnan(density):
            continue
        wasted = int(r["leaf_pages"]) * int(r["block"]) * max(0.0, 1 - density / int(r["ff"]))
        out.append(_row("index", r, wasted / size))
    return out


def bloat(conn: Conn, th: Thresholds) -> Section:
    """Tables and btree indexes with much of their space wasted."""
    sec = Section("bloat", "")
    ext = one(conn, """select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
                       where e.extname = 'pgstattuple'""")
    if ext:
        found = measure_pgstattuple(conn, str(ext["schema"]), th.top * 2)
        sec.info["method"] = "pgstattuple"
        sec.info["method_detail"] = (f"measured with pgstattuple_approx (tables) and pgstatindex (btree indexes), "
                                     f"the {th.top * 2} largest of each")
    else:
        found = table_estimates(conn) + index_estimates(conn)
        sec.info["method"] = "estimate"
        sec.info["method_detail"] = ("estimated from reltuples and the column widths in pg_stats (CREATE EXTENSION "
                                     "pgstattuple in this database to measure instead)")
    found = sorted((r for r in found if r["wasted_bytes"] > 0), key=lambda r: (-r["wasted_bytes"], r["name"]))
    bad = [r for r in found if r["bloat_ratio"] >= th.bloat_ratio and r["wasted_bytes"] >= th.bloat_min_bytes]
    sec.lists = {"relations": found[: th.top]}
    sec.columns = {"relations": ["kind", "schema", "name", "size_bytes", "wasted_bytes", "bloat_ratio"]}
    sec.info["count"] = len(bad)
    how = f"Method: {sec.info['method_detail']}."
    if bad:
        worst = bad[0]
        sec.warn(f"{len(bad)} relation(s) have {th.bloat_ratio:.0%} or more of their space wasted "
                 f"({human_size(th.bloat_min_bytes)} or more); {worst['kind']} {worst['schema']}.{worst['name']}: "
                 f"{human_size(worst['wasted_bytes'])} of {human_size(worst['size_bytes'])}. {how}",
                 "VACUUM makes dead rows' space reusable but the files keep their size: rebuild a bloated index "
                 "with REINDEX INDEX CONCURRENTLY <name>; and a table with VACUUM FULL (which locks it) or "
                 "pg_repack (online).",
                 "Check that autovacuum keeps up on tables with many updates and deletes (n_dead_tup and "
                 "last_autovacuum in pg_stat_user_tables).")
    else:
        sec.summary = (f"No table or index has {th.bloat_ratio:.0%} or more ({human_size(th.bloat_min_bytes)}+) "
                       f"of its space wasted. {how}")
    return sec
