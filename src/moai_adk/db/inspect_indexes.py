"""Sections of ``db inspect`` about storage: unused, duplicate and missing indexes, bloat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .inspect import Conn, Section, Thresholds, human_size, one, rows, user_schemas_clause

DROP_ADVICE = ("Drop an index you do not need with DROP INDEX CONCURRENTLY <name>; (in a migration: "
               "`moai-adk db migration new drop_unused_index`), which does not block writes.")


def _stats_note(conn: Conn) -> str:
    r = one(conn, "select stats_reset::text as reset from pg_stat_database where datname = current_database()")
    since = f"since {r['reset']}" if r.get("reset") else "since the statistics were last reset"
    return (f"Scan counts are {since} and from this server only: an index a read replica uses still counts as "
            "unused here, and one needed monthly may not have been used yet.")


def unused_indexes(conn: Conn, th: Thresholds) -> Section:
    """Indexes never scanned, that enforce nothing (not unique, not primary, no constraint)."""
    sec = Section("unused_indexes", "")
    found = rows(conn, f"""select s.schemaname as schema, s.relname as "table", s.indexrelname as index,
                                  pg_relation_size(s.indexrelid) as size_bytes, s.idx_scan as scans,
                                  pg_get_indexdef(s.indexrelid) as definition
                           from pg_stat_user_indexes s join pg_index i on i.indexrelid = s.indexrelid
                           where s.idx_scan = 0 and not i.indisunique and not i.indisprimary
                             and not exists (select 1 from pg_constraint c where c.conindid = s.indexrelid)
                             and {user_schemas_clause('s.schemaname')}
                           order by size_bytes desc, s.indexrelname""")
    sec.info["count"], sec.info["bytes"] = len(found), sum(int(r["size_bytes"]) for r in found)
    sec.lists = {"indexes": found[: th.top]}
    sec.columns = {"indexes": ["schema", "table", "index", "size_bytes", "scans"]}
    if found:
        sec.warn(f"{len(found)} index(es) never used for a scan ({human_size(sec.info['bytes'])} in all); each one still "
                 "slows every INSERT, UPDATE and DELETE on its table.", DROP_ADVICE, _stats_note(conn))
    else:
        sec.summary = "Every index that enforces nothing has been used at least once."
    return sec


@dataclass(frozen=True)
class _Index:
    oid: int
    schema: str
    table: str
    name: str
    am: str
    unique: bool
    primary: bool
    constraint: bool
    keys: tuple[int, ...]
    classes: tuple[int, ...]
    collations: tuple[int, ...]
    includes: bool
    exprs: str
    pred: str
    size: int
    definition: str

    def strength(self) -> tuple[bool, bool, bool, int]:
        """Which of two equal indexes to keep: primary, then constraint, then unique, then the older one."""
        return (self.primary, self.constraint, self.unique, -self.oid)


def _covered_by(a: _Index, b: _Index) -> str | None:
    """Why ``a`` is redundant next to ``b``, or None."""
    if a.oid == b.oid or (a.schema, a.table, a.am, a.pred, a.exprs) != (b.schema, b.table, b.am, b.pred, b.exprs):
        return None
    n = len(a.keys)
    if a.includes or n > len(b.keys) or a.keys != b.keys[:n] or a.classes != b.classes[:n] \
            or a.collations != b.collations[:n]:
        return None
    if n == len(b.keys):
        return "same columns" if a.strength() < b.strength() else None
    if a.am != "btree" or a.exprs or a.unique or a.constraint:
        return None  # only a btree's leading columns serve alone; a unique index on fewer columns enforces more
    return "prefix of"


def duplicate_indexes(conn: Conn, th: Thresholds) -> Section:
    """Indexes whose columns (with the same expression and predicate) equal or lead another index's."""
    sec = Section("duplicate_indexes", "")
    found = rows(conn, f"""select i.indexrelid::int as oid, n.nspname as schema, t.relname as "table",
                                  c.relname as name, am.amname as am, i.indisunique as unique,
                                  i.indisprimary as primary,
                                  exists (select 1 from pg_constraint k where k.conindid = i.indexrelid) as constraint,
                                  (i.indkey::int2[])[0:i.indnkeyatts - 1] as keys,
                                  (i.indclass::oid[])[0:i.indnkeyatts - 1]::int8[] as classes,
                                  (i.indcollation::oid[])[0:i.indnkeyatts - 1]::int8[] as collations,
                                  i.indnatts > i.indnkeyatts as includes,
                                  coalesce(pg_get_expr(i.indexprs, i.indrelid), '') as exprs,
                                  coalesce(pg_get_expr(i.indpred, i.indrelid), '') as pred,
                                  pg_relation_size(i.indexrelid) as size, pg_get_indexdef(i.indexrelid) as definition
                           from pg_index i join pg_class c on c.oid = i.indexrelid
                           join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace
                           join pg_am am on am.oid = c.relam
                           where i.indisvalid and {user_schemas_clause('n.nspname')}
                           order by n.nspname, t.relname, c.relname""")
    indexes = [_Index(**{**r, "keys": tuple(r["keys"] or ()), "classes": tuple(r["classes"] or ()),
                         "collations": tuple(c or 0 for c in r["collations"] or ())}) for r in found]
    by_table: dict[tuple[str, str], list[_Index]] = {}
    for ix in indexes:
        by_table.setdefault((ix.schema, ix.table), []).append(ix)
    dups: list[dict[str, Any]] = []
    for group in by_table.values():
        for a in group:
            for b in sorted(group, key=lambda x: (-len(x.keys), x.name)):
                why = _covered_by(a, b)
                if why:
                    dups.append({"schema": a.schema, "table": a.table, "index": a.name, "size_bytes": a.size,
                                 "reason": why, "covered_by": b.name, "definition": a.definition,
                                 "covered_by_definition": b.definition})
                    break
    dups.sort(key=lambda d: (-int(d["size_bytes"]), d["index"]))
    sec.info["count"], sec.info["bytes"] = len(dups), sum(int(d["size_bytes"]) for d in dups)
    sec.lists = {"indexes": dups[: th.top]}
    sec.columns = {"indexes": ["table", "index", "size_bytes", "reason", "covered_by"]}
    if dups:
        sec.warn(f"{len(dups)} index(es) duplicate another index of the same table ({human_size(sec.info['bytes'])}): "
                 "the other one answers the same queries, so these only cost writes and space.", DROP_ADVICE)
    else:
        sec.summary = "No index repeats or leads another index of the same table."
    return sec


