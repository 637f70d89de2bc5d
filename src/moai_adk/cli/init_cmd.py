"""``moai-adk init``: flags -> project.scaffold -> a table (or --json) of the files written."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Mapping
from typing import TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import UsageError
from ..project import scaffold
from ..project.detect import Detection
from ..project.moaitoml import ProjectSettings
from ..project.platforms import INIT_PLATFORMS, hosts_sites
from ..project.scaffold import InitResult, Prepared
from .options import common, state
from .output import Output

_DRY = {"created": "would create", "updated": "would update", "kept": "would keep", "overwritten": "would overwrite"}
_STYLE = {"created": "green", "updated": "yellow", "kept": "dim", "overwritten": "red"}


def _interactive(yes: bool, json_mode: bool) -> bool:
    return not yes and not json_mode and sys.stdin.isatty()


def _describe(detection: Detection) -> str:
    if detection.framework is None:
        return "Detected: nothing recognised"
    return f"Detected: {detection.title} ({detection.evidence})"


T = TypeVar("T")


def _reprompt(check: Callable[[str], T]) -> Callable[[str], T]:
    """Turn our UsageError into click's BadParameter so a bad answer asks again."""

    def proc(value: str) -> T:
        try:
            return check(value)
        except UsageError as exc:
            raise click.BadParameter(exc.message) from exc

    return proc


def _platform_list(answer: str) -> list[str]:
    return scaffold.check_platforms([p for p in answer.replace(",", " ").split() if p])


def _ask(prepared: Prepared, settings: ProjectSettings, requested: list[str]) -> tuple[ProjectSettings, set[str], list[str]]:
    """Prompt for the values init will write; answers that change a value become overrides."""
    name = click.prompt("Project name", default=settings.name, value_proc=_reprompt(scaffold.check_name), err=True)
    command = click.prompt("Build command (empty: no build)", default=settings.build_command or "",
                           show_default=True, err=True).strip()
    output = click.prompt("Output folder", default=settings.output, err=True).strip() or "."
    if not requested and not prepared.existing_platforms:
        requested = click.prompt(f"Platforms ({', '.join(INIT_PLATFORMS)}); the first that hosts sites is the "
                                 "deploy default",
                                 default="local", err=True, value_proc=_reprompt(_platform_list))
    chosen = ProjectSettings(name, settings.framework, command or None, output)
    overrides = {key for key, old, new in (
        ("project.name", settings.name, name),
        ("build.command", settings.build_command or "", command),
        ("build.output", settings.output, output),
    ) if old != new}
    return chosen, overrides, requested


def _render(result: InitResult, console: Console, *, contents: bool = True) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("File")
    table.add_column("Action")
    table.add_column("Note", overflow="fold")
    for change in result.changes:
        label = _DRY[change.action] if result.dry_run else change.action
        path = change.path + ("/" if change.is_dir else "")
        table.add_row(path, f"[{_STYLE[change.action]}]{label}[/]", escape(change.note or ""))
    console.print(table)
    cfg = result.config
    backends = [name for name in cfg.platforms if not hosts_sites(name)]
    also = [name for name in cfg.platforms[1:] if name not in backends]
    console.print(f"\nProject '{cfg.name}': build {cfg.build_command or '(none)'} -> {cfg.output}; "
                  f"deploys to {cfg.platform}" + (f" (also: {', '.join(also)})" if also else "")
                  + (f"; backend: {', '.join(backends)}" if backends else ""))
    for note in result.notes:
        console.print(f"[yellow]Note:[/yellow] {escape(note)}")
    _render_links(result, console)
    if result.dry_run and contents:
        _render_contents(result, console)
        console.print("\nDry run: nothing was written.")


def _render_contents(result: InitResult, console: Console) -> None:
    for change in result.changes:
        if not change.writes or change.content is None:
            continue
        new = change.content.decode("utf-8", errors="replace")
        console.rule(f"{change.path} ({_DRY[change.action]})")
        if change.old is not None and change.action == "updated":
            old = change.old.decode("utf-8", errors="replace")
            diff = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{change.path}", f"b/{change.path}",
                                        lineterm="")
            console.print("\n".join(diff), markup=False)
        else:
            console.print(new.rstrip("\n"), markup=False)


