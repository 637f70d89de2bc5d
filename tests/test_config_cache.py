"""The validated-config cache in .moai/cache/config.json: same Config, no pydantic, never stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from moai_adk.config import CACHE_NAME, load_config
from moai_adk.errors import ConfigError

TOML = """[project]
name = "cached"
[build]
output = "dist"
command = "npm run build"
[deploy]
platform = "local"
exclude = ["*.map"]
[environments.staging]
platform = "netlify"
branch = "staging"
[env.required]
API_URL = { environments = ["production"], pattern = "^https://" }
[platforms.vercel]
project = "x"
[db.backups]
location = "s3://b/p"
keep_daily = 3
"""


def _project(tmp_path: Path, text: str = TOML, cache: bool = True) -> Path:
    (tmp_path / "moai.toml").write_text(text)
    if cache:
        (tmp_path / ".moai" / "cache").mkdir(parents=True)
    return tmp_path / "moai.toml"


def test_the_cached_config_equals_the_validated_one(tmp_path: Path) -> None:
    path = _project(tmp_path)
    fresh = load_config(path)
    assert (tmp_path / CACHE_NAME).is_file()
    again = load_config(path)
    assert again == fresh
    assert again.required_env[0].environments == ("production",)
    assert again.environment("staging").platform == "netlify"
    assert again.backups == fresh.backups and again.backups.keep_daily == 3
    assert again.backups.location == "s3://b/p" and again.backups.keep_daily == 3 and again.backups.keep_weekly == 4


def test_a_second_load_does_not_import_pydantic(tmp_path: Path) -> None:
    path = _project(tmp_path)
    load_config(path)
    code = (f"import sys\nfrom moai_adk.config import load_config\nfrom pathlib import Path\n"
            f"cfg = load_config(Path({str(path)!r}))\nprint(cfg.name, 'pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["cached", "False"]


def test_an_edited_file_is_validated_again(tmp_path: Path) -> None:
    path = _project(tmp_path)
    load_config(path)
    path.write_text(TOML.replace('output = "dist"', 'output = "../outside"'))
    with pytest.raises(ConfigError, match="build.output"):
        load_config(path)


def test_a_corrupt_or_foreign_cache_is_ignored(tmp_path: Path) -> None:
    path = _project(tmp_path)
    cache = tmp_path / CACHE_NAME
    for junk in ("{not json", '{"key": 1}', '[]', '{"key": "x", "config": {}}'):
        cache.write_text(junk)
        assert load_config(path).name == "cached"
    assert load_config(path).name == "cached"


def test_no_cache_is_written_where_no_deploy_made_the_folder(tmp_path: Path) -> None:
    path = _project(tmp_path, cache=False)
    load_config(path)
    assert not (tmp_path / ".moai").exists()
