"""One redaction filter for everything a command prints.

``install(output, values)`` wraps ``sys.stdout`` and ``sys.stderr`` (and the
rich consoles of the command's ``Output``) once; every later write, including
``--json`` results, ``Error:`` lines and ``--debug`` tracebacks, goes through
``Redactor.redact``. Text is held until the stream is flushed (rich flushes
after each print, Python at exit), so a value written in pieces is still caught.
A value is also caught in the forms JSON and ``repr`` give it.
"""

from __future__ import annotations

import atexit
import json
import re
import sys
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

MASK = "********"
MIN_ENVIRON_LEN = 8  # shorter environment values are not treated as secrets (they would mangle output)
# Environment variables whose values are credentials: the platforms' own (credential_envs) and any
# name ending like one (GITHUB_TOKEN, DB_PASSWORD, STRIPE_SECRET_KEY, ...).
CREDENTIAL_NAME = re.compile(r"(?:^|_)(?:TOKEN|SECRET|SECRETS|PASSWORD|PASSWD|PASS|API_KEY|SECRET_KEY|PRIVATE_KEY"
                             r"|ACCESS_KEY|AUTH|AUTH_TOKEN|CREDENTIALS|SERVICE_ROLE_KEY|DSN)$", re.IGNORECASE)


def sensitive_environ(environ: Mapping[str, str], names: Iterable[str] = ()) -> list[str]:
    """The values of ``environ`` that are credentials: those of ``names`` and of credential-like names,
    and the password of any URL value (``postgres://user:PASSWORD@host``)."""
    wanted = set(names)
    out: list[str] = []
    for name, value in environ.items():
        if len(value) < MIN_ENVIRON_LEN:
            continue
        if name in wanted or CREDENTIAL_NAME.search(name):
            out.append(value)
        elif "://" in value and "@" in value:
            try:
                password = urllib.parse.urlsplit(value).password
            except ValueError:
                password = None
            if password and len(password) >= MIN_ENVIRON_LEN:
                out.append(password)
    return out


class Redactor:
    def __init__(self) -> None:
        self._needles: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        for value in values:
            if not value:
                continue
            forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1]}
            forms |= {line for line in value.splitlines() if len(line.strip()) >= 6}
            self._needles |= {f for f in forms if f}

    def redact(self, text: str) -> str:
        for needle in sorted(self._needles, key=len, reverse=True):
            if needle in text:
                text = text.replace(needle, MASK)
        return text


class RedactingStream:
    """A text stream that redacts what it writes to ``inner`` on flush."""

    def __init__(self, inner: TextIO, redactor: Redactor) -> None:
        self.inner = inner
        self.redactor = redactor
        self._pending: list[str] = []

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # a text stream refuses bytes (click probes streams with b"")
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._pending.append(text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            text, self._pending = "".join(self._pending), []
            self.inner.write(self.redactor.redact(text))
        self.inner.flush()

    def write_unredacted(self, text: str) -> None:
        """For ``secrets get --reveal`` only: the one place a value is printed on purpose."""
        self.flush()
        self.inner.write(text)
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.inner, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


_redactor: Redactor | None = None


def install(output: Any, values: Iterable[str]) -> Redactor:
    """Redact ``values`` from all later output of this process (and of ``output``'s consoles)."""
    global _redactor
    if _redactor is None:
        _redactor = Redactor()
        sys.stdout = RedactingStream(sys.stdout, _redactor)
        sys.stderr = RedactingStream(sys.stderr, _redactor)
        atexit.register(_flush)
    for console in (getattr(output, "out", None), getattr(output, "err", None)):
        if console is not None and not isinstance(console.file, RedactingStream):
            stream = sys.stdout if console.file is getattr(sys.stdout, "inner", None) else sys.stderr
            console.file = stream
    _redactor.add(values)
    return _redactor


def protect_environ(output: Any, environ: Mapping[str, str]) -> None:
    """Redact the credentials of ``environ`` (``sensitive_environ``) from all later output."""
    values = sensitive_environ(environ)
    if values:
        install(output, values)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def reveal(text: str) -> None:
    """Print ``text`` on stdout past the filter."""
    out = sys.stdout
    if isinstance(out, RedactingStream):
        out.write_unredacted(text)
    else:
        out.write(text)
        out.flush()
