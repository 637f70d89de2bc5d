from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from moai_adk.config import find_config, load_config
from moai_adk.config.problems import key_lines
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


def error_for(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return err.value


@pytest.mark.parametrize(
    ("text", "needle", "line", "fix"),
    [
        ('[projcet]\nname = "a"\n', "`projcet` is not a known key (did you mean `project`?)", 1,
         "Rename `projcet` to `project`."),
        ('[project]\nname = "a"\n\n[build]\noutptu = "dist"\n', "`build.outptu` is not a known key (did you mean `output`?)",
         5, "Rename `outptu` to `output`."),
        ('[project]\nname = "a"\n[deploy]\nhealth_chek = "/"\n', "(did you mean `health_check`?)", 4,
         "Rename `health_chek` to `health_check`."),
        ('[project]\nname = "a"\n[environments.production]\nbrnach = "main"\n',
         "`environments.production.brnach` is not a known key (did you mean `branch`?)", 4, "Rename `brnach`"),
        ('[project]\nname = "a"\n[platforms.vercell]\nteam_id = "t"\n',
         "`platforms.vercell` is not a known platform (did you mean `vercel`?)", 3, "Rename `vercell` to `vercel`."),
        ('[project]\nname = "a"\n[platforms.vercel]\nprojct_id = "prj_1"\n',
         "`platforms.vercel.projct_id` is not a known key (did you mean `project_id`?)", 4, "Rename `projct_id`"),
        ('[project]\nname = "a"\n[deploy]\nplatform = "netlfy"\n', "unknown platform 'netlfy' (did you mean `netlify`?)",
         4, "Known platforms: local, vercel, netlify"),
        ('[project]\nname = "a"\n[build]\nzzz = 1\n', "`build.zzz` is not a known key.", 4,
         "Remove it; [build] takes: command, output."),
    ],
)
def test_unknown_keys_suggest_the_closest(tmp_path: Path, text: str, needle: str, line: int, fix: str) -> None:
    err = error_for(tmp_path, text)
    assert needle in err.message
    assert f"{tmp_path / 'moai.toml'}:{line}:" in err.message
    assert err.hint and fix in err.hint


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        ('[project]\nname = "a"\n[platforms.vercel]\nteam_id = "t"\nproject_id = 42\n',
         "`platforms.vercel.project_id` must be a string, not integer", 5),
        ('[project]\nname = "a"\n[deploy]\nhealth_timeout = "30"\n', "`deploy.health_timeout` must be a number, not string", 4),
        ('[project]\nname = "a"\n[deploy]\nhealth_timeout = true\n', "must be a number, not boolean", 4),
        ('[project]\nname = "a"\n[deploy]\nhealth_timeout = 0\n', "`deploy.health_timeout` must be greater than 0, not 0", 4),
        ('[project]\nname = "a"\n[deploy]\nplatforms = "vercel"\n', "`deploy.platforms` must be an array, not string", 4),
        ('[project]\nname = "a"\n[deploy]\nplatforms = [\n  "vercel",  # main\n  "heroku",\n]\n',
         "`deploy.platforms[1]` names unknown platform 'heroku'", 6),
        ('build = "dist"\n[project]\nname = "a"\n', "`build` must be a table, not string", 1),
        ('[project]\nname = 7\n', "`project.name` must be a string, not integer", 2),
        ('[project]\nname = "a"\n[platforms.vercel]\nmax_file_size = 1.5\n', "must be an integer, not float", 4),
        ('[project]\nname = "a"\n[platforms.vercel]\ncustom_environments = { staging = 1 }\n',
         "`platforms.vercel.custom_environments.staging` must be a string, not integer", 4),
        ('[project]\nname = "a"\n[platforms.supabase]\nproject_ref = 2026-01-01\n', "must be a string, not date", 4),
        ('[project]\nname = "a"\n[platforms]\nnetlify = "site"\n', "`platforms.netlify` must be a table, not string", 4),
        ('[project]\nname = "a"\n[build]\noutput = "C:/site"\n', "must be a folder inside the project", 4),
        ('description = """\n[build]\nx = 1\n"""\n[project]\nname = 5\n', "`project.name` must be a string", 6),
    ],
)
def test_wrong_types_name_key_and_line(tmp_path: Path, text: str, needle: str, line: int) -> None:
    err = error_for(tmp_path, text)
    assert needle in err.message
    assert f"{tmp_path / 'moai.toml'}:{line}:" in err.message
    assert err.hint


NESTED = """\
[project]
name = "shop"

[environments.production]
platform = "vercel"
branch = "main"
db_url_env = "PROD_DB_URL"

[environments.qa-eu]
platform = "netlify"
health_check = "/up"

[environments.staging.extra]
branch = "x"
"""


