"""[env.required] in moai.toml: the typed model, its errors, and the check of the build environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.config import RequiredVar, parse_config
from moai_adk.envs_files import read_local_env
from moai_adk.envs_required import RequiredEnvError, check_required, raise_failures
from moai_adk.errors import ConfigError

HEAD = '[project]\nname = "site"\n'


def test_the_table_reads_into_the_config(tmp_path: Path) -> None:
    cfg = parse_config(HEAD + '[env.required]\nAPI_URL = { environments = ["preview", "production"], '
                       'pattern = "^https://" }\nANY = {}\n', tmp_path / "moai.toml")
    assert cfg.required_env == [RequiredVar("API_URL", ("preview", "production"), "^https://"), RequiredVar("ANY")]
    assert cfg.required_env[0].applies_to("production") and not cfg.required_env[0].applies_to("staging")


@pytest.mark.parametrize(("body", "expected"), [
    ('"API-URL" = {}', "'API-URL' is not a variable name"),
    ('A = { pattern = "(" }', "env.required.A.pattern` is invalid: not a regular expression"),
    ('A = { environments = ["prodution"] }', "unknown environment(s) prodution"),
    ('A = { pattern = 3 }', "must be a string"),
])
def test_bad_entries_are_config_errors(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(HEAD + "[env.required]\n" + body + "\n", tmp_path / "moai.toml")
    assert expected in err.value.message and err.value.hint


def test_every_failure_is_listed_with_its_source(tmp_path: Path) -> None:
    cfg = parse_config(HEAD + '[env.required]\nA = { pattern = "^https://" }\nB = {}\nC = {}\nD = {}\n',
                       tmp_path / "moai.toml")
    (tmp_path / ".env").write_text("A=http://x\nD=1\n")
    report = check_required(cfg, "preview", shell={"C": "3"}, local=read_local_env(tmp_path, "preview"), store=None)
    assert {c.name: c.status for c in report.checks} == {"A": "mismatch", "B": "missing", "C": "ok", "D": "ok"}
    assert report.checks[2].sources == ["shell environment"] and report.checks[3].sources == [".env"]
    with pytest.raises(RequiredEnvError) as err:
        raise_failures(report, "moai.toml")
    assert "A does not match '^https://' in .env; B is missing" in err.value.message
    assert "the platform keeps no environment variables" in err.value.message
