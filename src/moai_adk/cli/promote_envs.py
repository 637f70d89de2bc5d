"""``moai-adk promote --from ENV --to ENV``: the rendering of deploy/promotion.py (wired in deploy_cmds)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from .. import workspace
from ..deploy.promotion import promote_between
from ..providers.base import Provider
from .options import open_project


def promote_environments(ctx: click.Context, source: str, target: str, dry_run: bool) -> None:
    st, cfg = open_project(ctx)

    def opener(platform: str) -> Provider:
        provider = workspace.open_provider(cfg, st.environ, platform)
        if platform == cfg.platform_for(target):  # the side that changes: the access rules first
            from ..access import gate

            try:
                gate(provider, cfg.root, st.environ, target, "promote")
            except BaseException:
                provider.close()
                raise
        return provider

    result = promote_between(cfg, source, target, opener, dry_run=dry_run, environ=st.environ, ui=st.output)
    data = result.to_json()

    def render(con: Console) -> None:
        how = ("the same deployment" if result.mode == "same-deployment"
               else "the same snapshot, uploaded again by hash (nothing rebuilt)")
        if result.dry_run:
            con.print(f"Dry run: would promote {result.source_deployment} from {source} to {target} on "
                      f"{result.platform} as {how}.")
        else:
            con.print(f"Promoted {result.source_deployment} from {source} to {target} on {result.platform} "
                      f"({result.mode}: {how}).")
            if data["deployment_id"] != result.source_deployment:
                con.print(f"{target} now serves {data['deployment_id']}.")
        if result.requires:
            con.print(f"Requirement met: it passed its health check in {result.requires['environment']} "
                      f"({result.requires['checked_at']}).")
        for note in result.notes:
            con.print(note, markup=False, highlight=False)
        if data["url"]:
            con.print(f"URL:    {data['url']}")
        if result.health:
            con.print(f"Health: {result.health}")

    st.output.result(data, render)


def environments_table(rows: list[dict[str, Any]]) -> Table:
    """``moai-adk status``'s environments, side by side."""
    table = Table("environment", "platform", "deployment", "commit", "deployed", "by", "health", "migrations")
    table.add_column("url", overflow="fold")
    for r in rows:
        commit = (r["commit"] or "")[:8] + ("+dirty" if r["dirty"] else "")
        when = str(r["deployed_at"] or "").replace("T", " ")[:16]
        pending = r["pending_migrations"]
        migrations = "" if pending is None else f"{pending} pending" if isinstance(pending, int) else str(pending)
        deployment = r["deployment"] or ("?" if r["error"] else "-")
        table.add_row(r["environment"], r["platform"], deployment, commit, when, r["deployed_by"] or "",
                      r["health"] or (r["error"] or ""), migrations, r["url"] or "")
    return table


def environment_rows(ctx: click.Context) -> list[dict[str, Any]]:
    from ..deploy.status import environments_status

    st, cfg = open_project(ctx)
    return environments_status(cfg, st.environ, lambda platform: workspace.open_provider(cfg, st.environ, platform))