def test_nested_environment_tables(tmp_path: Path) -> None:
    err = error_for(tmp_path, NESTED)
    assert f"{tmp_path / 'moai.toml'}:13: `environments.staging.extra` is not a known key" in err.message
    cfg = load_config(write(tmp_path, NESTED.split("[environments.staging.extra]")[0]))
    assert set(cfg.environments) == {"production", "qa-eu"}
    assert cfg.environment("qa-eu").health_check == "/up" and cfg.platform_for("qa-eu") == "netlify"
    assert cfg.environment("production").db_url_env == "PROD_DB_URL"


def test_environment_errors_in_dotted_and_inline_forms(tmp_path: Path) -> None:
    err = error_for(tmp_path, '[project]\nname = "a"\n\n[environments]\nstaging.branch = 5\n'
                              'qa = { platform = "heroku" }\n"Bad Env" = {}\n')
    path = tmp_path / "moai.toml"
    assert f"{path}:5: `environments.staging.branch` must be a string, not integer" in err.message
    assert f"{path}:6: `environments.qa.platform` names unknown platform 'heroku'" in err.message
    assert f"{path}:7: `environments.Bad Env` has an invalid environment name 'Bad Env'" in err.message
    assert "3 problems" in err.message
    err = error_for(tmp_path, '[project]\nname = "a"\n[environments]\nproduction = "vercel"\n')
    assert f"{path}:4: `environments.production` must be a table, not string" in err.message
    err = error_for(tmp_path, '[project]\nname = "a"\n[environments.production]\nhealth_check = "healthz"\n')
    assert f"{path}:4: `environments.production.health_check` 'healthz' must start with '/'" in err.message


def test_every_problem_in_one_paragraph_in_file_order(tmp_path: Path) -> None:
    err = error_for(tmp_path, '[build]\ncommand = 1\n[deploy]\nplatform = "vercle"\nhealth_check = "x"\n'
                              '[platforms.netlify]\nsite_di = "s"\n')
    path = tmp_path / "moai.toml"
    assert err.message.startswith(f"{path} has 5 problems: {path}: `project.name` is missing")
    order = [f"{path}:2: `build.command`", f"{path}:4: `deploy.platform`", f"{path}:5: `deploy.health_check`",
             f"{path}:7: `platforms.netlify.site_di` is not a known key (did you mean `site_id`?)"]
    positions = [err.message.index(part) for part in order]
    assert positions == sorted(positions)
    assert "\n" not in err.message
    assert err.hint and 'Add `name = "my-site"`' in err.hint and "Rename `site_di` to `site_id`." in err.hint


def test_platform_settings_keep_unknown_keys_that_are_no_typo(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[project]\nname = "a"\n[platforms.vercel]\nteam = "acme"\nproject_id = "prj_1"\n'
                                      'custom_environments = { staging = "env_1" }\n[platforms.cloudflare]\nanything = 1\n'))
    assert cfg.settings_for("vercel") == {"team": "acme", "project_id": "prj_1",
                                          "custom_environments": {"staging": "env_1"}}
    assert cfg.settings_for("cloudflare") == {"anything": 1}


def test_config_error_exits_non_zero_through_the_cli(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "a"\n[deploy]\nplatfrom = "local"\n')
    r = subprocess.run([sys.executable, "-m", "moai_adk", "deploy", "--dry-run"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "moai.toml:4: `deploy.platfrom` is not a known key (did you mean `platform`?)" in r.stderr
    assert "Rename `platfrom` to `platform`." in r.stderr


def test_key_lines_follow_toml_forms() -> None:
    text = ('#:schema ./x.json\n[ "project" ]  # c\nname = "a"\n[deploy]\nplatforms = ["a", # one\n  [1, 2],\n'
            '  "c"]\nnote = """\nfake = 1\n"""\n[environments]\n"qa 1".branch = "b"\n')
    lines = key_lines(text)
    assert lines[("project", "name")] == 3
    assert [lines[("deploy", "platforms", i)] for i in range(3)] == [5, 6, 7]
    assert ("deploy", "fake") not in lines and lines[("deploy", "note")] == 8
    assert lines[("environments", "qa 1", "branch")] == 12 and lines[("environments", "qa 1")] == 12


def test_environment_targets_and_requires(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[project]\nname = "x"\n[environments.staging]\ntarget = "stage"\n'
                                      '[environments.production]\nrequires = "staging"\n'))
    assert cfg.environment("staging").target == "stage" and cfg.environment("production").requires == "staging"
    unknown = error_for(tmp_path, '[project]\nname = "x"\n[environments.production]\nrequires = "stagin"\n')
    assert "environments.production.requires names unknown environment 'stagin'" in unknown.message
    assert "staging" in unknown.message and unknown.hint
    cycle = error_for(tmp_path, '[project]\nname = "x"\n[environments.staging]\nrequires = "production"\n'
                                '[environments.production]\nrequires = "staging"\n')
    assert "cycle" in cycle.message and "staging -> production -> staging" in cycle.message
    bad = error_for(tmp_path, '[project]\nname = "x"\n[environments.production]\nrequires = "Staging!"\n')
    assert "requires" in bad.message