def missing_indexes(conn: Conn, th: Thresholds) -> Section:
    """Large tables read mostly by sequential scans that read many rows each."""
    sec = Section("missing_indexes", "")
    found = rows(conn, f"""select schemaname as schema, relname as "table", seq_scan, seq_tup_read,
                                  coalesce(idx_scan, 0) as idx_scan,
                                  greatest(n_live_tup, (select reltuples from pg_class where oid = relid))::bigint
                                    as "rows",
                                  pg_relation_size(relid) as size_bytes
                           from pg_stat_user_tables where {user_schemas_clause('schemaname')}
                             and seq_scan >= %s order by seq_tup_read desc""", (th.missing_min_seq_scans,))
    cands = []
    for r in found:
        scans = int(r["seq_scan"]) + int(r["idx_scan"])
        share = int(r["idx_scan"]) / scans if scans else 0.0
        per_scan = int(r["seq_tup_read"]) // max(1, int(r["seq_scan"]))
        if int(r["rows"]) >= th.missing_min_rows and per_scan >= th.missing_min_rows_per_scan \
                and share < th.missing_max_index_share:
            cands.append({**r, "index_share_pct": round(100 * share, 1), "rows_per_seq_scan": per_scan})
    sec.lists = {"tables": cands[: th.top]}
    sec.columns = {"tables": ["schema", "table", "rows", "size_bytes", "seq_scan", "idx_scan", "index_share_pct",
                              "rows_per_seq_scan"]}
    sec.info["count"] = len(cands)
    if cands:
        top = cands[0]
        sec.warn(f"{len(cands)} large table(s) are mostly read by sequential scans; {top['schema']}.{top['table']} "
                 f"({top['rows']} rows) was scanned sequentially {top['seq_scan']} times, {top['rows_per_seq_scan']} "
                 "rows each.",
                 "Find the statements that read these tables among the slow queries, EXPLAIN them, and index the "
                 "columns of their WHERE and JOIN clauses with CREATE INDEX CONCURRENTLY (in a migration).")
    else:
        sec.summary = (f"No table of {th.missing_min_rows}+ rows is read mostly by sequential scans "
                       f"({th.missing_min_seq_scans}+ scans of {th.missing_min_rows_per_scan}+ rows each).")
    return sec
