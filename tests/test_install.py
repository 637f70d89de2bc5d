"""`pip install moai-adk` gives every documented feature at full speed: the platform on granian,
`db` on psycopg, Firebase service accounts with google-auth. Extras hold only what is optional."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_serving_db_and_firebase_need_no_extra() -> None:
    core = {Requirement(r).name for r in _project()["dependencies"]}
    assert {"granian", "psycopg", "google-auth", "uvloop"} <= core


def test_each_extra_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for extra in _project()["optional-dependencies"]:
        if extra not in ("all", "dev"):
            assert re.search(rf"moai-adk\[{extra}\]", readme), f"extra {extra!r} is not explained in README.md"


def test_the_installed_modules_import() -> None:
    import google.auth  # noqa: F401
    import granian  # noqa: F401
    import psycopg  # noqa: F401
