"""``moai-adk promote --from ENV --to ENV``: the rendering of deploy/promotion.py (wired in deploy_cmds)."""

from __future__ import annotations

import click
from rich.console import Console

from .. import workspace
from ..deploy.promotion import promote_between
from ..providers.base import Provider
from .options import open_project


def promote_environments(ctx: click.Context, source: str, target: str, dry_run: bool) -> None:
    st, cfg = open_project(ctx)

    def opener(platform: str) -> Provider:
        return workspace.open_provider(cfg, st.environ, platform)

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
