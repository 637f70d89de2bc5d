"""What every command shares: the invocation state, the common options, and opening the project
and its provider (through ``moai_adk.workspace``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..config import Config
from .output import Output

if TYPE_CHECKING:  # workspace, providers and secrets load on first use: commands that need none start faster
    from ..providers.base import Provider

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """Per-invocation state shared by all commands (``ctx.obj``)."""

    def __init__(self) -> None:
        self.output = Output()
        self.project_dir: Path = Path.cwd()
        self.environ: dict[str, str] = dict(os.environ)
        self.protected: set[Path] = set()  # projects whose secret values are redacted already


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).output.json = True


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).output.debug = True


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).output.quiet = True


def common(fn: F) -> F:
    """Adds ``--json``, ``--debug`` and ``-q/--quiet`` to a command, so they work before or after it."""
    fn = click.option("-q", "--quiet", "_quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                      help="Only print results and errors.")(fn)
    fn = click.option("--json", "_json", is_flag=True, expose_value=False, callback=_set_json,
                      help="Print the result as JSON on stdout.")(fn)
    fn = click.option("--debug", "_debug", is_flag=True, expose_value=False, callback=_set_debug,
                      help="Show tracebacks and HTTP details on errors.")(fn)
    return fn


dry_run_option = click.option("--dry-run", is_flag=True, help="Say what would change without changing anything.")


def state(ctx: click.Context) -> State:
    return ctx.ensure_object(State)


platform_option = click.option("--platform", "-p", default=None, metavar="NAME",
                               help="Platform to use (default: from moai.toml, else local).")


def open_project(ctx: click.Context) -> tuple[State, Config]:
    """The invocation state and the project's config; from here on, every secret value of the project's
    stores this user can decrypt is redacted from all output (``secrets.redact``)."""
    from .. import workspace
    from ..secrets import ops as secrets_ops
    from ..secrets import redact

    st = state(ctx)
    cfg = workspace.load_project(st.project_dir)
    if cfg.root not in st.protected:
        st.protected.add(cfg.root)
        values = secrets_ops.readable_values(cfg, st.environ)
        if values:
            redact.install(st.output, values)
    return st, cfg


def open_provider(ctx: click.Context, platform: str | None, environment: str | None = None, *,
                  concurrency: int | None = None, change: str | None = None) -> tuple[State, Config, Provider]:
    """The invocation state, the project's config, and the provider for ``platform`` (default: the one
    moai.toml names for ``environment``). The provider is closed when the command ends. ``change``
    (deploy, promote, rollback, traffic, env): the command changes ``environment``, so the access
    rules are checked first (``moai_adk.access.gate``) and refuse before anything is sent."""
    from .. import workspace

    st, cfg = open_project(ctx)
    provider = workspace.open_provider(cfg, st.environ, platform, environment, concurrency=concurrency)
    ctx.call_on_close(provider.close)
    if change is not None:
        from ..access import gate

        gate(provider, cfg.root, st.environ, environment, change)
    return st, cfg, provider
