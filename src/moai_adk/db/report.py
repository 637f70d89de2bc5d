"""A failed migration, told with its file, statement, line and a caret."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ..errors import MigrationError
from .splitter import SplitResult, Statement


class MigrationFailed(MigrationError):
    """A statement of a migration file failed on the server."""

    def __init__(self, message: str, hint: str, *, path: str, statement: int | None,
                 line: int | None, column: int | None, sqlstate: str | None) -> None:
        super().__init__(message, hint)
        self.path = path
        self.statement = statement
        self.line = line
        self.column = column
        self.sqlstate = sqlstate


@dataclass(frozen=True)
class Failure:
    """Where in a file an error happened. ``offset`` is a character offset into the file text."""

    statement: Statement | None
    offset: int | None
    error: psycopg.Error
    at: str = "statement"      # "statement", "history" (the history INSERT) or "commit"


def statement_at(split: SplitResult, offset: int) -> Statement | None:
    """The statement whose text contains (or last starts before) ``offset``."""
    found = None
    for stmt in split.statements:
        if stmt.start <= offset:
            found = stmt
        else:
            break
    return found


def excerpt(text: str, split: SplitResult, offset: int) -> str:
    """The source line holding ``offset`` with a caret under it."""
    line, column = split.position(offset)
    start = split.line_starts[line - 1]
    end = text.find("\n", start)
    source = text[start:] if end == -1 else text[start:end]
    source = source.rstrip("\r")
    pad = "".join("\t" if ch == "\t" else " " for ch in source[: column - 1])
    gutter = f"{line:>5} | "
    return f"{gutter}{source}\n{' ' * (len(gutter) - 2)}| {pad}^"


def describe(error: psycopg.Error, scrub: str | None = None) -> str:
    diag = error.diag
    msg = diag.message_primary or str(error).strip().splitlines()[0]
    parts = [msg]
    if diag.sqlstate:
        parts[0] += f" (SQLSTATE {diag.sqlstate})"
    if diag.message_detail:
        parts.append(f"Detail: {diag.message_detail}")
    if diag.message_hint:
        parts.append(f"Server hint: {diag.message_hint}")
    text = "\n".join(parts)
    if scrub:
        text = text.replace(scrub, "****")
    return text


def failure_error(display: str, text: str, split: SplitResult, failure: Failure, *, state: str,
                  retry: str, password: str | None = None) -> MigrationFailed:
    """Build the ``MigrationFailed`` for ``failure`` in the file shown as ``display``."""
    stmt, offset = failure.statement, failure.offset
    what = describe(failure.error, password)
    if failure.at == "history":
        head = f"Migration {display}: writing its history row failed: {what}"
        line = column = None
    elif failure.at == "commit" or stmt is None:
        head = f"Migration {display} failed when its transaction committed (e.g. a deferred constraint): {what}"
        line = column = None
    else:
        where = offset if offset is not None else stmt.code_start
        line, column = split.position(where)
        head = (f"Migration {display} failed at statement {stmt.index} (line {line}, column {column}): {what}\n"
                f"{excerpt(text, split, where)}")
        if offset is None:
            head += "\n(the server gave no error position; the caret marks the start of the statement)"
    hint = (f"Fix statement {stmt.index} in {display} and run `{retry}` again."
            if stmt is not None and failure.at == "statement" else f"Fix {display} and run `{retry}` again.")
    return MigrationFailed(f"{head}\n{state}", hint, path=display,
                           statement=stmt.index if stmt is not None and failure.at == "statement" else None,
                           line=line, column=column, sqlstate=failure.error.diag.sqlstate)
