"""Every CLI command is documented: a new command without docs fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from moai_adk.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    commands = cli.load_all() if group is cli else group.commands
    for name, command in commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, path)
        else:
            yield path


def docs_text() -> str:
    parts = [(ROOT / "README.md").read_text()]
    parts += [p.read_text() for p in sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(parts)


def test_every_command_is_documented() -> None:
    text = docs_text()
    missing = [" ".join(p) for p in command_paths(cli) if f"moai-adk {' '.join(p)}" not in text
               and f"`{' '.join(p)}`" not in text]
    assert not missing, f"commands missing from README.md/docs: {missing}"


def test_every_command_has_help_text() -> None:
    undocumented = []
    for path in command_paths(cli):
        cmd: click.Command = cli
        for name in path:
            assert isinstance(cmd, click.Group)
            cmd = cmd.commands[name]
        if not (cmd.help or "").strip():
            undocumented.append(" ".join(path))
    assert not undocumented


def test_readme_names_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "scripts/demo" in readme and "scripts/test" in readme
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
