"""Local .env files: python-dotenv's syntax, the documented precedence, duplicate keys named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.envs_files import SHELL, parse_dotenv, read_local_env
from moai_adk.errors import ConfigError


def test_three_files_later_ones_win_and_the_shell_wins_over_all(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=base\nB=base\nC=base\nD=base\n")
    (tmp_path / ".env.production").write_text("B=prod\nC=prod\n")
    (tmp_path / ".env.production.local").write_text("C=mine\n")
    (tmp_path / ".env.staging").write_text("A=staging\n")  # another environment's file is not read
    local = read_local_env(tmp_path, "production")
    assert local.values == {"A": "base", "B": "prod", "C": "mine", "D": "base"}
    assert local.sources == {"A": ".env", "B": ".env.production", "C": ".env.production.local", "D": ".env"}
    assert local.files == [".env", ".env.production", ".env.production.local"]
    shell = {"D": "shell"}
    assert local.build_environ(shell) == {"A": "base", "B": "prod", "C": "mine", "D": "shell"}
    assert local.source_of("D", shell) == SHELL and local.source_of("C", shell) == ".env.production.local"
    assert read_local_env(tmp_path, "development").values == {"A": "base", "B": "base", "C": "base", "D": "base"}


def test_duplicate_keys_are_named_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\n# c\nB=2\nA=3\nB=4\nA=5\n")
    with pytest.raises(ConfigError) as err:
        read_local_env(tmp_path, "preview")
    assert "A on lines 1, 4, 6" in err.value.message and "B on lines 3, 5" in err.value.message
    assert str(path) in err.value.message and err.value.hint


def test_python_dotenv_syntax(tmp_path: Path) -> None:
    text = 'export A=1\nB = two # comment\nC="multi\nline"\nD=\n'
    assert parse_dotenv(text, tmp_path / ".env") == {"A": "1", "B": "two", "C": "multi\nline", "D": ""}
    with pytest.raises(ConfigError) as err:
        parse_dotenv("A=1\nKEYONLY\n", tmp_path / ".env")
    assert ".env:2" in err.value.message