def _link(result: InitResult, environ: Mapping[str, str], out: Output, wanted: bool | None) -> None:
    """``--link``: link every platform; ``--no-link``: none; neither: the cloud platforms
    whose credentials are in the environment."""
    from ..project.link import link_after_init

    if wanted:
        out.info(("Would link: " if result.dry_run else "Linking: ") + ", ".join(result.config.platforms))
    result.links = link_after_init(result.root, result.config, environ, wanted, dry_run=result.dry_run)


def _render_links(result: InitResult, console: Console) -> None:
    for item in result.links or []:
        name = item.get("platform")
        if item.get("reason"):
            console.print(f"{name}: not linked ({escape(str(item['reason']))})")
            continue
        what = item.get("id") or item.get("name") or ""
        verb = "would create" if item.get("dry_run") else ("created and linked" if item.get("created") else "linked")
        console.print(f"{name}: {verb} {what}" + (f" -> {item['file']}" if item.get("file") else ""))


def register(cli: click.Group) -> None:
    """Add ``init`` to the root group."""

    @cli.command("init")
    @click.option("--baas", "platforms", multiple=True, metavar="PLATFORM",
                  help=f"Platform to set up ({', '.join(INIT_PLATFORMS)}); repeat for several. The first "
                       "that hosts sites is the default for `deploy` (local when none does: supabase is a backend).")
    @click.option("--name", default=None, help="Project name (default: package.json name or the folder name).")
    @click.option("--example", default=None, metavar="NAME",
                  help="First copy an example site shipped with moai-adk into the folder (e.g. hello-site).")
    @click.option("--link/--no-link", "link", default=None,
                  help="Link (or create) the project/site on each platform. Default: link the cloud "
                       "platforms whose token is set (VERCEL_TOKEN, NETLIFY_AUTH_TOKEN, ...).")
    @click.option("-y", "--yes", is_flag=True, help="Accept the detected values; ask nothing.")
    @click.option("--force", is_flag=True, help="Overwrite existing files instead of merging into them.")
    @click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
    @common
    @click.pass_context
    def init(ctx: click.Context, platforms: tuple[str, ...], name: str | None, example: str | None,
             link: bool | None, yes: bool, force: bool, dry_run: bool) -> None:
        """Set up moai.toml and each platform's config files in the project folder.

        Detects the framework (Vite, Next.js export, Astro, SvelteKit, Hugo, Jekyll or a
        plain static folder), then writes moai.toml, vercel.json, netlify.toml,
        firebase.json + .firebaserc, supabase/config.toml as the chosen platforms need,
        and adds .gitignore entries. Re-running keeps your edits.
        """
        st = state(ctx)
        out = st.output
        requested = scaffold.check_platforms(list(platforms))
        if name is not None:
            scaffold.check_name(name)
        prepared = scaffold.prepare(st.project_dir, example=example, force=force, dry_run=dry_run)
        settings = prepared.defaults
        overrides: set[str] = set()
        if name is not None:
            settings = ProjectSettings(name, settings.framework, settings.build_command, settings.output)
            overrides.add("project.name")
        interactive = _interactive(yes, out.json)
        if not out.json:
            out.info(_describe(prepared.detection))
        if interactive:
            for note in prepared.detection.notes:
                out.warn(note)
            settings, asked, requested = _ask(prepared, settings, requested)
            overrides |= asked
        result = scaffold.plan_init(prepared, settings, requested, overrides=overrides, force=force,
                                    dry_run=dry_run or interactive)
        if interactive and not dry_run:
            _render(result, out.err, contents=False)
            writes = sum(c.writes for c in result.changes)
            if writes and not click.confirm("Write these files?", default=True, err=True):
                raise click.exceptions.Abort()
            result.dry_run = False
            scaffold.apply_init(result)
            _link(result, st.environ, out, link)

            def done(console: Console) -> None:
                console.print(f"Wrote {writes} file(s) in {result.root}." if writes else "Everything is up to date.")
                _render_links(result, console)

            out.result(result.as_dict(), done)
            return
        scaffold.apply_init(result)
        _link(result, st.environ, out, link)
        out.result(result.as_dict(), lambda console: _render(result, console))
