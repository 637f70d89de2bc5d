from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.config import find_config, load_config
from moai_adk.errors import ConfigError

GOOD = """\
# my project
[project]
name = "shop"

[build]
command = "npm run build"
output = "dist"

[deploy]
platforms = ["vercel", "local"]
health_check = "/healthz"

[environments.production]
platform = "netlify"
db_url_env = "PROD_DB_URL"

[platforms.vercel]
team = "acme"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "moai.toml"
    p.write_text(text)
    return p


def test_valid_config(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.name == "shop"
    assert cfg.output_dir == (tmp_path / "dist").resolve()
    assert cfg.platform == "vercel" and cfg.platforms == ["vercel", "local"]
    assert cfg.platform_for("production") == "netlify"
    assert cfg.platform_for("preview") == "vercel"
    assert cfg.environment("production").db_url_env == "PROD_DB_URL"
    assert cfg.settings_for("vercel") == {"team": "acme"}
    assert cfg.health_check == "/healthz"


def test_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[project]\nname = "a"\n'))
    assert cfg.platform == "local" and cfg.output == "." and cfg.build_command is None
    assert cfg.environment("staging").name == "staging"


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        ('[project]\nname = "a"\n[build]\noutptu = "dist"\n', "`build.outptu` is not a known key", 4),
        ('[project]\nname = "a"\n[deploy]\nplatform = "heroku"\n', "unknown platform 'heroku'", 4),
        ('[project]\nname = "a"\n[deploy]\nhealth_check = 5\n', "`deploy.health_check` must be a string", 4),
        ('[project]\nname = "Bad Name"\n', "not a valid name", 2),
        ('[project]\nname = "a"\n[environments.production]\ncolour = "x"\n', "`environments.production.colour`", 4),
        ('[project]\nname = "a"\n[build]\noutput = "../elsewhere"\n', "must be a folder inside", 4),
        ('[projcet]\nname = "a"\n', "`projcet` is not a known key", 1),
    ],
)
def test_errors_name_key_and_line(tmp_path: Path, text: str, needle: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert needle in err.value.message
    assert f"{path}:{line}" in err.value.message
    assert err.value.hint


def test_syntax_error_and_missing_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[project\nname="))
    with pytest.raises(ConfigError, match="project.name"):
        load_config(write(tmp_path, "[build]\noutput='x'\n"))


def test_unknown_environment(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="Unknown environment 'qa'"):
        cfg.environment("qa")


def test_find_config_walks_up(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_config(tmp_path / "a" / "b") == (tmp_path / "moai.toml").resolve()
