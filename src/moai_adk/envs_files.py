"""Local ``.env`` files, read with python-dotenv's parser.

For an environment ``<env>`` three files next to ``moai.toml`` are read, later ones winning:

    .env                  shared defaults (usually committed)
    .env.<env>            values of that environment (may be committed)
    .env.<env>.local      your machine's values and secrets (never committed; `env pull` writes it)

and the variables of the shell running moai-adk win over all three (as python-dotenv's
``load_dotenv`` does without ``override``). Values are taken literally: ``${VAR}`` is not expanded.
A line that is not ``KEY=value`` and a key set twice in one file are errors naming the lines.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv.parser import parse_stream

from .errors import ConfigError

ENV_FILE_NAMES = (".env", ".env.{env}", ".env.{env}.local")  # lowest precedence first
SHELL = "shell environment"


def parse_dotenv(text: str, path: Path) -> dict[str, str]:
    """``KEY=value`` lines of ``text`` (read from ``path``, named in errors) in file order."""
    values: dict[str, str] = {}
    first_line: dict[str, int] = {}
    twice: dict[str, list[int]] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error or (binding.key is not None and binding.value is None):
            text = binding.original.string.strip()
            found = text.splitlines()[0] if text else ""
            what = "an '=' sign" if "=" in found else "no '=' sign"
            # the text itself is never quoted: a line of a .env file may hold a secret, and a quote cut
            # short would show part of it where no redaction can recognise it
            raise ConfigError(f"{path}:{line}: expected KEY=value, found a line of {len(found)} characters with "
                              f"{what} that is not one (an unclosed quote also ends up here).",
                              hint=f"Fix or delete line {line} of {path}.")
        if binding.key is None:  # a comment or a blank line
            continue
        key = binding.key
        if key in first_line:
            twice.setdefault(key, [first_line[key]]).append(line)
        else:
            first_line[key] = line
        values[key] = binding.value or ""
    if twice:
        listed = "; ".join(f"{key} on lines {', '.join(map(str, lines))}" for key, lines in twice.items())
        raise ConfigError(f"{path} sets the same key more than once: {listed}.",
                          hint=f"Keep one line per key in {path} (delete the others).")
    return values


def read_dotenv(path: Path) -> dict[str, str]:
    """The file's variables; a missing file has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}.", hint="Check the file's permissions and encoding (UTF-8).") from exc
    return parse_dotenv(text, path)


@dataclass
class LocalEnv:
    """The merged ``.env`` files of one environment and which file gave each value."""

    environment: str
    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # key -> file name
    files: list[str] = field(default_factory=list)  # the files that exist, lowest precedence first

    def build_environ(self, shell: Mapping[str, str]) -> dict[str, str]:
        """What the build command runs with: the files' variables under the shell's."""
        return {**self.values, **shell}

    def source_of(self, key: str, shell: Mapping[str, str]) -> str | None:
        if key in shell:
            return SHELL
        return self.sources.get(key)


def env_file_paths(root: Path, environment: str) -> list[Path]:
    return [root / name.format(env=environment) for name in ENV_FILE_NAMES]


def read_local_env(root: Path, environment: str) -> LocalEnv:
    """``.env``, ``.env.<environment>`` and ``.env.<environment>.local`` of ``root``, merged."""
    local = LocalEnv(environment=environment)
    for path in env_file_paths(root, environment):
        if not path.is_file():
            continue
        local.files.append(path.name)
        for key, value in read_dotenv(path).items():
            local.values[key] = value
            local.sources[key] = path.name
    return local
