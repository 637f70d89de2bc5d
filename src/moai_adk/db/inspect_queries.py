"""Sections of ``db inspect`` about what runs: statements, activity, locks, connections, cache."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from .inspect import MARK, Conn, Section, Thresholds, one, rows, shorten

PGSS = "pg_stat_statements"
POOLER_ADVICE = (
    "Put a connection pooler in front of the database and let the application connect through it in transaction "
    "mode: on Supabase, Supavisor's transaction pooler (port 6543 of the pooler host, from Connect > Transaction "
    "pooler); elsewhere PgBouncer with pool_mode = transaction. Size the application's own pool so that all its "
    "instances together stay well below max_connections."
)


def _enable_steps(preloaded: bool, installed: bool, libraries: str) -> list[str]:
    steps = []
    if not preloaded:
        wanted = ",".join([x for x in (p.strip() for p in libraries.split(",")) if x] + [PGSS])
        steps.append(f"Load the module at server start: ALTER SYSTEM SET shared_preload_libraries = '{wanted}' "
                     "(or the same line in postgresql.conf), then restart the server. On Supabase it is already "
                     "loaded.")
    if not installed:
        steps.append(f"Create the extension in this database: CREATE EXTENSION {PGSS}; (on Supabase: Database > "
                     "Extensions, or the same statement in the SQL editor).")
    steps.append("Then let the application run for a while and inspect again: the statistics start empty.")
    return steps


def slow_queries(conn: Conn, th: Thresholds) -> Section:
    """The statements with the most total time and the highest mean time, from pg_stat_statements."""
    sec = Section("slow_queries", "")
    state = one(conn, f"""select (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace
                                  where e.extname = '{PGSS}') as schema,
                                 exists (select 1 from pg_available_extensions where name = '{PGSS}') as available,
                                 current_setting('shared_preload_libraries') as libraries""")
    libraries = str(state["libraries"] or "")
    preloaded = PGSS in [p.strip().strip('"') for p in libraries.split(",")]
    schema = state["schema"]
    sec.info = {"extension_schema": schema, "preloaded": preloaded, "shared_preload_libraries": libraries}
    if not state["available"] and schema is None:
        sec.warn(f"{PGSS} is not available on this server (it is not in pg_available_extensions), so slow queries "
                 "cannot be listed.",
                 f"Install PostgreSQL's contrib modules on the server (Debian/Ubuntu: the postgresql package of "
                 f"version 10 and later includes them; older ones: postgresql-contrib), then enable {PGSS}.",
                 *_enable_steps(preloaded, False, libraries))
        return sec
    if schema is None or not preloaded:
        where = ("is not loaded by the server (shared_preload_libraries = "
                 f"'{libraries}')" if not preloaded else "is loaded by the server")
        created = "is not created in this database" if schema is None else f"is created in schema {schema}"
        sec.warn(f"{PGSS} {created} and {where}, so slow queries cannot be listed.",
                 *_enable_steps(preloaded, schema is not None, libraries))
        return sec
    cols = {r["attname"] for r in rows(conn, """select a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relname = %s and a.attnum > 0""",
        (schema, PGSS))}
    total, mean = ("total_exec_time", "mean_exec_time") if "total_exec_time" in cols else ("total_time", "mean_time")
    ident = sql.Identifier(schema).as_string(conn)
    base = f"""select s.queryid::text as queryid, s.calls, s.{total} as total_ms, s.{mean} as mean_ms, s.rows,
                      round((100 * s.{total} / nullif(sum(s.{total}) over (), 0))::numeric, 1)::float as share_pct,
                      s.query
               from {ident}.{PGSS} s
               where s.dbid = (select oid from pg_database where datname = current_database())
                 and s.query not like %s
               order by {{order}} desc limit %s"""
    like = MARK.strip().replace("%", r"\%").replace("_", r"\_") + "%"
    lists = {}
    for name, order in (("by_total_time", f"s.{total}"), ("by_mean_time", f"s.{mean}")):
        found = rows(conn, base.format(order=order), (like, th.top))
        for r in found:
            r["query"] = shorten(str(r["query"]))
            r["total_ms"], r["mean_ms"] = round(float(r["total_ms"]), 1), round(float(r["mean_ms"]), 1)
        lists[name] = found
    sec.lists = lists
    cols_shown = ["total_ms", "mean_ms", "calls", "rows", "share_pct", "query"]
    sec.columns = {"by_total_time": cols_shown, "by_mean_time": cols_shown}
    slow = [r for r in lists["by_mean_time"] if r["mean_ms"] >= th.slow_mean_ms and r["calls"] >= th.slow_min_calls]
    sec.info["slow"] = len(slow)
    if slow:
        worst = slow[0]
        sec.warn(f"{len(slow)} statement(s) take {th.slow_mean_ms:g} ms or more on average over at least "
                 f"{th.slow_min_calls} calls; the slowest averages {worst['mean_ms']:g} ms: {shorten(worst['query'], 80)}",
                 "Run EXPLAIN (ANALYZE, BUFFERS) on each slow statement with typical values: a sequential scan "
                 "over a large table asks for an index on the columns of its WHERE or JOIN; many rows returned "
                 "ask for a LIMIT or pagination.",
                 f"Reset the statistics after a fix to measure again: SELECT {ident}.pg_stat_statements_reset();")
    else:
        sec.summary = (f"No statement averages {th.slow_mean_ms:g} ms or more over {th.slow_min_calls}+ calls "
                       f"({len(lists['by_total_time'])} statement(s) listed by total time).")
    return sec


def cache_hit(conn: Conn, th: Thresholds) -> Section:
    """Share of table and index block reads served from shared_buffers."""
    sec = Section("cache_hit", "")
    r = one(conn, """select (select coalesce(sum(heap_blks_hit), 0) from pg_statio_user_tables)::bigint as table_hit,
                            (select coalesce(sum(heap_blks_read), 0) from pg_statio_user_tables)::bigint as table_read,
                            (select coalesce(sum(idx_blks_hit), 0) from pg_statio_user_indexes)::bigint as index_hit,
                            (select coalesce(sum(idx_blks_read), 0) from pg_statio_user_indexes)::bigint as index_read,
                            current_setting('shared_buffers') as shared_buffers""")
    low = []
    for kind in ("table", "index"):
        hit, read = int(r[f"{kind}_hit"]), int(r[f"{kind}_read"])
        ratio = hit / (hit + read) if hit + read else None
        sec.info[f"{kind}_hit_ratio"] = None if ratio is None else round(ratio, 4)
        sec.info[f"{kind}_blocks_hit"], sec.info[f"{kind}_blocks_read"] = hit, read
        if ratio is not None and ratio < th.cache_hit_ratio and hit + read >= th.cache_min_blocks:
            low.append(f"{'tables' if kind == 'table' else 'indexes'} {ratio:.1%}")
    sec.info["shared_buffers"] = r["shared_buffers"]
    shown = ", ".join(f"{k} {_pct(sec.info[f'{k[:5]}_hit_ratio'])}" for k in ("tables", "indexes"))
    if low:
        sec.warn(f"Cache hit ratio below {th.cache_hit_ratio:.0%}: {', '.join(low)} of block reads were served "
                 f"from memory.",
                 f"The data read often does not fit in shared_buffers ({r['shared_buffers']}): give the server "
                 "more memory (a larger compute size on Supabase) and raise shared_buffers, or make queries read "
                 "less (the missing-index candidates and slow queries above).")
    else:
        enough = any(sec.info[f"{k}_blocks_hit"] + sec.info[f"{k}_blocks_read"] >= th.cache_min_blocks
                     for k in ("table", "index"))
        sec.summary = f"Served from memory: {shown}." + (
            "" if enough else f" (Fewer than {th.cache_min_blocks} blocks read so far: too little activity to judge.)")
    return sec


def _pct(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.1%}"


_ACTIVITY = """select a.pid, a.usename as "user", a.application_name as application, a.state,
                      a.wait_event_type, a.wait_event,
                      round(extract(epoch from now() - {since})::numeric, 1)::float as seconds, a.query
               from pg_stat_activity a"""


def long_running(conn: Conn, th: Thresholds) -> Section:
    """Queries running, and transactions left open while idle, for longer than the threshold."""
    sec = Section("long_running", "")
    found = rows(conn, _ACTIVITY.format(since="case when a.state = 'active' then a.query_start else a.state_change end")
                 + """ where a.pid <> pg_backend_pid() and a.backend_type = 'client backend'
                         and a.state in ('active', 'idle in transaction', 'idle in transaction (aborted)')
                         and case when a.state = 'active' then a.query_start else a.state_change end
                             < now() - make_interval(secs => %s)
                       order by seconds desc limit %s""", (th.long_running_s, th.top))
    for r in found:
        r["query"] = shorten(str(r["query"] or ""))
    sec.lists = {"queries": found}
    sec.columns = {"queries": ["pid", "seconds", "state", "user", "application", "query"]}
    if found:
        idle = [r for r in found if r["state"] != "active"]
        sec.warn(f"{len(found)} session(s) busy or holding a transaction open for more than {th.long_running_s:g} s "
                 f"(longest {found[0]['seconds']:g} s, pid {found[0]['pid']})"
                 + (f"; {len(idle)} of them idle inside a transaction." if idle else "."),
                 "Cancel a runaway query with SELECT pg_cancel_backend(<pid>); (pg_terminate_backend ends the "
                 "session). Guard against them with statement_timeout for the application's role.",
                 *(["A transaction left open while idle holds its locks and keeps VACUUM from cleaning up: fix "
                    "the code path that forgets to commit, and set idle_in_transaction_session_timeout."]
                   if idle else []))
    else:
        sec.summary = f"Nothing has run for more than {th.long_running_s:g} s."
    return sec


def blocked(conn: Conn, th: Thresholds) -> Section:
    """Sessions waiting for a lock, and the sessions holding it (pg_blocking_pids)."""
    sec = Section("blocked", "")
    found = rows(conn, _ACTIVITY.format(since="a.query_start")
                 + """, lateral (select pg_blocking_pids(a.pid) as blocked_by) b
                      where cardinality(b.blocked_by) > 0 order by seconds desc limit %s""", (th.top,))
    holders: dict[int, dict[str, Any]] = {}
    pids = sorted({p for r in found for p in _blocking(conn, r["pid"])})
    if pids:
        for h in rows(conn, _ACTIVITY.format(since="coalesce(a.xact_start, a.query_start)")
                      + " where a.pid = any(%s)", (pids,)):
            holders[h["pid"]] = h
    for r in found:
        by = _blocking(conn, r["pid"])
        r["blocked_by"] = by
        r["query"] = shorten(str(r["query"] or ""))
        first = holders.get(by[0]) if by else None
        r["blocker_state"] = first["state"] if first else None
        r["blocker_query"] = shorten(str(first["query"] or "")) if first else None
    sec.lists = {"queries": found}
    sec.columns = {"queries": ["pid", "seconds", "query", "blocked_by", "blocker_state", "blocker_query"]}
    if found:
        sec.warn(f"{len(found)} session(s) wait for a lock held by another session (longest {found[0]['seconds']:g} s, "
                 f"pid {found[0]['pid']} blocked by {', '.join(map(str, found[0]['blocked_by']))}).",
                 "Look at what the blocking sessions do: a long transaction or one left idle holds its locks until "
                 "it ends; end it with SELECT pg_terminate_backend(<pid>); if it is stuck.",
                 "Keep transactions short, run schema changes with a lock_timeout, and build indexes with "
                 "CREATE INDEX CONCURRENTLY.")
    else:
        sec.summary = "No session waits for a lock."
    return sec


def _blocking(conn: Conn, pid: int) -> list[int]:
    found = one(conn, "select pg_blocking_pids(%s) as pids", (pid,))
    return [int(p) for p in found.get("pids") or []]


def connections(conn: Conn, th: Thresholds) -> Section:
    """Client connections against max_connections, by state and by user/application."""
    sec = Section("connections", "")
    r = one(conn, """select count(*)::int as total,
                            count(*) filter (where state = 'active')::int as active,
                            count(*) filter (where state = 'idle')::int as idle,
                            count(*) filter (where state in ('idle in transaction', 'idle in transaction (aborted)'))::int as idle_in_transaction,
                            current_setting('max_connections')::int as max_connections,
                            current_setting('superuser_reserved_connections')::int as reserved
                     from pg_stat_activity where backend_type = 'client backend'""")
    by = rows(conn, """select usename as "user", application_name as application, count(*)::int as connections,
                              count(*) filter (where state = 'idle')::int as idle
                       from pg_stat_activity where backend_type = 'client backend'
                       group by 1, 2 order by 3 desc limit %s""", (th.top,))
    total, limit, idle = int(r["total"]), int(r["max_connections"]), int(r["idle"])
    usage = total / limit if limit else 0.0
    sec.info = {**r, "usage_ratio": round(usage, 3)}
    sec.lists = {"by_user": by}
    sec.columns = {"by_user": ["user", "application", "connections", "idle"]}
    head = (f"{total} of max_connections {limit} in use ({usage:.0%}): {r['active']} active, {idle} idle, "
            f"{r['idle_in_transaction']} idle in a transaction.")
    if usage >= th.connections_ratio:
        sec.warn(f"{head} Above {th.connections_ratio:.0%}: new connections will soon be refused "
                 "(FATAL: sorry, too many clients already).", POOLER_ADVICE)
    elif idle >= th.idle_ratio * limit:
        sec.warn(f"{head} Idle connections hold {idle / limit:.0%} of the connection slots.", POOLER_ADVICE,
                 "Lower the idle timeout of the application's connection pool so unused connections close.")
    else:
        sec.summary = head
    return sec
