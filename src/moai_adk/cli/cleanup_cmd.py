"""CLI wiring for ``moai-adk cleanup``: the local platform's garbage collection.

Removes deployments that never finished uploading and are older than the
platform's upload lifetime (24 h by default, ``MOAI_PLATFORM_UPLOAD_TTL``
seconds where the platform runs), the stored files no deployment references,
and the nginx edge's trees of no ready deployment. Works inside a project (the
``[platforms.local]`` settings pick the platform) and outside one.

Inside a project whose preview deploys added URLs to its backends
(``.moai/backend/previews.json``), it first removes those of deployments that no
longer exist (``moai_adk.backend.previews.cleanup_previews``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from .options import common, state

if TYPE_CHECKING:
    from ..config import Config
    from ..providers.local import LocalProvider


def _provider(ctx: click.Context) -> tuple[LocalProvider, Config | None]:
    from .. import workspace
    from ..errors import ConfigError
    from ..providers.base import ProviderContext
    from ..providers.local import LocalProvider

    st = state(ctx)
    cfg: Config | None = None
    try:
        cfg = workspace.load_project(st.project_dir)
    except ConfigError as exc:
        if "No moai.toml" not in exc.message:
            raise
        pctx = ProviderContext(root=Path(st.project_dir), environ=st.environ)
    else:
        pctx = workspace.provider_context(cfg, "local", st.environ)
    provider = LocalProvider(pctx)
    ctx.call_on_close(provider.close)
    return provider, cfg


@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
@common
@click.pass_context
def cleanup(ctx: click.Context, dry_run: bool) -> None:
    """Remove interrupted deployments, unreferenced files and nginx trees from the local platform, and deleted
    previews' URLs from the project's backends."""
    st = state(ctx)
    provider, cfg = _provider(ctx)
    previews = None
    if cfg is not None:
        from ..backend.preview_record import load
        from ..backend.previews import cleanup_previews

        if load(cfg.root):
            previews = cleanup_previews(cfg, st.environ, dry_run=dry_run)
            for error in previews.errors:
                st.output.warn(f"Backend preview URLs not cleaned: {error}")
    result: dict[str, Any] = {"url": provider.url, **provider.cleanup(dry_run=dry_run),
                              "backend_previews": previews.to_json() if previews else None}

    def render(con: Console) -> None:
        verb = "Would remove" if dry_run else "Removed"
        expired = result["expired_deploys"]
        hours = result["upload_ttl"] / 3600
        con.print(f"{verb} {len(expired)} expired deployment(s) (unfinished for {hours:g} h or more), "
                  f"{result['blobs']:,} unreferenced file(s) ({result['bytes']:,} bytes) and "
                  f"{len(result['trees'])} nginx tree(s) on {provider.url}.")
        for d in expired:
            con.print(f"  {d['id']}  created {d['created_at']}")
        if previews is not None:
            con.print(f"{verb} {len(previews.removed)} deleted preview(s)' URL(s) from the backends "
                      f"({previews.kept} still in use).", markup=False)
            for e in previews.removed:
                con.print(f"  {e['backend']} {e.get('target')}: {e['value']} ({e.get('platform')} {e.get('deployment')})",
                          markup=False)

    st.output.result(result, render)


def register(cli: click.Group) -> None:
    cli.add_command(cleanup)
