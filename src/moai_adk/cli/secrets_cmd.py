"""CLI wiring for ``moai-adk secrets keygen|set|get|list|rm|rotate|import`` (the work is in ``moai_adk.secrets``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import Config
from ..errors import UsageError
from ..secrets import ops, redact
from ..secrets.store import SecretStore
from .options import State, common, open_project

ENV_OPT = click.option("--env", "environment", required=True, metavar="ENVIRONMENT",
                       help="development, preview, staging, production or one from moai.toml.")


def _store(ctx: click.Context, environment: str, *, read: bool = True,
           extra: tuple[str, ...] = ()) -> tuple[State, SecretStore, dict[str, str]]:
    """The store of ``environment`` and its values; from here on, those values are redacted from all output."""
    st, cfg = open_project(ctx)
    redact.install(st.output, extra)
    store = ops.open_store(cfg, environment, st.environ)
    values = store.read() if read else {}
    redact.install(st.output, values.values())
    return st, store, values


def protect_environment(st: State, cfg: Config, environment: str) -> None:
    """For other commands (``env``): redact the environment's secrets when this user can read them."""
    try:
        values = ops.open_store(cfg, environment, st.environ).read()
    except Exception:  # noqa: BLE001 - no key or no store: nothing this user could print
        return
    redact.install(st.output, values.values())


def store_values(ctx: click.Context, environment: str) -> dict[str, str]:
    """The environment's secrets, decrypted in memory (for ``env push --secrets-from-store``)."""
    _, _, values = _store(ctx, environment)
    if not values:
        raise UsageError(f"The {environment} environment has no secrets in .moai/secrets/{environment}.age.",
                         hint=f"Add one with `moai-adk secrets set KEY --env {environment}`.")
    return values


@click.group("secrets")
def secrets_group() -> None:
    """Secrets encrypted in .moai/secrets/<env>.age, readable only with that environment's key."""


@secrets_group.command("keygen")
@ENV_OPT
@click.option("--name", "label", default=None, help="Who this key belongs to (default: user@host).")
@click.option("--force", is_flag=True, help="Replace the key you already have for this environment.")
@common
@click.pass_context
def keygen(ctx: click.Context, environment: str, label: str | None, force: bool) -> None:
    """Make your private key for ENVIRONMENT and add its public key to the recipients file."""
    st, store, _ = _store(ctx, environment, read=False)
    result = ops.keygen(store, label=label or ops.default_label(st.environ), force=force)
    if result["needs_rotate"]:
        st.output.warn(f"{result['recipients_file']} now lists your key, but {store.rel(store.path)} is not yet "
                       f"encrypted to it: commit the recipients file and ask a teammate who holds the {environment} "
                       f"key to run `moai-adk secrets rotate --env {environment}`.")

    def render(con: Console) -> None:
        con.print(f"Made a {environment} key; the private key is in {result['stored_in']}.")
        con.print(f"Public key (added to {result['recipients_file']}): {result['public_key']}")

    st.output.result(result, render)


@secrets_group.command("set")
@click.argument("key")
@click.argument("value", required=False, default="-")
@ENV_OPT
@common
@click.pass_context
def set_cmd(ctx: click.Context, key: str, value: str, environment: str) -> None:
    """Set secret KEY to VALUE ('-' or nothing reads it from stdin, keeping it out of shell history)."""
    if value == "-":
        if sys.stdin.isatty():
            value = click.prompt(f"Value of {key} ({environment})", hide_input=True, err=True)
        else:
            value = sys.stdin.read().rstrip("\n")
    st, store, _ = _store(ctx, environment, extra=(value,))
    result = ops.set_secret(store, key, value)
    verb = {"add": "Added", "change": "Changed", "unchanged": "Unchanged"}[result["action"]]
    st.output.result(result, lambda con: con.print(f"{verb} secret {key} ({environment}, {result['file']})."))


@secrets_group.command("get")
@click.argument("key")
@ENV_OPT
@click.option("--reveal", is_flag=True, help="Print the value itself (default: a mask).")
@common
@click.pass_context
def get_cmd(ctx: click.Context, key: str, environment: str, reveal: bool) -> None:
    """Show secret KEY of ENVIRONMENT (masked unless --reveal)."""
    st, store, _ = _store(ctx, environment)
    value = ops.get_secret(store, key)
    if reveal:
        data = {"environment": environment, "key": key, "value": value, "revealed": True}
        redact.reveal(json.dumps(data, indent=2) + "\n" if st.output.json else value + "\n")
        return
    data = {"environment": environment, "key": key, "value": redact.MASK, "revealed": False}
    st.output.result(data, lambda con: con.print(f"{key}={redact.MASK}  (hidden; add --reveal to print it)"))


