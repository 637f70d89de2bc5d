"""An SQL-aware statement splitter for PostgreSQL migration files.

``split(text)`` cuts a file into statements at top-level semicolons while
understanding everything that may hide a semicolon:

* ``'strings'`` with ``''`` doubling, ``E'escape strings'`` with backslash
  escapes, ``"quoted identifiers"``;
* dollar-quoted bodies ``$$ ... $$`` and ``$tag$ ... $tag$`` (DO blocks,
  PL/pgSQL functions);
* ``-- line`` comments and nested ``/* block /* comments */ */``;
* parentheses (``CREATE RULE ... DO ALSO (a; b)``);
* SQL-standard function bodies ``BEGIN ATOMIC ... END`` (with ``CASE ... END``
  nesting inside);
* ``COPY ... FROM stdin;`` followed by a data block ending at a line ``\\.``;
* psql meta-commands between statements: pg_dump's ``\\restrict`` and
  ``\\unrestrict`` lines are skipped (recorded in ``meta``), others refused.

Each statement keeps its character offsets and the line/column of its first
code token, so a server error position can be mapped back to the file.
``text`` is the statement trimmed of surrounding white space and of the
trailing ``;`` -- the same form the Supabase CLI stores in
``supabase_migrations.schema_migrations.statements``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from ..errors import MigrationError

_IDENT_START = re.compile(r"[A-Za-z_\u0080-\uffff]")
_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_MAX_WORDS = 64


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$" or ord(ch) >= 0x80


@dataclass(frozen=True)
class Statement:
    """One statement of a file. Offsets are character offsets into the file text."""

    index: int                 # 1-based position among the file's statements
    text: str                  # trimmed, without the terminating ';'
    start: int                 # offset of text[0] in the file
    code_start: int            # offset of the first token that is not a comment
    line: int                  # 1-based line of code_start
    column: int                # 1-based column of code_start
    words: tuple[str, ...] = field(default=())   # upper-cased keywords/identifiers (first 63 and the last)
    copy_data: str | None = None                 # data lines of COPY ... FROM stdin

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class SplitResult:
    statements: list[Statement]
    trailing: str | None       # comment-only text after the last statement (kept for history)
    line_starts: list[int]
    meta: list[tuple[int, int]] = field(default_factory=list)  # psql \restrict lines: (start, end) offsets

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def history_statements(self) -> list[str]:
        texts = [s.text for s in self.statements]
        if self.trailing:
            texts.append(self.trailing)
        return texts


class SplitError(MigrationError):
    """The file cannot be split: an unterminated quote, comment or COPY block."""


def _line_starts(text: str) -> list[int]:
    starts = [0]
    pos = text.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


class _Scanner:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.n = len(text)
        self.line_starts = _line_starts(text)

    def where(self, offset: int) -> str:
        line = bisect.bisect_right(self.line_starts, offset)
        return f"{self.source}:{line}:{offset - self.line_starts[line - 1] + 1}"

    def fail(self, offset: int, what: str, fix: str) -> SplitError:
        return SplitError(f"{self.where(offset)}: {what}.", hint=fix)

    def skip_block_comment(self, i: int) -> int:
        depth, j = 0, i
        while j < self.n:
            if self.text.startswith("/*", j):
                depth += 1
                j += 2
            elif self.text.startswith("*/", j):
                depth -= 1
                j += 2
                if depth == 0:
                    return j
            else:
                j += 1
        raise self.fail(i, "the /* comment opened here is never closed", "Close it with */ (comments nest in PostgreSQL).")

    def skip_quoted(self, i: int, quote: str, backslash: bool) -> int:
        j = i + 1
        text = self.text
        while j < self.n:
            ch = text[j]
            if backslash and ch == "\\":
                j += 2
                continue
            if ch == quote:
                if j + 1 < self.n and text[j + 1] == quote:
                    j += 2
                    continue
                return j + 1
            j += 1
        kind = "quoted identifier" if quote == '"' else "string"
        raise self.fail(i, f"the {kind} opened here with {quote} is never closed",
                        f"Add the closing {quote} (write a {quote} inside it as {quote}{quote}).")

    def skip_dollar(self, i: int, tag: str) -> int:
        end = self.text.find(tag, i + len(tag))
        if end == -1:
            raise self.fail(i, f"the dollar-quoted body opened here with {tag} is never closed",
                            f"Close the body with {tag}.")
        return end + len(tag)


def split(text: str, source: str = "<sql>") -> SplitResult:
    """Split ``text`` into statements; ``source`` names the file in errors."""
    sc = _Scanner(text, source)
    n = sc.n
    statements: list[Statement] = []
    seg_start = 0          # start of the current raw segment
    code_start = -1        # first code offset in the current segment
    words: list[str] = []
    depth = 0              # parentheses
    atomic = -1            # -1 outside BEGIN ATOMIC, else CASE nesting depth inside
    from_stdin = False     # saw FROM STDIN in this statement
    prev_word = ""
    meta: list[tuple[int, int]] = []
    i = 0

    def emit(end: int, terminator: int) -> int:
        """Close the segment [seg_start, end); returns where scanning resumes."""
        nonlocal seg_start, code_start, words, depth, atomic, from_stdin, prev_word
        raw = text[seg_start:end]
        stripped = raw.strip()
        resume = terminator
        if stripped and code_start >= 0:
            start = seg_start + (len(raw) - len(raw.lstrip()))
            copy_data = None
            if words and words[0] == "COPY" and from_stdin and terminator < n + 1:
                copy_data, resume = _read_copy_data(sc, terminator)
            line, col = _pos(sc.line_starts, code_start)
            statements.append(Statement(
                index=len(statements) + 1, text=stripped, start=start, code_start=code_start,
                line=line, column=col, words=tuple(words), copy_data=copy_data,
            ))
        seg_start, code_start, words, depth, atomic = resume, -1, [], 0, -1
        from_stdin, prev_word = False, ""
        return resume

    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "-" and text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl == -1 else nl + 1
            continue
        if ch == "/" and text.startswith("/*", i):
            i = sc.skip_block_comment(i)
            continue
        if ch == "\\" and code_start < 0 and text[text.rfind("\n", 0, i) + 1:i].strip() == "":
            i = seg_start = _meta_command(sc, i, meta)
            continue
        if code_start < 0:
            code_start = i
        if ch == "'":
            prev = text[i - 1] if i > 0 else ""
            before = text[i - 2] if i > 1 else ""
            escape = prev in "eE" and not (before and _is_ident_char(before))
            i = sc.skip_quoted(i, "'", escape)
        elif ch == '"':
            i = sc.skip_quoted(i, '"', False)
        elif ch == "$":
            m = _DOLLAR_TAG.match(text, i)
            if m and not (i > 0 and _is_ident_char(text[i - 1])):
                i = sc.skip_dollar(i, m.group(0))
            else:
                i += 1
        elif ch == "(":
            depth += 1
            i += 1
        elif ch == ")":
            depth = max(0, depth - 1)
            i += 1
        elif ch == ";":
            if depth == 0 and atomic < 0:
                i = emit(i, i + 1)
            else:
                i += 1
        elif _IDENT_START.match(ch) and not (i > 0 and _is_ident_char(text[i - 1])):
            m = _WORD.match(text, i)
            assert m is not None
            word = m.group(0).upper()
            if len(words) < _MAX_WORDS:
                words.append(word)
            else:
                words[-1] = word
            if word == "STDIN" and prev_word == "FROM":
                from_stdin = True
            prev_word = word
            if atomic >= 0:
                if word == "CASE":
                    atomic += 1
                elif word == "END":
                    atomic -= 1
            elif word == "ATOMIC" and len(words) >= 2 and words[-2] == "BEGIN":
                atomic = 0
            i = m.end()
        else:
            i += 1
    trailing = None
    if code_start >= 0:
        emit(n, n + 1)
    else:
        rest = text[seg_start:].strip()
        trailing = rest or None
    return SplitResult(statements=statements, trailing=trailing, line_starts=sc.line_starts, meta=meta)


def _pos(line_starts: list[int], offset: int) -> tuple[int, int]:
    line = bisect.bisect_right(line_starts, offset)
    return line, offset - line_starts[line - 1] + 1


_IGNORED_META = ("\\restrict", "\\unrestrict")


def _meta_command(sc: _Scanner, i: int, meta: list[tuple[int, int]]) -> int:
    """A psql meta-command line between statements: pg_dump's \\restrict/\\unrestrict are
    skipped (they only guard psql sessions); any other is refused, since it is not SQL."""
    text = sc.text
    eol = text.find("\n", i)
    end = sc.n if eol == -1 else eol
    line = text[i:end].strip()
    command = line.split()[0] if line.split() else line
    if command in _IGNORED_META:
        meta.append((i, end))
        return end
    raise sc.fail(i, f"`{command}` is a psql meta-command, not SQL",
                  "Remove the line: migrations are run as SQL by the server, not by psql "
                  "(pg_dump's \\restrict/\\unrestrict lines are the only ones skipped).")


def _read_copy_data(sc: _Scanner, after: int) -> tuple[str, int]:
    """The data block after ``COPY ... FROM stdin;``: from the next line up to a line ``\\.``."""
    text = sc.text
    nl = text.find("\n", after)
    if nl == -1:
        raise sc.fail(after - 1, "COPY ... FROM stdin has no data block after it",
                      "Put the rows on the following lines and end them with a line holding only \\.")
    rest_of_line = text[after:nl].strip()
    if rest_of_line:
        raise sc.fail(after, "COPY ... FROM stdin must end its line; the data starts on the next line",
                      "Move what follows the ';' to its own statement after the \\. line.")
    j = nl + 1
    while j <= sc.n:
        eol = text.find("\n", j)
        line = text[j:] if eol == -1 else text[j:eol]
        if line.rstrip("\r") == "\\.":
            data = text[nl + 1:j]
            return data, (sc.n if eol == -1 else eol + 1)
        if eol == -1:
            break
        j = eol + 1
    raise sc.fail(after - 1, "the COPY ... FROM stdin data block is not terminated by a line \\.",
                  "End the data rows with a line holding only \\.")
