"""The ``moai-adk`` command: wiring only (parse -> call one service -> render).

Exit codes: 0 ok, 1 failure (``Error:`` + hint on stderr), 2 usage.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

import click
from rich.markup import escape

from .. import __version__
from ..errors import MoaiError
from ..secrets import redact
from .options import State, common, state

# Each top-level command and the module whose ``register`` adds it. Only the module of the
# command being run is imported, so `moai-adk deploy` does not pay for `db` (pglast, psycopg),
# `init` or `secrets`; `--help` and `list_commands` load them all.
COMMAND_MODULES: dict[str, str] = {
    "init": "init_cmd",
    "deploy": "deploy_cmds", "deployments": "deploy_cmds", "promote": "deploy_cmds",
    "rollback": "deploy_cmds", "status": "deploy_cmds",
    "canary": "release_cmds", "traffic": "release_cmds",
    "platform": "platform_cmd",
    "env": "env_cmd",
    "db": "db_cmd",
    "channels": "hosting_cmd", "functions": "hosting_cmd",
    "cleanup": "cleanup_cmd",
    "secrets": "secrets_cmd",
    "audit": "audit_cmd",
    "access": "access_cmd",
    "backend": "backend_cmd",
    "link": "link_cmd",
    "monitor": "monitor_cmd",
}


class LazyGroup(click.Group):
    """The root group: a command's module is imported when that command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            module = importlib.import_module(f"{__package__}.{COMMAND_MODULES[cmd_name]}")
            module.register(self)
        return self.commands.get(cmd_name)

    def load_all(self) -> dict[str, click.Command]:
        """Every command, imported (for tools that walk the tree: docs, tests)."""
        for name in COMMAND_MODULES:
            self.get_command(click.Context(self), name)
        return dict(self.commands)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run as if started in this folder.")
@click.version_option(__version__, prog_name="moai-adk")
@common
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None) -> None:
    """Deploy web projects to Vercel, Netlify, Firebase, Supabase, or moai-adk's own local platform."""
    st = state(ctx)
    if project_dir is not None:
        st.project_dir = project_dir.resolve()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    st = State()
    redact.protect_environ(st.output, st.environ)  # credentials in the environment never reach the output
    try:
        # without standalone mode, click returns ctx.exit(n)'s code instead of raising
        code = cli.main(args=args, prog_name="moai-adk", standalone_mode=False, obj=st)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        st.output.err.print("Aborted.")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except MoaiError as exc:
        if debug:
            traceback.print_exc()
        st.output.err.print(f"[bold red]Error:[/bold red] {escape(exc.message)}", markup=True, highlight=False)
        if exc.hint:
            st.output.err.print(f"[bold]Hint:[/bold] {escape(exc.hint)}", markup=True, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        st.output.err.print("Interrupted.")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last-resort report
        if debug:
            traceback.print_exc()
        st.output.err.print(
            f"Error: unexpected {type(exc).__name__}: {exc}. This is a bug in moai-adk; "
            "re-run with --debug and report the traceback.", markup=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
