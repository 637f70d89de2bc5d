"""netlify.toml as Netlify's CLI resolves it (@netlify/config: path.ts, base.ts, context.ts, merge.js)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from moai_adk.errors import ConfigError
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.netlify import NetlifyProvider, _config
from tests.fakes.netlify import FakeNetlify

from .conftest import Harness


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def resolved(text: str, context: str, branch: str | None = None) -> dict[str, object]:
    return _config.resolve(tomllib.loads(text), context, branch)


def test_the_base_folder_file_replaces_the_root_file(tmp_path: Path) -> None:
    write(tmp_path / "netlify.toml", '[build]\nbase = "site"\n[[redirects]]\nfrom = "/root"\nto = "/r"\n')
    chosen = write(tmp_path / "site" / "netlify.toml", '[[redirects]]\nfrom = "/site"\nto = "/s"\n')
    assert _config.find(tmp_path) == chosen
    data = _config.load(tmp_path)
    assert data is not None and data["redirects"] == [{"from": "/site", "to": "/s"}]


def test_the_root_file_stays_when_the_base_folder_has_none(tmp_path: Path) -> None:
    root = write(tmp_path / "netlify.toml", '[build]\nbase = "site"\npublish = "out"\n')
    (tmp_path / "site").mkdir()
    assert _config.find(tmp_path) == root
    assert _config.find(tmp_path / "site") is None


def test_the_base_of_the_base_file_is_not_followed(tmp_path: Path) -> None:
    write(tmp_path / "netlify.toml", '[build]\nbase = "a"\n')
    second = write(tmp_path / "a" / "netlify.toml", '[build]\nbase = "b"\n')
    write(tmp_path / "a" / "b" / "netlify.toml", '[build]\npublish = "deep"\n')
    assert _config.find(tmp_path) == second


def test_branch_section_wins_over_the_context_section() -> None:
    text = ('[build]\ncommand = "base"\n[build.environment]\nA = "build"\nB = "build"\nC = "build"\n'
            '[context.deploy-preview]\ncommand = "preview"\n[context.deploy-preview.environment]\nA = "dp"\nB = "dp"\n'
            '[context.feature-x]\ncommand = "branch"\n[context.feature-x.environment]\nA = "branch"\n')
    out = resolved(text, "deploy-preview", "feature-x")
    assert out["build"] == {"command": "branch", "environment": {"A": "branch", "B": "dp", "C": "build"}}
    assert resolved(text, "deploy-preview")["build"] == {"command": "preview",
                                                         "environment": {"A": "dp", "B": "dp", "C": "build"}}


def test_wildcard_branch_sections_apply_when_no_exact_one_does() -> None:
    text = ('[context."feat/*"]\npublish = "feat"\n[context."feat/*".environment]\nX = "wild"\n'
            '[context."feat/exact"]\npublish = "exact"\n')
    assert resolved(text, "branch-deploy", "feat/new")["build"] == {"publish": "feat", "environment": {"X": "wild"}}
    assert resolved(text, "branch-deploy", "feat/exact")["build"] == {"publish": "exact"}
    assert "build" not in resolved(text, "branch-deploy", "fix/y")


def test_context_tables_that_are_not_build_settings_stay_top_level() -> None:
    # [context.production.functions] (a table) configures functions; functions = "..." is the folder
    out = resolved('[build]\nfunctions = "netlify/functions"\n[functions]\nnode_bundler = "zisi"\n'
                   '[context.production.functions]\nnode_bundler = "esbuild"\n', "production")
    assert out["functions"] == {"node_bundler": "esbuild"} and out["build"] == {"functions": "netlify/functions"}
    out = resolved('[build]\nfunctions = "netlify/functions"\n[context.production]\nfunctions = "prod/functions"\n',
                   "production")
    assert out["build"] == {"functions": "prod/functions"}


def test_plugins_merge_by_package() -> None:
    text = ('[[plugins]]\npackage = "p1"\n[plugins.inputs]\na = 1\nb = 1\n'
            '[[context.production.plugins]]\npackage = "p1"\n[context.production.plugins.inputs]\nb = 2\n')
    assert resolved(text, "production")["plugins"] == [{"package": "p1", "inputs": {"a": 1, "b": 2}}]


def test_capitalised_build_keys_are_read() -> None:
    data = _config._normalise_case(tomllib.loads('[Build]\nPublish = "dist"\n[Build.Environment]\nA = "1"\n'))
    assert _config.resolve(data, "production")["build"] == {"publish": "dist", "environment": {"A": "1"}}


def test_a_context_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "netlify.toml", '[context]\nproduction = "dist"\n')
    with pytest.raises(ConfigError) as err:
        _config.load(tmp_path)
    assert "context.production" in err.value.message and "[context." in (err.value.hint or "")


def test_a_deploy_uploads_the_base_folder_file_for_its_branch(netlify: Harness, netlify_fake: FakeNetlify) -> None:
    write(netlify.root / "netlify.toml", '[build]\nbase = "web"\n')
    write(netlify.root / "web" / "netlify.toml",
          '[build.environment]\nA = "build"\n[context.branch-deploy.environment]\nA = "branch-deploy"\n'
          '[context."release-*".environment]\nA = "release"\n[[headers]]\nfor = "/*"\n[headers.values]\nX = "web"\n')
    p = netlify.provider()
    assert isinstance(p, NetlifyProvider)
    p.link()
    p.deploy(netlify.snapshot({"index.html": "i"}, p), DeployTarget(environment="staging", branch="release-2"))
    update = [r for r in netlify_fake.requests if r.method == "PUT" and "/files/" not in r.path][0].json()
    sent = tomllib.loads(netlify_fake.blobs[update["files"]["netlify.toml"]].decode())
    assert sent["build"]["environment"] == {"A": "release"}
    assert sent["headers"][0]["values"] == {"X": "web"} and "context" not in sent