@secrets_group.command("list")
@ENV_OPT
@common
@click.pass_context
def list_cmd(ctx: click.Context, environment: str) -> None:
    """List the secret names of ENVIRONMENT and who can read them (never the values)."""
    st, store, _ = _store(ctx, environment)
    result = ops.list_secrets(store)

    def render(con: Console) -> None:
        if not result["keys"]:
            con.print(f"No secrets for {environment} yet ({result['file']}).")
        else:
            table = Table("KEY", "VALUE")
            for k in result["keys"]:
                table.add_row(escape(k), redact.MASK)
            con.print(table)
        con.print(f"Recipients: {len(result['recipients'])} "
                  f"({', '.join(escape(r['label'] or r['public_key']) for r in result['recipients'])})")

    st.output.result(result, render)


@secrets_group.command("rm")
@click.argument("key")
@ENV_OPT
@common
@click.pass_context
def rm_cmd(ctx: click.Context, key: str, environment: str) -> None:
    """Remove secret KEY from ENVIRONMENT."""
    st, store, _ = _store(ctx, environment)
    result = ops.remove_secret(store, key)
    st.output.result(result, lambda con: con.print(f"Removed secret {key} ({environment}, {result['file']})."))


@secrets_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@ENV_OPT
@common
@click.pass_context
def import_cmd(ctx: click.Context, file: Path, environment: str) -> None:
    """Add every KEY=value of a .env FILE to ENVIRONMENT's secrets (a key given twice is refused)."""
    st, store, _ = _store(ctx, environment)
    path = file if file.is_absolute() else Path.cwd() / file
    if path.is_file():
        from ..envs import parse_dotenv

        try:
            redact.install(st.output, parse_dotenv(path.read_text(encoding="utf-8"), path).values())
        except Exception:  # noqa: BLE001 - import_file reports the problem with the file itself
            pass
    result = ops.import_file(store, path)
    st.output.result(result, lambda con: con.print(
        f"Imported {path.name} into {environment}: {len(result['added'])} added, {len(result['changed'])} changed, "
        f"{len(result['unchanged'])} unchanged."))


@secrets_group.command("rotate")
@ENV_OPT
@click.option("--add", "add", multiple=True, metavar="AGE1...", help="Add this public key as a recipient.")
@click.option("--remove", "remove", multiple=True, metavar="KEY|NAME", help="Remove this recipient.")
@common
@click.pass_context
def rotate_cmd(ctx: click.Context, environment: str, add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """Re-encrypt ENVIRONMENT's secrets to its recipients file (+ --add, - --remove)."""
    st, store, _ = _store(ctx, environment)
    result = ops.rotate(store, add=add, remove=remove)
    _, cfg = open_project(ctx)
    holders = ops.platforms_holding(cfg, st.environ, environment, result["keys"])
    result["platforms"] = holders
    stale = [h for h in holders if h.get("keys")]
    if result["removed"] and stale:
        st.output.warn("the removed recipients knew these values, and these platforms still hold them: "
                       + "; ".join(f"{h['platform']}: {', '.join(h['keys'])}" for h in stale)
                       + f". Change them (`moai-adk secrets set KEY --env {environment}`) and push them "
                         f"(`moai-adk env push --env {environment} --secrets-from-store`).")

    def render(con: Console) -> None:
        con.print(f"Re-encrypted {result['file']} to {len(result['recipients'])} recipient(s): "
                  f"{len(result['added'])} added, {len(result['removed'])} removed.")
        for h in holders:
            if h.get("error"):
                con.print(f"  {h['platform']}: could not check ({escape(h['error'])})")
            elif h["keys"]:
                con.print(f"  {h['platform']} still holds the old values of: {', '.join(h['keys'])}")
            else:
                con.print(f"  {h['platform']} holds none of these secrets.")

    st.output.result(result, render)


def register(cli: click.Group) -> None:
    """Add ``secrets`` and its subcommands to the root group."""
    cli.add_command(secrets_group)
