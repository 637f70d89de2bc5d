"""How commands talk to the user: results on stdout (a table or ``--json``),
progress and messages on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


@dataclass
class Output:
    json: bool = False
    debug: bool = False
    quiet: bool = False
    out: Console = field(default_factory=lambda: Console(file=sys.stdout, highlight=False, soft_wrap=True))
    err: Console = field(default_factory=lambda: Console(file=sys.stderr, highlight=False, soft_wrap=True))

    def result(self, data: Any, render: Callable[[Console], None] | None = None) -> None:
        """The command's result: JSON on --json, else ``render`` (or a plain dump)."""
        if self.json:
            sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")
            sys.stdout.flush()
        elif render is not None:
            render(self.out)
        else:
            self.out.print(data)

    def dry_run(self, action: str, message: str, **data: Any) -> None:
        """The result of a ``--dry-run``: what would have changed, changing nothing."""
        self.result({"dry_run": True, "action": action, **data}, lambda con: con.print(f"Dry run: {message}"))

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(message)

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]Warning:[/yellow] {message}")

    @contextmanager
    def progress(self, description: str, total: int | None, *, unit_bytes: bool = False) -> Iterator[Tracker]:
        """A rich progress bar on stderr (hidden when stderr is not a terminal or in --json).

        Yields a ``Tracker``: call it to advance; ``set_total`` once the total is known."""
        if self.json or self.quiet or not self.err.is_terminal:
            yield _NO_TRACKER  # nobody sees a bar: rich.progress is not even imported
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
        columns.append(DownloadColumn() if unit_bytes else MofNCompleteColumn())
        columns.append(TimeRemainingColumn())
        with Progress(*columns, console=self.err, transient=True) as bar:
            yield Tracker(bar, bar.add_task(description, total=total))


class Tracker:
    """Advances one rich progress task; cheap to call per file (``bar`` None: no bar is shown)."""

    def __init__(self, bar: Progress | None, task: TaskID | None) -> None:
        self.bar = bar
        self.task = task

    def __call__(self, n: int = 1) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task, n)

    def set_total(self, total: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, total=total)


_NO_TRACKER = Tracker(None, None)
