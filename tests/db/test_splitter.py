"""The SQL statement splitter: every construct that can hide a ';', offsets and lines."""

from __future__ import annotations

import psycopg
import pytest

from moai_adk.db.splitter import SplitError, split


def texts(sql: str) -> list[str]:
    return [s.text for s in split(sql).statements]


def test_plain_statements_trimmed_like_supabase() -> None:
    assert texts("select 1;\n  select 2 ;\n\nselect 3") == ["select 1", "select 2", "select 3"]


def test_empty_statements_are_dropped() -> None:
    assert texts(";;select 1;;\n;") == ["select 1"]


def test_strings_with_semicolons_and_doubled_quotes() -> None:
    sql = "insert into t values ('a;b', 'it''s; fine');select 2;"
    assert texts(sql) == ["insert into t values ('a;b', 'it''s; fine')", "select 2"]


def test_escape_strings_with_backslash_quotes() -> None:
    sql = r"select E'it\'s; still a string\\';select e'\';' as x;select 3"
    assert texts(sql) == [r"select E'it\'s; still a string\\'", r"select e'\';' as x", "select 3"]


def test_backslash_in_standard_string_is_literal() -> None:
    # with standard_conforming_strings (default) '\' is a one-character string
    assert texts(r"select '\';select 2") == [r"select '\'", "select 2"]


def test_identifier_ending_in_e_is_not_an_escape_string() -> None:
    # `name'...` : the quote after an identifier char "e" of `some` does not open an E'' string
    assert texts(r"select 1 as some'\';select 2") == [r"select 1 as some'\'", "select 2"]


def test_quoted_identifiers_with_semicolons() -> None:
    assert texts('create table "we;ird""name" (id int);select 1') == ['create table "we;ird""name" (id int)', "select 1"]


def test_dollar_quoted_bodies() -> None:
    sql = (
        "create function f() returns int language plpgsql as $$ begin perform 1; return 2; end; $$;\n"
        "do $body$ begin raise notice 'a;b $$ not the end'; end $body$;\n"
        "select $tag$ x; $other$ y; $tag$;\n"
        "select 4"
    )
    out = texts(sql)
    assert len(out) == 4
    assert out[1].startswith("do $body$") and out[1].endswith("end $body$")
    assert out[2] == "select $tag$ x; $other$ y; $tag$"


def test_positional_parameter_is_not_a_dollar_quote() -> None:
    sql = "prepare p as select $1::int;execute p(1);select a$b from t;select 4"
    assert texts(sql) == ["prepare p as select $1::int", "execute p(1)", "select a$b from t", "select 4"]


def test_line_and_nested_block_comments() -> None:
    sql = "-- a; comment\nselect 1; /* outer /* inner; */ still; */ select 2;\n-- trailing; note\n"
    res = split(sql)
    assert [s.text for s in res.statements] == ["-- a; comment\nselect 1", "/* outer /* inner; */ still; */ select 2"]
    assert res.trailing == "-- trailing; note"
    assert res.history_statements()[-1] == "-- trailing; note"


def test_begin_atomic_body_with_case_end() -> None:
    sql = (
        "create function add(a int, b int) returns int language sql\n"
        "begin atomic\n"
        "  select case when a > 0 then a + b else b end;\n"
        "  select 1;\n"
        "end;\n"
        "select 2;"
    )
    out = texts(sql)
    assert len(out) == 2
    assert out[0].endswith("end") and "select 1;" in out[0]
    assert out[1] == "select 2"


def test_parentheses_group_rule_actions() -> None:
    sql = "create rule r as on insert to t do also (insert into a values (1); insert into b values (2));select 1"
    assert len(texts(sql)) == 2


def test_copy_from_stdin_data_block() -> None:
    sql = "create table t (a int, b text);\ncopy t (a, b) from stdin;\n1\tx;y\n2\t'q\n\\.\nselect count(*) from t;\n"
    res = split(sql)
    assert [s.text for s in res.statements] == [
        "create table t (a int, b text)", "copy t (a, b) from stdin", "select count(*) from t"]
    assert res.statements[1].copy_data == "1\tx;y\n2\t'q\n"
    assert res.statements[2].line == 6


