"""CLI wiring for ``moai-adk db sync`` and ``moai-adk db forget`` (services: db/sync.py, db/forget.py)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..errors import UsageError
from .db_cmd import _project, _service
from .options import State, common, state


def _side(st: State, env: str | None, url: str | None, flag: str) -> tuple[Path, object]:
    if env and url:
        raise UsageError(f"Pass either --{flag} or --{flag}-url, not both.", hint="Drop one of the two flags.")
    if not env and not url:
        raise UsageError(f"No {flag} database given: pass --{flag} <environment> or --{flag}-url <postgresql://...>.",
                         hint="moai-adk db sync --from staging --to development --anonymize db/anonymize.toml")
    root, cfg = _project(st, need_config=bool(env))
    return root, _service("connect").resolve_target(cfg, env, url, st.environ)


def _key(root: Path, st: State) -> bytes:
    anonymize = _service("anonymize")
    return bytes(anonymize.derive_key(anonymize.project_secret(root, st.environ)))


@click.command("sync")
@click.option("--from", "from_env", default=None, metavar="ENV", help="Environment to copy from.")
@click.option("--to", "to_env", default=None, metavar="ENV", help="Environment to copy into (its tables are replaced).")
@click.option("--from-url", default=None, metavar="URL", help="Source PostgreSQL URL instead of an environment's.")
@click.option("--to-url", default=None, metavar="URL", help="Target PostgreSQL URL instead of an environment's.")
@click.option("--tables", default=None, metavar="A,B", help="Tables to copy (default: every table of schema public).")
@click.option("--anonymize", "rules", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file of anonymisation rules: [table] column = \"hash|email|name|null|fixed:<v>|keep\".")
@click.option("--allow-pii", is_flag=True, help="Copy personal-looking columns that have no rule as they are.")
@click.option("--allow-production-target", is_flag=True, help="Allow production as the target.")
@click.option("--dry-run", is_flag=True, help="Show the tables in copy order, row counts and rules; change nothing.")
@common
@click.pass_context
def db_sync(ctx: click.Context, from_env: str | None, to_env: str | None, from_url: str | None, to_url: str | None,
            tables: str | None, rules: Path | None, allow_pii: bool, allow_production_target: bool,
            dry_run: bool) -> None:
    """Copy tables from one environment's database into another's with COPY, anonymised in-stream.

    The target's tables are emptied and filled in one transaction: a failure leaves it as it was."""
    st = state(ctx)
    root, source = _side(st, from_env, from_url, "from")
    _, target = _side(st, to_env, to_url, "to")
    sync = _service("sync")
    rules_path = st.project_dir / rules if rules is not None else None
    loaded = _service("anonymize").load_rules(rules_path) if rules_path is not None else None
    names = [n.strip() for n in tables.split(",") if n.strip()] if tables else None
    req = sync.SyncRequest(source=source, target=target, tables=names, rules=loaded,
                           rules_path=str(rules) if rules else "--anonymize",
                           key=_key(root, st) if loaded else None, allow_pii=allow_pii,
                           allow_production_target=allow_production_target, dry_run=dry_run)
    result = sync.sync(req, root=root, ui=st.output, environ=st.environ)

    def render(con: Console) -> None:
        table = Table("Table", "Rows", "Anonymised columns")
        for t in result.tables:
            rows = f"{t.rows:,}" if t.exact else f"~{t.rows:,} (estimate)"
            table.add_row(t.name, rows, ", ".join(f"{c}: {r}" for c, r in t.rules.items()) or "-")
        con.print(table)
        if dry_run:
            con.print(f"Dry run: would replace these tables of {result.target} with the rows of {result.source}, "
                      "in this order.")
        else:
            con.print(f"Copied {result.rows:,} row(s) from {result.source} to {result.target} in "
                      f"{result.seconds:.1f} s.")
    st.output.result(result.to_json(), render)


@click.command("forget")
@click.option("--env", "env", default=None, metavar="ENV", help="Environment whose database to erase from.")
@click.option("--db-url", default=None, metavar="URL", help="PostgreSQL URL instead of an environment's.")
@click.option("--subject", required=True, metavar="ID_OR_EMAIL", help="The person: a value of subject_columns.")
@click.option("--anonymize", is_flag=True, help="Anonymise the person's rows instead of deleting them.")
@click.option("--yes", is_flag=True, help="Confirm a change to production.")
@click.option("--dry-run", is_flag=True, help="Count the rows that would change; change nothing.")
@common
@click.pass_context
def db_forget(ctx: click.Context, env: str | None, db_url: str | None, subject: str, anonymize: bool, yes: bool,
              dry_run: bool) -> None:
    """Erase one person's rows across the tables of [db.privacy] in moai.toml, in one transaction (audited)."""
    st = state(ctx)
    root, cfg = _project(st, need_config=True)
    target = _service("connect").resolve_target(cfg, env, db_url, st.environ)
    forget = _service("forget")
    where = str(cfg.path) if cfg is not None and cfg.path else "moai.toml"
    privacy = forget.Privacy.from_config(cfg.db_privacy if cfg is not None else None, root, where)
    result = forget.forget(root, target, privacy, subject, key=_key(root, st), anonymize=anonymize,
                           dry_run=dry_run, yes=yes, environ=st.environ)

    def render(con: Console) -> None:
        verb = ("Would anonymise" if anonymize else "Would delete") if dry_run else \
            ("Anonymised" if anonymize else "Deleted")
        if not result.found:
            con.print(f"No row of {privacy.subject_table} matches --subject; nothing to erase on {result.target}.")
            return
        table = Table("Table", "Rows")
        for name, count in result.counts.items():
            table.add_row(name, str(count))
        con.print(table)
        con.print(f"{verb} {sum(result.counts.values())} row(s) on {result.target} "
                  f"(audit names the subject by hash {result.subject_hash[:16]}...).")
    st.output.result(result.to_json(), render)


def attach(group: click.Group) -> None:
    group.add_command(db_sync)
    group.add_command(db_forget)
