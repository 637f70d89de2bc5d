"""`db push` against a real PostgreSQL database (a fresh one per test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from moai_adk.db.connect import Target
from moai_adk.db.plan import OutOfOrderError, RemoteAheadError
from moai_adk.db.push import list_migrations, push
from moai_adk.db.report import MigrationFailed
from moai_adk.errors import MigrationError

Write = Callable[[str, str], Path]
Fingerprint = Callable[[], dict[str, object]]


def history(db: psycopg.Connection) -> list[tuple[str, str, list[str]]]:
    return db.execute("select version, name, statements from supabase_migrations.schema_migrations "
                      "order by version").fetchall()


def tables(db: psycopg.Connection, schema: str = "public") -> list[str]:
    rows = db.execute("select tablename from pg_tables where schemaname = %s order by 1", (schema,)).fetchall()
    return [r[0] for r in rows]


def test_applies_pending_files_in_order_and_records_history(project: Path, write: Write, target: Target,
                                                            db: psycopg.Connection) -> None:
    write("20240101000000_users.sql", "-- users\ncreate table users (id int primary key, note text default 'a;b');\n"
                                      "insert into users values (1);\n")
    write("20240102000000_posts.sql", "create table posts (id int references users);")
    result = push(project, target)
    assert [f.version for f in result.applied] == ["20240101000000", "20240102000000"]
    assert tables(db) == ["posts", "users"]
    assert history(db) == [
        ("20240101000000", "users", ["-- users\ncreate table users (id int primary key, note text default 'a;b')",
                                     "insert into users values (1)"]),
        ("20240102000000", "posts", ["create table posts (id int references users)"]),
    ]
    again = push(project, target)
    assert again.pending == [] and again.applied == []


def test_history_table_has_the_supabase_cli_shape(project: Path, write: Write, target: Target,
                                                  db: psycopg.Connection) -> None:
    write("1_a.sql", "select 1;")
    push(project, target)
    cols = db.execute("""select column_name, data_type, is_nullable from information_schema.columns
                         where table_schema = 'supabase_migrations' and table_name = 'schema_migrations'
                         order by ordinal_position""").fetchall()
    assert cols == [("version", "text", "NO"), ("statements", "ARRAY", "YES"), ("name", "text", "YES")]
    pk = db.execute("""select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid
                       and a.attnum = any(i.indkey) where i.indrelid = 'supabase_migrations.schema_migrations'::regclass
                       and i.indisprimary""").fetchall()
    assert pk == [("version",)]
    assert db.execute("show lock_timeout").fetchone() == ("0",)  # our session settings did not leak (sanity)


def test_continues_a_history_started_by_an_older_supabase_cli(project: Path, write: Write, target: Target,
                                                              db: psycopg.Connection) -> None:
    db.execute("create schema supabase_migrations; create table supabase_migrations.schema_migrations "
               "(version text not null primary key); insert into supabase_migrations.schema_migrations values "
               "('20240101000000'); create table done_before (id int);")
    write("20240101000000_first.sql", "create table done_before (id int);")
    write("20240102000000_second.sql", "create table second (id int);")
    result = push(project, target)
    assert [f.version for f in result.applied] == ["20240102000000"]
    assert history(db) == [("20240101000000", None, None), ("20240102000000", "second",
                                                            ["create table second (id int)"])]


def test_syntax_error_in_third_statement_reports_file_statement_line_caret_and_changes_nothing(
        project: Path, write: Write, target: Target, fingerprint: Fingerprint) -> None:
    write("20240101000000_base.sql", "create table base (id int);")
    push(project, target)
    before = fingerprint()
    write("20240102000000_broken.sql",
          "create table a (id int);\ninsert into a values (1);\n\n-- the third one\n"
          "create index a_idx on a (id);  alter tabel a add column x int;\n")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    e = err.value
    assert e.path == "supabase/migrations/20240102000000_broken.sql"
    assert (e.statement, e.line) == (4, 5)
    write("20240102000000_broken.sql",
          "create table a (id int);\ninsert into a values (1);\n-- the third one\n  alter tabel a add column x int;\n"
          "create table z (id int);\n")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    e = err.value
    assert (e.statement, e.line, e.column, e.sqlstate) == (3, 4, 9, "42601")
    assert "supabase/migrations/20240102000000_broken.sql" in e.message
    assert "statement 3 (line 4, column 9)" in e.message
    assert "    4 |   alter tabel a add column x int;\n      |         ^" in e.message
    assert "rolled back" in e.message
    assert "Fix statement 3 in supabase/migrations/20240102000000_broken.sql" in (e.hint or "")
    assert fingerprint() == before


def test_runtime_error_maps_server_position_to_file_line(project: Path, write: Write, target: Target,
                                                         fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000000_x.sql", "create table t (id int);\n\ninsert into t\n  values (1), (nope);\n")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert (err.value.statement, err.value.line, err.value.column) == (2, 4, 16)
    assert err.value.sqlstate == "42703"
    assert fingerprint() == before


def test_error_without_server_position_is_located_by_replay(project: Path, write: Write, target: Target,
                                                            fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000000_dup.sql", "create table t (id int);\ncreate table u (id int);\n  create table t (id int);")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert (err.value.statement, err.value.line, err.value.column) == (3, 3, 3)
    assert "already exists" in err.value.message and "no error position" in err.value.message
    assert fingerprint() == before


def test_error_raised_inside_a_do_block(project: Path, write: Write, target: Target, fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000000_do.sql", "create table t (id int);\n"
                                   "do $$ begin\n  if true then raise exception 'boom; %', 1; end if;\nend $$;\n")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert err.value.statement == 2 and err.value.sqlstate == "P0001"
    assert (err.value.line, err.value.column) == (3, 3)   # from the PL/pgSQL context "line 2" of the body
    assert "no error position" not in err.value.message
    assert "boom; 1" in err.value.message
    assert fingerprint() == before


def test_deferred_constraint_failing_at_commit(project: Path, write: Write, target: Target,
                                               fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000000_fk.sql",
          "create table p (id int primary key);\n"
          "create table c (pid int references p deferrable initially deferred);\n"
          "insert into c values (42);\n")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert "committed" in err.value.message and err.value.sqlstate == "23503"
    assert fingerprint() == before


def test_a_failing_file_in_a_round_trip_keeps_the_files_before_it(project: Path, write: Write, target: Target,
                                                                  db: psycopg.Connection) -> None:
    for i in range(1, 7):
        body = f"create table t{i} (id int);"
        if i == 4:
            body = "create table t4 (id int);\ninsert into t4 values ('x');"
        write(f"2024010100000{i}_m{i}.sql", body)
    with pytest.raises(MigrationFailed) as err:
        push(project, target, chunk_files=3)
    assert err.value.path.endswith("20240101000004_m4.sql") and err.value.statement == 2
    assert tables(db) == ["t1", "t2", "t3"]
    assert [r[0] for r in history(db)] == ["20240101000001", "20240101000002", "20240101000003"]
    assert "3 earlier migration files of this run were applied" in err.value.message


def test_a_syntax_error_in_a_round_trip_still_applies_the_files_before_it(project: Path, write: Write,
                                                                          target: Target, db: psycopg.Connection) -> None:
    write("20240101000001_a.sql", "create table a (id int);")
    write("20240101000002_b.sql", "create table b (id int);")
    write("20240101000003_c.sql", "create tabl c (id int);")
    write("20240101000004_d.sql", "create table d (id int);")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert err.value.path.endswith("_c.sql") and err.value.statement == 1
    assert tables(db) == ["a", "b"]


def test_session_settings_are_reset_between_files(project: Path, write: Write, target: Target,
                                                  db: psycopg.Connection) -> None:
    write("20240101000001_a.sql", "create schema other;\nset search_path = other;\ncreate table in_other (id int);")
    write("20240101000002_b.sql", "create table in_public (id int);")
    push(project, target)
    assert tables(db, "other") == ["in_other"]
    assert tables(db) == ["in_public"]


def test_begin_commit_wrapper_runs_as_one_transaction(project: Path, write: Write, target: Target,
                                                      db: psycopg.Connection, fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000001_w.sql", "BEGIN;\ncreate table w (id int);\ninsert into w values ('bad');\nCOMMIT;\n")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert (err.value.statement, err.value.line) == (3, 3)
    assert fingerprint() == before
    write("20240101000001_w.sql", "BEGIN;\ncreate table w (id int);\ninsert into w values (1);\nCOMMIT;\n")
    push(project, target)
    assert tables(db) == ["w"]
    assert history(db)[0][2] == ["BEGIN", "create table w (id int)", "insert into w values (1)", "COMMIT"]


def test_copy_from_stdin_loads_data(project: Path, write: Write, target: Target, db: psycopg.Connection) -> None:
    write("20240101000001_copy.sql",
          "create table c (id int, label text);\ncopy c (id, label) from stdin;\n1\ta;b\n2\t\\N\n\\.\n"
          "insert into c values (3, 'after');\n")
    push(project, target)
    assert db.execute("select id, label from c order by id").fetchall() == [(1, "a;b"), (2, None), (3, "after")]
    assert history(db)[0][2][1] == "copy c (id, label) from stdin"


def test_bad_copy_row_points_at_the_data_line(project: Path, write: Write, target: Target,
                                              fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000001_copy.sql",
          "create table c (id int);\ncopy c from stdin;\n1\n2\nthree\n\\.\n")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert (err.value.statement, err.value.line) == (2, 5)
    assert fingerprint() == before


def test_file_of_concurrent_index_builds_runs_outside_a_transaction(project: Path, write: Write, target: Target,
                                                                    db: psycopg.Connection) -> None:
    write("20240101000001_t.sql", "create table t (a int, b int);")
    write("20240101000002_idx.sql", "create index concurrently t_a on t (a);\ncreate index concurrently t_b on t (b);")
    write("20240101000003_after.sql", "create table after (id int);")
    push(project, target)
    valid = db.execute("select c.relname, i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid "
                       "where c.relname like 't\\_%' order by 1").fetchall()
    assert valid == [("t_a", True), ("t_b", True)]
    assert [r[0] for r in history(db)] == ["20240101000001", "20240101000002", "20240101000003"]


def test_failing_non_transactional_file_reports_what_stayed_applied(project: Path, write: Write, target: Target,
                                                                    db: psycopg.Connection) -> None:
    write("20240101000001_t.sql", "create table t (a int);")
    write("20240101000002_idx.sql", "create index concurrently t_a on t (a);\ncreate index concurrently t_x on t (nope);")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert err.value.statement == 2
    assert "Statements 1-1 of this file ran and stay applied" in err.value.message
    assert [r[0] for r in history(db)] == ["20240101000001"]


def test_mixed_file_is_refused_before_anything_runs(project: Path, write: Write, target: Target,
                                                    fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000001_ok.sql", "create table ok (id int);")
    write("20240101000002_mixed.sql", "create table t (a int);\ncreate index concurrently t_a on t (a);")
    with pytest.raises(MigrationError) as err:
        push(project, target)
    assert "20240101000002_mixed.sql:2" in err.value.message
    assert fingerprint() == before


def test_remote_version_missing_locally(project: Path, write: Write, target: Target, db: psycopg.Connection,
                                        fingerprint: Fingerprint) -> None:
    write("20240101000001_a.sql", "create table a (id int);")
    write("20240101000003_c.sql", "create table c (id int);")
    push(project, target)
    db.execute("insert into supabase_migrations.schema_migrations (version, name) values ('20240101000002', 'gone')")
    write("20240101000004_d.sql", "create table d (id int);")
    before = fingerprint()
    with pytest.raises(RemoteAheadError) as err:
        push(project, target)
    assert "remote has versions missing locally" in err.value.message and "20240101000002" in err.value.message
    assert f"moai-adk db migration repair --status reverted 20240101000002 {target.flag}" in (err.value.hint or "")
    assert fingerprint() == before


def test_out_of_order_local_file_needs_include_all(project: Path, write: Write, target: Target,
                                                   db: psycopg.Connection) -> None:
    write("20240101000001_a.sql", "create table a (id int);")
    write("20240101000003_c.sql", "create table c (id int);")
    push(project, target)
    write("20240101000002_b.sql", "create table b (id int);")
    with pytest.raises(OutOfOrderError) as err:
        push(project, target)
    assert "local file out of order" in err.value.message and "20240101000002_b.sql" in err.value.message
    assert "--include-all" in (err.value.hint or "")
    assert tables(db) == ["a", "c"]
    result = push(project, target, include_all=True)
    assert [f.version for f in result.applied] == ["20240101000002"]
    assert tables(db) == ["a", "b", "c"]


def test_bad_file_name_stops_push(project: Path, write: Write, target: Target, fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000001_a.sql", "create table a (id int);")
    write("add_b.sql", "create table b (id int);")
    with pytest.raises(MigrationError) as err:
        push(project, target)
    assert "supabase/migrations/add_b.sql" in err.value.message
    assert fingerprint() == before


def test_dry_run_changes_nothing(project: Path, write: Write, target: Target, fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000001_a.sql", "create table a (id int);")
    result = push(project, target, dry_run=True)
    assert [f.version for f in result.pending] == ["20240101000001"] and result.applied == []
    assert fingerprint() == before


def test_list_shows_local_and_remote(project: Path, write: Write, target: Target, db: psycopg.Connection) -> None:
    write("20240101000001_a.sql", "create table a (id int);")
    assert [(r.version, r.local, r.remote) for r in list_migrations(project, target).rows] == [
        ("20240101000001", True, False)]
    push(project, target)
    write("20240101000002_b.sql", "select 1;")
    write("nope.sql", "select 1;")
    db.execute("insert into supabase_migrations.schema_migrations (version) values ('20230101000000')")
    result = list_migrations(project, target)
    assert [(r.version, r.local, r.remote) for r in result.rows] == [
        ("20230101000000", False, True), ("20240101000001", True, True), ("20240101000002", True, False)]
    assert len(result.warnings) == 1 and "nope.sql" in result.warnings[0]


def test_empty_and_comment_only_files_are_recorded(project: Path, write: Write, target: Target,
                                                   db: psycopg.Connection) -> None:
    write("20240101000001_empty.sql", "")
    write("20240101000002_note.sql", "-- nothing to do yet\n")
    write("20240101000003_semicolons.sql", " ;\n;\n")
    push(project, target)
    assert history(db) == [("20240101000001", "empty", None), ("20240101000002", "note", ["-- nothing to do yet"]),
                           ("20240101000003", "semicolons", None)]


def test_empty_file_row_is_the_one_the_supabase_cli_writes(project: Path, write: Write, target: Target,
                                                           db: psycopg.Connection) -> None:
    """The CLI binds the nil statement list of an empty file, which its driver sends as NULL (not '{}')."""
    write("20240101000001_empty.sql", "\n")
    push(project, target)
    db.execute("insert into supabase_migrations.schema_migrations(version, name, statements) values(%s, %s, %s)",
               ("20240101000002", "empty", None))
    rows = db.execute("select name, statements is null, statements is not distinct from '{}'::text[] "
                      "from supabase_migrations.schema_migrations order by version").fetchall()
    assert rows[0] == rows[1] == ("empty", True, False)


def test_crlf_and_bom_files(project: Path, write: Write, target: Target, db: psycopg.Connection) -> None:
    write("20240101000001_win.sql", "\ufeffcreate table w (id int);\r\ninsert into w\r\n  values (1), (x);\r\n")
    with pytest.raises(MigrationFailed) as err:
        push(project, target)
    assert (err.value.statement, err.value.line, err.value.column) == (2, 3, 16)
    assert "    3 |   values (1), (x);\n      |                ^" in err.value.message
    write("20240101000001_win.sql", "\ufeffcreate table w (id int);\r\ninsert into w\r\n  values (1);\r\n")
    push(project, target)
    assert db.execute("select count(*) from w").fetchone() == (1,)


def test_only_the_last_commit_of_a_round_trip_is_synchronous(project: Path, write: Write, target: Target,
                                                            db: psycopg.Connection) -> None:
    write("20240101000000_log.sql", "create table sc (v text, n int);")
    for i in range(1, 6):
        write(f"2024010100000{i}_m{i}.sql", f"insert into sc values (current_setting('synchronous_commit'), {i});")
    push(project, target, chunk_files=3)
    # round trips: [log, m1, m2] [m3, m4, m5]: the last file of each commits synchronously
    assert db.execute("select n, v from sc order by n").fetchall() == [
        (1, "off"), (2, "on"), (3, "off"), (4, "off"), (5, "on")]
    push(project, target, async_commit=False)
    write("20240101000006_m6.sql", "insert into sc values (current_setting('synchronous_commit'), 6);")
    write("20240101000007_m7.sql", "insert into sc values (current_setting('synchronous_commit'), 7);")
    push(project, target, async_commit=False)
    assert db.execute("select v from sc where n >= 6 order by n").fetchall() == [("on",), ("on",)]


def test_a_pg_dump_plain_file_is_a_valid_migration(project: Path, write: Write, target: Target,
                                                   db: psycopg.Connection, admin: psycopg.Connection) -> None:
    """Real-world input: pg_dump output (\\restrict lines, COPY blocks, functions, SET statements)."""
    import subprocess
    import uuid

    from moai_adk.db.backup import find_tool
    from tests.db.conftest import url_for

    source = f"moai_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{source}"')
    try:
        with psycopg.connect(url_for(source), autocommit=True) as src:
            src.execute("create type mood as enum ('ok', 'meh');"
                        "create table items (id int primary key, label text, m mood);"
                        "insert into items values (1, E'tab\\there; semi', 'ok'), (2, null, 'meh'), (3, '\\.', null);"
                        "create function total() returns bigint language sql begin atomic select count(*) from items; end;"
                        "create view v as select id from items where label is not null;")
        pg_dump = find_tool("pg_dump", db.info.server_version // 10000, {"PATH": "/usr/bin:/usr/local/bin"})
        dump = subprocess.run([pg_dump, "--no-owner", "--dbname", url_for(source)], capture_output=True, text=True,
                              check=True).stdout
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{source}" WITH (FORCE)')
    write("20240101000000_dump.sql", dump)
    push(project, target)
    assert db.execute("select id, label, m::text from items order by id").fetchall() == [
        (1, "tab\there; semi", "ok"), (2, None, "meh"), (3, "\\.", None)]
    assert db.execute("select public.total()").fetchone() == (3,)


def test_dry_run_checks_every_pending_file(project: Path, write: Write, target: Target,
                                           fingerprint: Fingerprint) -> None:
    before = fingerprint()
    write("20240101000001_a.sql", "create table a (id int);")
    write("20240101000002_idx.sql", "create index concurrently a_id on a (id);")
    write("20240101000003_c.sql", "create table c (id int);\ncopy c from stdin;\n1\n\\.\n")
    result = push(project, target, dry_run=True)
    assert result.modes == {"20240101000001": "batch", "20240101000002": "autocommit", "20240101000003": "steps"}
    write("20240101000004_bad.sql", "select 'unterminated;")
    with pytest.raises(MigrationError) as err:
        push(project, target, dry_run=True)
    assert "20240101000004_bad.sql:1:8" in err.value.message
    assert fingerprint() == before


def test_a_set_role_does_not_leak_into_the_next_file(project: Path, write: Write, target: Target,
                                                     db: psycopg.Connection, admin: psycopg.Connection) -> None:
    import uuid
    role = f"moai_test_role_{uuid.uuid4().hex[:8]}"
    write("20240101000001_role.sql",
          f"create role {role};\ngrant usage on schema supabase_migrations to {role};\n"
          f"grant insert on supabase_migrations.schema_migrations to {role};\nset role {role};\n")
    write("20240101000002_t.sql", "create table whose (id int);")
    try:
        push(project, target)
        owner = db.execute("select tableowner from pg_tables where tablename = 'whose'").fetchone()
        assert owner == (psycopg.conninfo.conninfo_to_dict(target.url).get("user", "postgres"),)
    finally:
        db.execute(f"drop owned by {role} cascade")
        admin.execute(f"drop role if exists {role}")


def test_transaction_pooler_url_is_pushed_through_the_session_port(project: Path, write: Write, db_url: str,
                                                                   db: psycopg.Connection) -> None:
    """Port 6543 of Supavisor cannot hold the advisory lock: push connects to 5432 and says so."""
    from moai_adk.db.connect import connect
    from moai_adk.db.repair import repair

    pooler = "postgresql://postgres.abcdefghijklmnopqrst:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres"
    seen: list[str] = []

    def connector(t: Target) -> psycopg.Connection:
        seen.append(t.url)
        return connect(Target(url=db_url))   # the session pooler stands in as this test's database

    write("20240101000001_a.sql", "create table a (id int);")
    target = Target(url=pooler, environment="production", env_var="PROD_DB_URL")
    result = push(project, target, connector=connector, backup_first=False)  # pg_dump cannot reach the pooler here
    assert seen == [pooler.replace(":6543/", ":5432/")]
    assert "transaction pooler" in result.warnings[0] and "$PROD_DB_URL" in result.warnings[0]
    assert "transaction pooler" in result.to_json(project)["warnings"][0]  # type: ignore[index]
    assert tables(db) == ["a"]
    fixed = repair(project, target, ["20240101000001"], "applied", connector=connector)
    assert seen[-1] == seen[0] and "transaction pooler" in fixed.to_json()["warnings"][0]  # type: ignore[index]
