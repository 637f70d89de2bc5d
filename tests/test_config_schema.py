"""The JSON Schema of moai.toml: shipped, current, and in agreement with the loader and with init."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomlkit

from moai_adk.config import load_config, schema_path
from moai_adk.config.model import json_schema, schema_text
from moai_adk.errors import ConfigError
from moai_adk.project import scaffold
from moai_adk.project.moaitoml import SCHEMA_COPY, SCHEMA_DIRECTIVE
from moai_adk.project.platforms import INIT_PLATFORMS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    assert cls is jsonschema.Draft7Validator  # what Taplo / Even Better TOML understand
    return cls(schema)


def test_shipped_schema_is_what_the_model_generates() -> None:
    assert schema_path().read_text(encoding="utf-8") == schema_text()
    assert json.loads(schema_text()) == json_schema()
    # Taplo follows only references into the root's `definitions`.
    refs = re.findall(r'"\$ref": "([^"]+)"', schema_text())
    assert refs and all(r.startswith("#/definitions/") and r.split("/")[-1] in json_schema()["definitions"]
                        for r in refs)


def test_schema_entry_point_prints_and_checks() -> None:
    printed = subprocess.run([sys.executable, "-m", "moai_adk.config", "--schema"], capture_output=True, text=True,
                             timeout=60, check=True)
    assert printed.stdout == schema_path().read_text(encoding="utf-8")
    check = subprocess.run([str(ROOT / "scripts" / "gen-schema"), "--check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


def test_schema_check_fails_when_stale(tmp_path: Path) -> None:
    """--check compares the file inside the package; a copied package with an old schema fails it."""
    pkg = tmp_path / "moai_adk"
    src = ROOT / "src" / "moai_adk"
    for rel in ("__init__.py", "errors.py", *(f"config/{p.name}" for p in (src / "config").glob("*.py"))):
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_bytes((src / rel).read_bytes())
    (pkg / "schemas").mkdir()
    (pkg / "schemas" / "moai.schema.json").write_text('{"type": "object"}\n')
    r = subprocess.run([sys.executable, "-m", "moai_adk.config", "--schema", "--check"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 1 and "out of date" in r.stderr


def test_package_data_ships_the_schema() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["moai_adk"]
    rel = schema_path().relative_to(ROOT / "src" / "moai_adk").as_posix()
    assert any(fnmatch.fnmatch(rel, g) for g in globs)
    assert any(d.startswith("pydantic>=2") for d in pyproject["project"]["dependencies"])


def _site(root: Path) -> Path:
    (root / "package.json").write_text(json.dumps({"name": "shop", "scripts": {"build": "vite build"}}))
    (root / "vite.config.ts").write_text("export default {}")
    return root


@pytest.mark.parametrize("platforms", [[p] for p in INIT_PLATFORMS] + [list(INIT_PLATFORMS), []])
def test_schema_accepts_what_init_writes(tmp_path: Path, validator: Any, platforms: list[str]) -> None:
    scaffold.run_init(_site(tmp_path), platforms)
    text = (tmp_path / "moai.toml").read_text()
    assert text.splitlines()[0] == SCHEMA_DIRECTIVE
    assert SCHEMA_DIRECTIVE == "#:schema ./" + SCHEMA_COPY
    # Taplo resolves the directive's path relative to moai.toml: the copy is there and is the shipped schema.
    assert (tmp_path / SCHEMA_COPY).read_bytes() == schema_path().read_bytes()
    data = tomllib.loads(text)
    assert [e.message for e in validator.iter_errors(data)] == []
    # supabase hosts no sites: alone, it is listed after the local platform, the deploy default
    expected = ["local", "supabase"] if platforms == ["supabase"] else (platforms or ["local"])
    assert load_config(tmp_path / "moai.toml").platforms == expected


def test_init_refreshes_an_outdated_schema_copy(tmp_path: Path) -> None:
    scaffold.run_init(_site(tmp_path), ["vercel"])
    (tmp_path / SCHEMA_COPY).write_text("{}")
    again = scaffold.run_init(tmp_path, [])
    assert {c.path: c.action for c in again.changes}[SCHEMA_COPY] == "updated"
    assert (tmp_path / SCHEMA_COPY).read_bytes() == schema_path().read_bytes()


BROKEN = [
    ("projcet", lambda d: d.update(projcet=d.pop("project"))),
    ("unknown key", lambda d: d["build"].update(outptu="dist")),
    ("wrong type", lambda d: d["deploy"].update(health_timeout="30")),
    ("unknown platform", lambda d: d["deploy"].update(platforms=["vercel", "heroku"])),
    ("bad name", lambda d: d["project"].update(name="Bad Name")),
    ("outside", lambda d: d["build"].update(output="../elsewhere")),
    ("absolute", lambda d: d["build"].update(output="/srv/www")),
    ("health path", lambda d: d["deploy"].update(health_check="healthz")),
    ("env key", lambda d: d["environments"]["production"].update(colour="blue")),
    ("env name", lambda d: d["environments"].update({"Bad Env": {}})),
    ("env table", lambda d: d["environments"].update(qa="vercel")),
    ("platform table", lambda d: d["platforms"].update(herokuu={})),
    ("settings type", lambda d: d["platforms"]["vercel"].update(project_id=42)),
    ("settings int", lambda d: d["platforms"]["vercel"].update(max_file_size=0)),
]


@pytest.mark.parametrize(("label", "breaks"), BROKEN, ids=[b[0] for b in BROKEN])
def test_schema_and_loader_reject_a_broken_file(tmp_path: Path, validator: Any, label: str, breaks: Any) -> None:
    scaffold.run_init(_site(tmp_path), ["vercel", "supabase"])
    data = tomllib.loads((tmp_path / "moai.toml").read_text())
    breaks(data)
    assert list(validator.iter_errors(data)), f"the schema accepted: {label}"
    (tmp_path / "moai.toml").write_text(tomlkit.dumps(data))
    with pytest.raises(ConfigError):
        load_config(tmp_path / "moai.toml")


def test_help_does_not_import_pydantic() -> None:
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "moai_adk", "--help"], capture_output=True,
                       text=True, timeout=60, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "moai_adk.config" in imported and "Usage:" in r.stdout
    assert not {m for m in imported if m.split(".")[0] in ("pydantic", "pydantic_core")}
    assert "moai_adk.config.model" not in imported


def test_schema_accepts_what_the_cli_init_writes(tmp_path: Path, validator: Any) -> None:
    args = [a for p in INIT_PLATFORMS for a in ("--baas", p)]
    r = subprocess.run([sys.executable, "-m", "moai_adk", "init", *args, "--yes"], cwd=_site(tmp_path),
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert ".moai/moai.schema.json" in r.stdout
    assert [e.message for e in validator.iter_errors(tomllib.loads((tmp_path / "moai.toml").read_text()))] == []


def test_a_hand_written_file_is_not_given_the_directive(tmp_path: Path) -> None:
    (tmp_path / "moai.toml").write_text('[project]\nname = "mine"\n')
    result = scaffold.run_init(tmp_path, [])
    assert SCHEMA_COPY not in {c.path for c in result.changes}
    assert not (tmp_path / SCHEMA_COPY).exists()
    assert not (tmp_path / "moai.toml").read_text().startswith("#:schema")
