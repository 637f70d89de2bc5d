"""``moai-adk db lint``: migration safety checks on PostgreSQL's own parse tree (pglast).

Each file is parsed whole by libpg_query (the server's parser), and every statement is checked
against the rules below. A finding names the file, the line of the statement, the rule, what can go
wrong and the safer pattern. Two kinds:

* ``destructive``: the statement loses data (a dropped table or column, ``TRUNCATE``, a ``DELETE``
  or ``UPDATE`` without ``WHERE``, a column type change that rewrites or truncates values).
  ``db push --env production`` refuses these unless ``--allow-destructive``.
* ``locking`` / ``compatibility``: the statement takes a lock that stops reads or writes while it
  runs, or breaks the code still running against the old schema (renames).

"Existing table" means a table the same file does not create: a new table has no rows and no
readers yet, so building an index on it or adding a constraint to it is harmless.

A statement is exempted with a comment on the lines just before it, inside it, or after it on its
last line::

    -- moai-lint: ignore drop-column            (one rule; several with commas)
    -- moai-lint: ignore                        (every rule)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MigrationError

DESTRUCTIVE = "destructive"
LOCKING = "locking"
COMPAT = "compatibility"


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    problem: str
    safer: str


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("drop-table", DESTRUCTIVE, "drops a table and every row in it",
         "stop using the table in code first, deploy, then drop it in a later migration (and keep a backup)"),
    Rule("drop-schema", DESTRUCTIVE, "drops a schema and everything in it",
         "drop the objects one by one in a reviewed migration, after a backup"),
    Rule("drop-column", DESTRUCTIVE, "drops a column and its data; running code that reads it fails",
         "stop reading and writing the column in code, deploy, then drop it in a later migration"),
    Rule("truncate", DESTRUCTIVE, "removes every row of the table",
         "delete the rows you mean with a WHERE clause, or do it outside migrations"),
    Rule("delete-without-where", DESTRUCTIVE, "deletes every row of the table",
         "add a WHERE clause naming the rows to delete"),
    Rule("update-without-where", DESTRUCTIVE, "rewrites every row of the table",
         "add a WHERE clause; for a backfill, update in batches"),
    Rule("alter-column-type", DESTRUCTIVE,
         "changes a column's type: rewrites the table under an ACCESS EXCLUSIVE lock and may truncate or "
         "refuse values; running code may break",
         "add a new column of the new type, backfill it in batches, switch the code, then drop the old one"),
    Rule("index-not-concurrently", LOCKING,
         "builds an index on an existing table without CONCURRENTLY: writes to the table stop until it is built",
         "CREATE INDEX CONCURRENTLY (outside a transaction block)"),
    Rule("add-column-not-null-without-default", LOCKING,
         "adds a NOT NULL column without a DEFAULT: fails on a table that has rows",
         "add the column with a DEFAULT (cheap since PostgreSQL 11), or add it nullable, backfill, then "
         "SET NOT NULL after a CHECK (...) NOT VALID constraint is validated"),
    Rule("constraint-not-valid", LOCKING,
         "adds a FOREIGN KEY or CHECK constraint that scans the whole table while holding a lock",
         "ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later statement"),
    Rule("require-lock-timeout", LOCKING,
         "alters an existing table with no lock_timeout: waiting behind a long query, it blocks every "
         "query queued after it",
         "SET lock_timeout = '5s'; before the ALTER TABLE (and retry the migration if it times out)"),
    Rule("rename-column", COMPAT, "renames a column: code still running against the old name fails",
         "add the new column, write both, switch reads, then drop the old one (expand and contract)"),
    Rule("rename-table", COMPAT, "renames a table: code still running against the old name fails",
         "create a view with the old name for the transition, or expand and contract"),
)}

_IGNORE = re.compile(r"(?:--|/\*)\s*moai-lint:\s*ignore\b([^\n*]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    kind: str
    statement: str  # the statement's first line, trimmed
    message: str
    safer: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "rule": self.rule, "kind": self.kind,
                "statement": self.statement, "message": self.message, "safer": self.safer}

    def render(self) -> str:
        return f"{self.file}:{self.line}: {self.rule} ({self.kind}): {self.message}. Safer: {self.safer}."


@dataclass
class LintReport:
    files: int
    statements: int
    findings: list[Finding]
    ignored: int

    @property
    def destructive(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == DESTRUCTIVE]

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "statements": self.statements, "ignored": self.ignored,
                "findings": [f.to_json() for f in self.findings]}


def _enums() -> Any:
    from pglast import enums

    return enums


def _qualified(rel: Any) -> str:
    return f"{rel.schemaname}.{rel.relname}" if getattr(rel, "schemaname", None) else str(rel.relname)


def _created_tables(stmts: Iterable[Any]) -> set[str]:
    return {_qualified(s.relation) for s in stmts if type(s).__name__ == "CreateStmt"}


def _constraints(coldef: Any) -> list[Any]:
    return list(getattr(coldef, "constraints", None) or ())


def _rules_of(stmt: Any, created: set[str], lock_timeout_set: bool) -> Iterator[str]:
    """The names of the rules ``stmt`` breaks."""
    e = _enums()
    kind = type(stmt).__name__
    if kind == "DropStmt":
        if stmt.removeType == e.ObjectType.OBJECT_TABLE:
            yield "drop-table"
        elif stmt.removeType == e.ObjectType.OBJECT_SCHEMA:
            yield "drop-schema"
    elif kind == "TruncateStmt":
        yield "truncate"
    elif kind == "DeleteStmt" and stmt.whereClause is None:
        yield "delete-without-where"
    elif kind == "UpdateStmt" and stmt.whereClause is None:
        yield "update-without-where"
    elif kind == "IndexStmt":
        if not stmt.concurrent and _qualified(stmt.relation) not in created:
            yield "index-not-concurrently"
    elif kind == "RenameStmt":
        if stmt.renameType == e.ObjectType.OBJECT_COLUMN:
            yield "rename-column"
        elif stmt.renameType == e.ObjectType.OBJECT_TABLE:
            yield "rename-table"
    elif kind == "AlterTableStmt" and getattr(stmt, "objtype", e.ObjectType.OBJECT_TABLE) == e.ObjectType.OBJECT_TABLE:
        existing = _qualified(stmt.relation) not in created
        at = e.AlterTableType
        for cmd in stmt.cmds or ():
            if cmd.subtype == at.AT_DropColumn:
                yield "drop-column"
            elif cmd.subtype == at.AT_AlterColumnType:
                yield "alter-column-type"
            elif cmd.subtype == at.AT_AddColumn and existing:
                types = {c.contype for c in _constraints(cmd.def_)}
                if e.ConstrType.CONSTR_NOTNULL in types and not types & {
                        e.ConstrType.CONSTR_DEFAULT, e.ConstrType.CONSTR_IDENTITY, e.ConstrType.CONSTR_GENERATED}:
                    yield "add-column-not-null-without-default"
            elif cmd.subtype == at.AT_AddConstraint and existing:
                con = cmd.def_
                if con.contype in (e.ConstrType.CONSTR_FOREIGN, e.ConstrType.CONSTR_CHECK) and not con.skip_validation:
                    yield "constraint-not-valid"
        if existing and not lock_timeout_set:
            yield "require-lock-timeout"


def _ignored(region: str) -> set[str] | None:
    """Rules a ``-- moai-lint: ignore`` comment in ``region`` exempts (``{"*"}``: all), or None."""
    names: set[str] = set()
    found = False
    for m in _IGNORE.finditer(region):
        found = True
        listed = {n.strip().lower() for n in m.group(1).replace(",", " ").split() if n.strip()}
        names |= listed or {"*"}
    return names if found else None


def _code_start(data: str, start: int) -> int:
    """The offset of the first character of ``data[start:]`` that is not white space or a comment."""
    i, n = start, len(data)
    while i < n:
        c = data[i]
        if c.isspace():
            i += 1
        elif data.startswith("--", i):
            j = data.find("\n", i)
            i = n if j < 0 else j + 1
        elif data.startswith("/*", i):
            j = data.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    return i


def lint_text(text: str, file: str) -> tuple[list[Finding], int, int]:
    """(findings, statements, ignored) of one file's SQL; MigrationError when it does not parse."""
    from pglast import parse_sql
    from pglast.parser import ParseError

    data = text  # pglast reports character offsets
    try:
        raws = parse_sql(text)
    except ParseError as exc:
        message, where = (exc.args + (None,))[:2] if exc.args else (str(exc), None)
        line = data[:where].count("\n") + 1 if isinstance(where, int) else None
        raise MigrationError(
            f"{file}{f':{line}' if line else ''} does not parse as PostgreSQL: {message}.",
            hint="Fix the statement at that line (PostgreSQL's own parser read it), then lint again.") from exc
    stmts = [r.stmt for r in raws]
    created = _created_tables(stmts)
    e = _enums()
    findings: list[Finding] = []
    ignored = 0
    lock_timeout_set = False
    prev_end = 0  # where the previous statement's text ended (libpg_query's locations skip comments)
    for raw in raws:
        stmt: Any = raw.stmt
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(data)
        region_start, prev_end = prev_end, end
        if type(stmt).__name__ == "VariableSetStmt" and stmt.name == "lock_timeout":
            lock_timeout_set = stmt.kind != e.VariableSetKind.VAR_RESET
            continue
        code = _code_start(data, start)
        rules = list(dict.fromkeys(_rules_of(stmt, created, lock_timeout_set)))
        if not rules:
            continue
        if region_start > 0:  # what follows the previous statement on its own line belongs to it
            newline = data.find("\n", region_start, code)
            region_start = newline + 1 if newline >= 0 else code
        line_end = data.find("\n", end)  # a comment after the statement on its last line counts too
        exempt = _ignored(data[region_start:len(data) if line_end < 0 else line_end]) or set()
        line = data.count("\n", 0, code) + 1
        first = data[code:end].strip().splitlines()[0][:120] if end > code else ""
        for name in rules:
            if "*" in exempt or name in exempt:
                ignored += 1
                continue
            rule = RULES[name]
            findings.append(Finding(file, line, name, rule.kind, first, rule.problem, rule.safer))
    return findings, len(raws), ignored


def expand_paths(paths: list[Path], default_dir: Path) -> list[Path]:
    """The ``.sql`` files to lint: each file given, each folder's ``*.sql`` (sorted), or ``default_dir``'s."""
    out: list[Path] = []
    for path in paths or [default_dir]:
        if path.is_dir():
            out += sorted(path.glob("*.sql"))
        elif path.is_file():
            out.append(path)
        else:
            raise MigrationError(f"{path} does not exist.",
                                 hint="Pass migration files or folders, or run in a project with supabase/migrations/.")
    return out


def lint_files(paths: Iterable[Path], *, display_root: Path | None = None) -> LintReport:
    """Lint each file (in the order given); the first file that cannot be read or parsed stops it."""
    findings: list[Finding] = []
    files = statements = ignored = 0
    for path in paths:
        shown = str(path.relative_to(display_root)) if display_root and path.is_relative_to(display_root) else str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MigrationError(f"Cannot read migration {shown}: {exc}.",
                                 hint="Check the path and that the file is UTF-8 text.") from exc
        found, count, skipped = lint_text(text, shown)
        findings += found
        statements += count
        ignored += skipped
        files += 1
    return LintReport(files=files, statements=statements, findings=findings, ignored=ignored)