def test_copy_without_terminator_is_an_error() -> None:
    with pytest.raises(SplitError) as err:
        split("copy t from stdin;\n1\n2\n", "f.sql")
    assert "f.sql:1" in err.value.message and "\\." in err.value.message


@pytest.mark.parametrize("sql, what", [
    ("select 'abc", "string"),
    ('select "abc', "quoted identifier"),
    ("select 1 /* never /* closed */", "/* comment"),
    ("do $x$ begin end", "$x$"),
])
def test_unterminated_constructs_name_file_and_line(sql: str, what: str) -> None:
    with pytest.raises(SplitError) as err:
        split("select 1;\n" + sql, "supabase/migrations/1_x.sql")
    assert err.value.message.startswith("supabase/migrations/1_x.sql:2:")
    assert what in err.value.message
    assert err.value.hint


def test_offsets_lines_and_columns() -> None:
    sql = "select 1;\n\n  -- note\n  create table x (\n    id int\n  );\n\tselect 3;"
    res = split(sql)
    s2 = res.statements[1]
    assert s2.index == 2 and s2.line == 4 and s2.column == 3
    assert sql[s2.start:s2.end] == s2.text
    assert sql[s2.code_start:].startswith("create table")
    s3 = res.statements[2]
    assert (s3.line, s3.column) == (7, 2)
    assert res.position(sql.index("id int")) == (5, 5)


def test_words_collected_for_classification() -> None:
    res = split("create unique index concurrently if not exists i on t (a);")
    assert res.statements[0].words[:4] == ("CREATE", "UNIQUE", "INDEX", "CONCURRENTLY")


def test_each_split_statement_is_valid_sql_on_the_server(db: psycopg.Connection) -> None:
    """The pieces of a tricky file each run on their own: the split points are real statement ends."""
    sql = (
        "create table \"a;b\" (id int, note text default E'x\\';y');\n"
        "create function f(x int) returns int language plpgsql as $fn$\n"
        "begin\n  if x > 0 then return 1; end if;\n  return 0;\nend;\n$fn$;\n"
        "create function g(a int) returns int language sql begin atomic select case when a > 1 then 2 else 3 end; end;\n"
        "do $$ begin perform f(1); end $$;\n"
        "/* c; /* nested; */ */ insert into \"a;b\" values (1, 'x;''y');\n"
        "select g(5)"
    )
    stmts = split(sql).statements
    assert len(stmts) == 6
    with db.transaction():
        for s in stmts:
            db.execute(s.text.encode())
        assert db.execute('select note from "a;b"').fetchone() == ("x;'y",)


def test_copy_with_a_long_column_list_is_still_recognised() -> None:
    cols = ", ".join(f"c{i}" for i in range(100))
    res = split(f"copy wide ({cols}) from stdin;\n1\n\\.\nselect 1;")
    assert res.statements[0].copy_data == "1\n"
    assert res.statements[1].text == "select 1"


def test_last_word_is_kept_for_long_statements() -> None:
    cols = " ".join(f"c{i}" for i in range(100))
    stmt = split(f"alter table p detach partition {cols} concurrently").statements[0]
    assert len(stmt.words) == 64 and stmt.words[-1] == "CONCURRENTLY"


def test_pg_dump_restrict_lines_are_skipped_and_other_meta_commands_refused() -> None:
    sql = "-- dump\n\\restrict abc123\nset x = 1;\ncreate table t (id int);\n\\unrestrict abc123\n"
    res = split(sql)
    assert [s.text for s in res.statements] == ["set x = 1", "create table t (id int)"]
    assert [sql[a:b] for a, b in res.meta] == ["\\restrict abc123", "\\unrestrict abc123"]
    assert res.trailing is None
    with pytest.raises(SplitError) as err:
        split("select 1;\n\\i other.sql\n", "m.sql")
    assert err.value.message.startswith("m.sql:2:1: `\\i` is a psql meta-command")
