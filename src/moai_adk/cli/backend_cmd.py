"""CLI wiring for ``moai-adk backend plan|apply`` (the work is in ``moai_adk.backend``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from .options import State, common, open_project


def _render_plan(con: Console, data: dict[str, Any], summary: str) -> None:
    for change in data["changes"]:
        sign = {"add": "+", "change": "~", "remove": "-"}[change["action"]]
        line = f"{sign} {change['kind']} {change['name']}"
        if change["action"] == "add":
            line += f" = {json.dumps(change['after'], default=str)}"
        elif change["action"] == "change":
            line += f": {json.dumps(change['before'], default=str)} -> {json.dumps(change['after'], default=str)}"
        con.print(line + ("   (destructive)" if change["destructive"] else ""), markup=False, highlight=False)
    for note in data.get("notes", []):
        con.print(f"Note: {note}", markup=False, highlight=False)
    con.print(summary, markup=False, highlight=False)


def _open(ctx: click.Context, name: str | None, environment: str) -> tuple[State, Any]:
    from ..backend import open_backend

    st, cfg = open_project(ctx)
    backend = open_backend(cfg, name, environment, st.environ)
    ctx.call_on_close(backend.close)
    return st, backend


def _backend_options(fn: Any) -> Any:
    fn = click.option("--backend", "name", default=None, metavar="NAME",
                      help="supabase or firebase (default: the only [backend.<name>] in moai.toml).")(fn)
    fn = click.option("--env", "environment", required=True, metavar="ENV",
                      help="Environment whose backend to read and change.")(fn)
    return fn


@click.group("backend")
def backend_group() -> None:
    """Backends as code: plan and apply each environment's Supabase or Firebase backend from moai.toml."""


@backend_group.command("plan")
@_backend_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the plan to FILE, for `backend apply --plan FILE` (secret values are never written).")
@common
@click.pass_context
def backend_plan(ctx: click.Context, environment: str, name: str | None, out: Path | None) -> None:
    """Read the live backend and show what apply would add, change or remove (changes nothing)."""
    from ..backend import make_plan
    from ..fsutil import atomic_write

    st, backend = _open(ctx, name, environment)
    plan = make_plan(backend)
    data = plan.to_json()
    if out is not None:
        atomic_write(out, (json.dumps(data, indent=2) + "\n").encode())
    st.output.result(data, lambda con: _render_plan(con, data, plan.summary()))


@backend_group.command("apply")
@_backend_options
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Apply this saved plan (from `backend plan --out`), only if it still matches the live backend.")
@click.option("--allow-destructive", is_flag=True, help="Also remove buckets, indexes and other things that hold data.")
@click.option("--dry-run", is_flag=True, help="Show the plan without applying it.")
@click.option("--yes", "confirmed", is_flag=True,
              help="Apply although the plan asks for consent (another environment shares the project).")
@common
@click.pass_context
def backend_apply(ctx: click.Context, environment: str, name: str | None, plan_file: Path | None,
                  allow_destructive: bool, dry_run: bool, confirmed: bool) -> None:
    """Apply the plan: make the live backend what moai.toml declares (a second apply changes nothing)."""
    from ..backend import apply_plan
    from ..errors import UsageError

    saved = None
    if plan_file is not None:
        try:
            saved = json.loads(plan_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--plan {plan_file} is not a plan file ({exc}).",
                             hint="Write one with `moai-adk backend plan --env ENV --out FILE`.") from exc
    st, backend = _open(ctx, name, environment)
    result = apply_plan(backend, allow_destructive=allow_destructive, dry_run=dry_run, saved=saved,
                        confirmed=confirmed)
    data = result.to_json()
    plan = result.plan
    if dry_run:
        summary = "Dry run: " + plan.summary() + (" Nothing was applied." if plan.changes else "")
    elif plan.changes:
        summary = f"Applied {len(result.applied)} change(s) to the {plan.backend} backend of {plan.environment} " \
                  f"({plan.target}); it now matches moai.toml."
    else:
        summary = plan.summary() + " Nothing to apply."
    st.output.result(data, lambda con: _render_plan(con, data, summary))


def register(cli: click.Group) -> None:
    """Add ``backend`` to the root group."""
    cli.add_command(backend_group)
