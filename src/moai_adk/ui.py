"""What a service may tell the user while it works, without depending on the CLI: messages and
progress. ``cli/output.py``'s ``Output`` is the terminal implementation; ``SilentUI`` says nothing
(library callers and tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Progress(Protocol):
    def __call__(self, n: int = 1) -> None: ...

    def set_total(self, total: int) -> None: ...


class UI(Protocol):
    def info(self, message: str) -> None: ...

    def progress(self, description: str, total: int | None, *,
                 unit_bytes: bool = False) -> AbstractContextManager[Progress]: ...


class _NoProgress:
    def __call__(self, n: int = 1) -> None:
        pass

    def set_total(self, total: int) -> None:
        pass


class SilentUI:
    def info(self, message: str) -> None:
        pass

    @contextmanager
    def progress(self, description: str, total: int | None, *, unit_bytes: bool = False) -> Iterator[Progress]:
        yield _NoProgress()
