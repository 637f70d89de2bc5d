"""`moai-adk db lint`: each rule on PostgreSQL's parse tree, exemptions, lines, parse errors, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from moai_adk.cli.main import cli
from moai_adk.db.lint import DESTRUCTIVE, RULES, lint_files, lint_text
from moai_adk.errors import MigrationError


def rules(sql: str) -> list[str]:
    return [f.rule for f in lint_text(sql, "m.sql")[0]]


@pytest.mark.parametrize(("sql", "expected"), [
    ("DROP TABLE users;", ["drop-table"]),
    ("DROP SCHEMA old CASCADE;", ["drop-schema"]),
    ("SET lock_timeout = '5s'; ALTER TABLE t DROP COLUMN c;", ["drop-column"]),
    ("TRUNCATE t;", ["truncate"]),
    ("DELETE FROM t;", ["delete-without-where"]),
    ("UPDATE t SET a = 1;", ["update-without-where"]),
    ("SET lock_timeout = '5s'; ALTER TABLE t ALTER COLUMN a TYPE bigint;", ["alter-column-type"]),
    ("CREATE INDEX i ON t (a);", ["index-not-concurrently"]),
    ("CREATE UNIQUE INDEX ON s.t (a);", ["index-not-concurrently"]),
    ("SET lock_timeout = '5s'; ALTER TABLE t ADD COLUMN c int NOT NULL;", ["add-column-not-null-without-default"]),
    ("SET lock_timeout = '5s'; ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES y (id);",
     ["constraint-not-valid"]),
    ("SET lock_timeout = '5s'; ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);", ["constraint-not-valid"]),
    ("ALTER TABLE t ADD COLUMN c int;", ["require-lock-timeout"]),
    ("ALTER TABLE t RENAME COLUMN a TO b;", ["rename-column"]),
    ("ALTER TABLE t RENAME TO u;", ["rename-table"]),
])
def test_each_rule_fires(sql: str, expected: list[str]) -> None:
    assert rules(sql) == expected


@pytest.mark.parametrize("sql", [
    "DELETE FROM t WHERE id = 1;",
    "UPDATE t SET a = 1 WHERE id = 2;",
    "CREATE INDEX CONCURRENTLY i ON t (a);",
    "CREATE TABLE t (id int); CREATE INDEX i ON t (id); ALTER TABLE t ADD COLUMN c int NOT NULL;",
    "SET lock_timeout = '5s'; ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;",
    "SET lock_timeout = '5s'; ALTER TABLE t ADD COLUMN id bigint NOT NULL GENERATED ALWAYS AS IDENTITY;",
    "SET lock_timeout = '5s'; ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES y (id) NOT VALID;",
    "SET lock_timeout = '5s'; ALTER TABLE t VALIDATE CONSTRAINT f;",
    "SET lock_timeout = '5s'; ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i;",
    "DROP INDEX CONCURRENTLY i; DROP VIEW v; DROP FUNCTION f();",
    "CREATE TABLE s.t (id int PRIMARY KEY); ALTER TABLE s.t ADD CONSTRAINT c CHECK (id > 0);",
    "SELECT 1; INSERT INTO t VALUES (1);",
])
def test_safe_statements_pass(sql: str) -> None:
    assert rules(sql) == []


def test_lock_timeout_reset_counts_again() -> None:
    assert rules("SET lock_timeout = '5s'; RESET lock_timeout; ALTER TABLE t ADD COLUMN c int;") == \
        ["require-lock-timeout"]


def test_every_rule_has_a_test_and_destructive_ones_are_marked() -> None:
    assert {r for r in RULES if RULES[r].kind == DESTRUCTIVE} == {
        "drop-table", "drop-schema", "drop-column", "truncate", "delete-without-where", "update-without-where",
        "alter-column-type"}
    for rule in RULES.values():
        assert rule.problem and rule.safer


def test_findings_name_the_line_of_the_statement_not_of_its_comments() -> None:
    sql = "-- café: accents before\nCREATE TABLE a (id int);\n\n/* a note\n   on two lines */\nDROP TABLE b;\n"
    [finding] = lint_text(sql, "x.sql")[0]
    assert (finding.file, finding.line, finding.statement) == ("x.sql", 6, "DROP TABLE b")
    assert "Safer:" in finding.render() and "x.sql:6: drop-table (destructive)" in finding.render()


def test_a_comment_exempts_the_statement_it_precedes_or_sits_in() -> None:
    sql = ("-- moai-lint: ignore drop-table\nDROP TABLE a;\n"
           "DROP TABLE b; -- moai-lint: ignore\n"  # after b on its line: exempts b, not what follows
           "TRUNCATE c;\n"
           "DELETE FROM d /* moai-lint: ignore delete-without-where, truncate */;\n"
           "-- moai-lint: ignore truncate\nDROP TABLE e;\n")
    findings, count, ignored = lint_text(sql, "m.sql")
    assert [(f.rule, f.line) for f in findings] == [("truncate", 4), ("drop-table", 7)]
    assert count == 5 and ignored == 3


def test_a_file_that_does_not_parse_names_file_line_and_the_parser_message(tmp_path: Path) -> None:
    bad = tmp_path / "20240101000000_bad.sql"
    bad.write_text("-- déjà vu, 日本\nCREATE TABLE a (id int);\nSELEC 2;\n")
    with pytest.raises(MigrationError) as info:
        lint_files([bad], display_root=tmp_path)
    assert "20240101000000_bad.sql:3" in info.value.message and 'syntax error at or near "SELEC"' in info.value.message


def _project(tmp_path: Path, migrations: dict[str, str]) -> Path:
    (tmp_path / "moai.toml").write_text('[project]\nname = "lint"\n')
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for name, sql in migrations.items():
        (folder / name).write_text(sql)
    return tmp_path


def test_cli_lints_the_migrations_folder_and_exits_1_on_findings(tmp_path: Path) -> None:
    root = _project(tmp_path, {"20240101000000_a.sql": "CREATE TABLE t (id int);\n",
                               "20240102000000_b.sql": "ALTER TABLE t DROP COLUMN id;\n"})
    runner = CliRunner()
    result = runner.invoke(cli, ["-C", str(root), "db", "lint", "--json"], obj=None)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["files"] == 2 and [(f["file"], f["line"], f["rule"]) for f in data["findings"]] == [
        ("supabase/migrations/20240102000000_b.sql", 1, "drop-column"),
        ("supabase/migrations/20240102000000_b.sql", 1, "require-lock-timeout")]
    ok = runner.invoke(cli, ["-C", str(root), "db", "lint", "supabase/migrations/20240101000000_a.sql"])
    assert ok.exit_code == 0 and "1 file(s), 1 statement(s): 0 finding(s)." in ok.stdout


def test_cli_refuses_a_missing_path(tmp_path: Path) -> None:
    root = _project(tmp_path, {})
    result = CliRunner().invoke(cli, ["-C", str(root), "db", "lint", "nope.sql"])
    assert isinstance(result.exception, MigrationError) and "nope.sql does not exist" in result.exception.message
