"""Every command of the CLI, run with known secret values in the secrets store and in the environment
against a real local platform, prints none of them (plain, base64 or URL-encoded): stdout and stderr, with and
without --json, and --debug tracebacks of failing runs.

The commands come from walking click's command tree, so a new command is covered as soon as it exists:
without an entry in ``ARGS`` this test fails and names it."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import click

from moai_adk.cli.main import cli
from tests.conftest import RunningPlatform
from tests.db.conftest import admin, db_url  # noqa: F401 - fixtures

from .conftest import Run

STORE_SECRET = "store-sekret-9f8e7d6c5b4a"  # in .moai/secrets/production.age
ENV_SECRET = "env-sekret-1a2b3c4d5e6f"  # STRIPE_SECRET_KEY in the environment
DB_PASSWORD = "dbpass-77aa88bb99cc"  # the password in PROD_DB_URL

# command -> (arguments, exit codes that are fine, folder: "root" | "fresh"). Placeholders: {dep} the production
# deployment, {preview} another one, {tmp} the test's folder, {port} the platform's (busy) port. Exit codes other than these fail the test.
ARGS: dict[str, list[tuple[tuple[str, ...], set[int], str]]] = {
    "access grant": [(("ci@example.com", "deployer", "--env", "staging", "--dry-run"), {0}, "root")],
    "access list": [((), {0}, "root")],
    "access revoke": [(("nobody@example.com", "--dry-run"), {0, 2}, "root")],
    "audit digest": [((), {0, 1}, "root")],
    "backend apply": [(("--env", "production", "--dry-run"), {2}, "root")],  # the project declares no backend
    "backend plan": [(("--env", "production"), {2}, "root")],
    "monitor probe": [(("--env", "production", "--runs", "2"), {0}, "root")],
    "link supabase": [(("--to", "local", "--env", "production", "--dry-run"), {1}, "root")],  # no Supabase project
    "link firebase": [(("--to", "local", "--env", "production", "--dry-run"), {1}, "root")],  # no Firebase project
    "audit log": [((), {0}, "root")],
    "audit verify": [((), {0}, "root")],
    "canary": [(("{preview}", "--percent", "10", "--dry-run"), {0}, "root")],
    "channels delete": [(("x", "--dry-run"), {0}, "root")],
    "channels list": [((), {1}, "root")],
    "cleanup": [(("--dry-run",), {0}, "root")],
    "db backup": [(("--env", "production", "--dry-run"), {0, 1}, "root")],
    "db diff": [(("--env", "production"), {0, 1}, "root")],
    "db forget": [(("--env", "production", "--subject", "ann@example.com", "--dry-run"), {1}, "root")],
    "db inspect": [(("--env", "production"), {0}, "root")],
    "db backups list": [((), {0}, "root")],
    "db backups prune": [(("--dry-run",), {0}, "root")],
    "db backups verify": [(("--env", "production", "--dry-run"), {0, 1}, "root")],
    "db lint": [((), {0, 1}, "root")],
    "db migration list": [(("--env", "production"), {0}, "root")],
    "db migration new": [(("add_things",), {0, 1}, "root")],  # twice in one second: "already exists"
    "db migration repair": [(("20240101000001", "--status", "reverted", "--env", "production", "--dry-run"),
                             {0}, "root")],
    "db pull": [(("--env", "production", "--dry-run"), {0, 1}, "root")],
    "db push": [(("--env", "production", "--dry-run"), {0}, "root")],
    "db sync": [(("--from", "production", "--to-url", "postgresql://127.0.0.1:1/none", "--dry-run"), {1}, "root")],
    "db restore": [(("{tmp}/missing.dump", "--env", "production", "--dry-run"), {1, 2}, "root")],
    "deploy": [(("--prod",), {0}, "root")],
    "deployments": [((), {0}, "root")],
    "env diff": [(("--env", "production", "--env", "preview"), {0}, "root")],
    "env list": [(("--env", "production"), {0}, "root")],
    "env pull": [(("--env", "production", "--file", "{tmp}/pulled.env"), {0}, "root")],
    "env push": [(("--env", "production", "--secrets-from-store"), {0}, "root")],
    "env set": [(("LEAK", STORE_SECRET, "--env", "production"), {0}, "root")],
    "env unset": [(("NOPE", "--env", "production"), {2}, "root")],
    "functions delete": [(("x", "--dry-run"), {0}, "root")],
    "functions deploy": [(("--dry-run",), {2}, "root")],
    "functions list": [((), {1}, "root")],
    "init": [(("--yes", "--no-link"), {0}, "fresh")],
    "platform audit": [(("--limit", "5"), {0}, "root")],
    "platform serve": [(("--port", "{port}"), {2}, "root")],
    "platform status": [((), {0}, "root")],
    "platform token": [(("--role", "viewer", "--label", "redaction"), {0}, "root")],
    "promote": [(("{dep}",), {0}, "root"), (("--from", "staging", "--to", "production", "--dry-run"), {0, 1}, "root")],
    "rollback": [(("--dry-run",), {0}, "root")],
    "secrets get": [(("STORE_TOKEN", "--env", "production"), {0}, "root")],
    "secrets import": [(("{tmp}/import.env", "--env", "production"), {0}, "root")],
    "secrets keygen": [(("--env", "staging"), {0, 2}, "root")],
    "secrets list": [(("--env", "production"), {0}, "root")],
    "secrets rm": [(("IMPORTED", "--env", "production"), {0, 2}, "root")],
    "secrets rotate": [(("--env", "production"), {0}, "root")],
    "secrets set": [(("STORE_TOKEN", STORE_SECRET, "--env", "production"), {0}, "root")],
    "status": [((), {0}, "root")],
    "traffic": [((), {0}, "root")],
}

# failing runs with --debug: their messages (and tracebacks) would carry a value
FAILING: list[tuple[tuple[str, ...], int, str]] = [
    (("env", "push", "--env", "production", "--file", "{tmp}/bad.env", "--debug"), 1, "root"),
    (("secrets", "set", "bad-name", STORE_SECRET, "--env", "production", "--debug"), 2, "root"),
    (("secrets", "import", "{tmp}/bad.env", "--env", "production", "--debug"), 1, "root"),
    (("deploy", "--prod", "--debug"), 1, "failing"),
    (("deploy", "--prod", "--debug", "--json"), 1, "failing"),
    (("env", "set", "X", ENV_SECRET, "--env", "nowhere", "--debug"), 1, "root"),
]


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    found = cli.load_all() if group is cli else group.commands  # the root group imports commands lazily
    for name, command in sorted(found.items()):
        if isinstance(command, click.Group):
            out += commands(command, (*prefix, name))
        else:
            out.append(" ".join((*prefix, name)))
    return out


def forms(value: str) -> list[str]:
    """The value, its encoded forms, and every 12 characters of it (a message that cuts a value short)."""
    raw = value.encode()
    return [value, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="),
            urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
            *(value[i:i + 12] for i in range(len(value) - 11))]


def test_every_command_has_arguments_in_the_table() -> None:
    missing = [c for c in commands(cli) if c not in ARGS]
    assert missing == [], f"add these commands to ARGS in {__file__}: {missing}"
    assert sorted(ARGS) == commands(cli), "ARGS names a command that no longer exists"


def test_no_command_prints_a_secret_value(moai: Run, tmp_path: Path, local_platform: RunningPlatform,
                                          db_url: str) -> None:  # noqa: F811
    site = local_platform.new_site("everycmd")
    root, fresh, failing = tmp_path / "p", tmp_path / "fresh", tmp_path / "failing"
    for folder in (root, fresh, failing):
        folder.mkdir()
        (folder / "index.html").write_text("<h1>hi</h1>")
    toml = (f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "local"\n\n[environments.production]\n'
            'db_url_env = "PROD_DB_URL"\n\n[build]\n')
    (root / "moai.toml").write_text(toml + 'command = "mkdir -p out && cp index.html out/ && echo key=$STRIPE_SECRET_KEY"'
                                           '\noutput = "out"\n')
    (failing / "moai.toml").write_text(toml + 'command = "echo key=$STRIPE_SECRET_KEY && exit 3"\noutput = "out"\n')
    (tmp_path / "import.env").write_text(f"IMPORTED={STORE_SECRET}-imported\n")
    (tmp_path / "bad.env").write_text(f"this line holds {ENV_SECRET} and {STORE_SECRET} but no equals sign\n")
    with_password = db_url.replace("://", f"://postgres:{DB_PASSWORD}@", 1) if "@" not in db_url else db_url
    env = local_platform.environ(STRIPE_SECRET_KEY=ENV_SECRET, PROD_DB_URL=with_password)
    secrets = [STORE_SECRET, ENV_SECRET, DB_PASSWORD, local_platform.token]
    printed: list[tuple[str, str]] = []
    folders = {"root": root, "fresh": fresh, "failing": failing}

    def run(args: tuple[str, ...], codes: set[int], where: str, stdin: str | None = None) -> str:
        filled = tuple(a.format(dep=dep, preview=preview, tmp=tmp_path, port=local_platform.port) for a in args)
        r = moai(*filled, cwd=folders[where], env=env, stdin=stdin)
        if r.returncode not in codes or "This is a bug" in r.stderr:
            wrong.append((filled, r.returncode, r.stderr[-300:]))
        printed.append((" ".join(filled), r.stdout + r.stderr))
        return r.stdout

    dep = preview = ""
    wrong: list[tuple[tuple[str, ...], int, str]] = []
    for setup in (("secrets", "keygen", "--env", "production"),
                  ("secrets", "set", "STORE_TOKEN", STORE_SECRET, "--env", "production")):
        run(setup, {0}, "root")
    dep = json.loads(run(("deploy", "--prod", "--json"), {0}, "root"))["deployment_id"]
    preview = json.loads(run(("deploy", "--env", "preview", "--json"), {0}, "root"))["deployment_id"]
    run(("env", "set", "LEAK", STORE_SECRET, "--env", "production"), {0}, "root")  # a readable copy, listed

    for command in commands(cli):
        for args, codes, where in ARGS[command]:
            for extra in ((), ("--json",)):
                run((*command.split(), *args, *extra), codes, where)
    for args, code, where in FAILING:
        run(args, {code}, where)

    assert wrong == [], "\n".join(map(repr, wrong))  # each command ran as the table expects (the table's arguments are valid)
    leaks = [(cmd, s) for cmd, text in printed for value in secrets for s in forms(value) if s in text]
    assert leaks == [], leaks[:5]
    everything = "\n".join(text for _, text in printed)
    assert "Traceback (most recent call last)" in everything  # --debug printed tracebacks, redacted
    assert "key=********" in everything  # the build output went through the filter
    assert "bad.env:1: expected KEY=value, found a line of" in everything
