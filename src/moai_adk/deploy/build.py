"""Run a project's build command, streaming its output, failing clearly."""

from __future__ import annotations

import collections
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import BuildError


def run_build(command: str, cwd: Path, environ: Mapping[str, str], *,
              echo: Callable[[str], None] | None = None, label: str = "build command") -> None:
    """Run ``command`` in a shell in ``cwd``; each output line goes to ``echo``.

    A non-zero exit raises ``BuildError`` quoting the last lines of output.
    """
    tail: collections.deque[str] = collections.deque(maxlen=15)
    try:
        proc = subprocess.Popen(
            command, shell=True, cwd=cwd, env=dict(environ), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace",
        )
    except OSError as exc:
        raise BuildError(f"Cannot start the {label} `{command}` in {cwd}: {exc}.",
                         hint="Check [build] command in moai.toml.") from exc
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        if echo is not None:
            echo(line)
    code = proc.wait()
    if code != 0:
        last = "\n".join(tail)
        raise BuildError(
            f"The {label} `{command}` failed with exit code {code} in {cwd}."
            + (f" Its last output lines:\n{last}" if last else ""),
            hint="Fix the build (run the command yourself to see the whole output), or deploy what is already "
                 "built with `moai-adk deploy --skip-build`.",
        )
