"""What kind of statement is this, and how must a migration file run?

PostgreSQL refuses some statements inside a transaction block
(``CREATE INDEX CONCURRENTLY``, ``VACUUM``, ``ALTER SYSTEM`` ...). A migration
normally runs as one transaction together with its history row, so such a
statement would fail half-way. The rule (documented in docs/migrations.md):

* a file whose statements are *all* non-transactional runs in autocommit,
  one statement at a time, and its history row is written last;
* a file mixing them with ordinary statements is refused before anything
  runs, naming the statement to move into a file of its own;
* explicit transaction control: a leading ``BEGIN``/``START TRANSACTION`` and
  a trailing ``COMMIT``/``END`` are a redundant wrapper and are skipped (the
  file already runs in one transaction); any other ``COMMIT``/``ROLLBACK``/
  ``BEGIN`` would split the file's transaction and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..errors import MigrationError
from .splitter import SplitResult, Statement


class Mode(StrEnum):
    BATCH = "batch"            # whole file in one simple-query round trip, one transaction
    STEPS = "steps"            # one transaction, statement by statement (COPY FROM stdin)
    AUTOCOMMIT = "autocommit"  # non-transactional statements only, each on its own


def non_transactional_reason(stmt: Statement, server_version: int) -> str | None:
    """Why ``stmt`` cannot run inside a transaction block, or None when it can."""
    w = stmt.words
    if not w:
        return None
    first = w[0]
    head = " ".join(w[:4])
    if first == "CREATE" and "INDEX" in w[1:3] and "CONCURRENTLY" in w[2:4]:
        return "CREATE INDEX CONCURRENTLY"
    if head.startswith("DROP INDEX CONCURRENTLY"):
        return "DROP INDEX CONCURRENTLY"
    if first == "REINDEX":
        if "CONCURRENTLY" in w[1:6]:
            return "REINDEX ... CONCURRENTLY"
        if len(w) > 1 and w[1] in ("DATABASE", "SYSTEM") or (len(w) > 2 and w[1] == "VERBOSE" and w[2] in ("DATABASE", "SYSTEM")):
            return "REINDEX DATABASE/SYSTEM"
    if first == "VACUUM":
        return "VACUUM"
    if head.startswith("ALTER SYSTEM"):
        return "ALTER SYSTEM"
    if first in ("CREATE", "DROP") and len(w) > 1 and w[1] in ("DATABASE", "TABLESPACE", "SUBSCRIPTION"):
        return f"{first} {w[1]}"
    if head.startswith("ALTER DATABASE") and "TABLESPACE" in w[3:6] and "SET" in w[2:5]:
        return "ALTER DATABASE ... SET TABLESPACE"
    if first == "CLUSTER" and (len(w) == 1 or (len(w) == 2 and w[1] == "VERBOSE")):
        return "CLUSTER without a table"
    if head.startswith("DISCARD ALL"):
        return "DISCARD ALL"
    if first == "ALTER" and len(w) > 1 and w[1] == "TABLE" and "DETACH" in w and w[-1] == "CONCURRENTLY":
        return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"
    if server_version < 120000 and first == "ALTER" and len(w) > 1 and w[1] == "TYPE" and "ADD" in w and "VALUE" in w:
        return "ALTER TYPE ... ADD VALUE (before PostgreSQL 12)"
    return None


_COMMIT = {("COMMIT",), ("END",), ("COMMIT", "TRANSACTION"), ("COMMIT", "WORK"), ("END", "TRANSACTION"), ("END", "WORK")}


def _is_tx_control(stmt: Statement) -> bool:
    w = stmt.words
    if not w:
        return False
    if w[0] in ("BEGIN", "COMMIT", "END", "ABORT", "START"):
        return w[0] != "START" or (len(w) > 1 and w[1] == "TRANSACTION")
    if w[0] == "ROLLBACK":
        return not (len(w) > 1 and (w[1] == "TO" or "TO" in w[1:3]))
    if w[0] == "PREPARE" and len(w) > 1 and w[1] == "TRANSACTION":
        return True
    return False


def _is_begin(stmt: Statement) -> bool:
    w = stmt.words
    if not w or not (w[0] == "BEGIN" or tuple(w[:2]) == ("START", "TRANSACTION")):
        return False
    allowed = {"BEGIN", "START", "TRANSACTION", "WORK", "ISOLATION", "LEVEL", "SERIALIZABLE", "REPEATABLE",
               "READ", "COMMITTED", "UNCOMMITTED", "WRITE", "ONLY", "DEFERRABLE", "NOT"}
    return all(word in allowed for word in w)


def _is_commit(stmt: Statement) -> bool:
    return tuple(stmt.words) in _COMMIT


@dataclass(frozen=True)
class FilePlan:
    """How one file runs: its mode and the statements actually executed."""

    mode: Mode
    run: list[Statement]       # statements to execute (a BEGIN/COMMIT wrapper removed)
    skipped: list[Statement]   # the wrapper statements, if any


def plan_file(path: str, split: SplitResult, server_version: int) -> FilePlan:
    """Decide how the file at ``path`` runs; refuse what could fail half-way."""
    stmts = list(split.statements)
    skipped: list[Statement] = []
    if len(stmts) >= 2 and _is_begin(stmts[0]) and _is_commit(stmts[-1]):
        skipped = [stmts[0], stmts[-1]]
        stmts = stmts[1:-1]
    for stmt in stmts:
        if _is_tx_control(stmt):
            raise MigrationError(
                f"{path}:{stmt.line}: statement {stmt.index} ({' '.join(stmt.words[:2])}) controls the transaction. "
                "moai-adk runs each migration file and its history row as one transaction, so a COMMIT, "
                "ROLLBACK or BEGIN inside the file would leave the history out of step with the schema.",
                hint="Remove it: only a BEGIN as the first statement together with a COMMIT as the last one is "
                     "accepted (and ignored, since the file already runs in one transaction).",
            )
        if stmt.words and stmt.words[0] == "COPY" and stmt.copy_data is None and "STDOUT" in stmt.words:
            raise MigrationError(
                f"{path}:{stmt.line}: statement {stmt.index} is COPY ... TO STDOUT, whose output nothing reads "
                "during a migration.",
                hint="Remove the statement, or write to a server-side file with COPY ... TO '/path'.",
            )
    reasons = [(s, non_transactional_reason(s, server_version)) for s in stmts]
    non_tx = [(s, r) for s, r in reasons if r]
    if non_tx:
        if len(non_tx) == len(stmts) and not skipped:
            return FilePlan(Mode.AUTOCOMMIT, stmts, [])
        stmt, reason = non_tx[0]
        if skipped:
            why = "the file wraps its statements in BEGIN ... COMMIT"
        else:
            others = [s.index for s, r in reasons if not r]
            why = f"the file also holds ordinary statements ({_numbers(others)})"
        raise MigrationError(
            f"{path}:{stmt.line}: statement {stmt.index} ({reason}) cannot run inside a transaction block, and "
            f"{why}. Running them together could fail half-way, so nothing was run.",
            hint=f"Move statement {stmt.index} (and any other {reason.split(' ')[0]} ... statements) into a migration "
                 "file of its own (`moai-adk db migration new <name>`); a file holding only such statements runs "
                 "statement by statement outside a transaction.",
        )
    if any(s.copy_data is not None for s in stmts):
        return FilePlan(Mode.STEPS, stmts, skipped)
    return FilePlan(Mode.BATCH, stmts, skipped)


def _numbers(indexes: list[int]) -> str:
    shown = ", ".join(str(i) for i in indexes[:5])
    more = "" if len(indexes) <= 5 else f" and {len(indexes) - 5} more"
    return f"statement{'s' if len(indexes) > 1 else ''} {shown}{more}"
