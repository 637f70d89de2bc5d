from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from moai_adk.config import Config
from moai_adk.project.platforms import (
    VERCEL_SCHEMA,
    firebase_json,
    firebaserc,
    netlify_toml,
    plan_platform_files,
    supabase_config,
    vercel_json,
)


def config(tmp_path: Path, **kw: Any) -> Config:
    values: dict[str, Any] = {"root": tmp_path, "name": "shop", "build_command": "npm run build", "output": "dist",
                              "platforms": ["vercel", "netlify", "firebase", "supabase"]}
    values.update(kw)
    return Config(**values)


def test_vercel_json(tmp_path: Path) -> None:
    data = vercel_json(config(tmp_path), "vite")
    assert data == {"$schema": VERCEL_SCHEMA, "buildCommand": "npm run build", "outputDirectory": "dist",
                    "framework": "vite", "cleanUrls": True, "trailingSlash": False}
    static = vercel_json(config(tmp_path, build_command=None, output="."), None)
    assert "buildCommand" not in static and "framework" not in static and static["outputDirectory"] == "."


def test_netlify_toml_parses_with_tomllib(tmp_path: Path) -> None:
    data = tomllib.loads(netlify_toml(config(tmp_path)).as_string())
    assert data["build"] == {"command": "npm run build", "publish": "dist"}
    assert data["context"]["production"]["environment"]["MOAI_ENVIRONMENT"] == "production"
    assert data["context"]["deploy-preview"]["environment"]["MOAI_ENVIRONMENT"] == "preview"
    static = tomllib.loads(netlify_toml(config(tmp_path, build_command=None, output=".")).as_string())
    assert static["build"] == {"publish": "."}


@pytest.mark.parametrize("output", ["dist", "."])
def test_firebase_json_is_valid_against_the_schema(tmp_path: Path, firebase_validator: Any, output: str) -> None:
    data = firebase_json(config(tmp_path, output=output))
    errors = sorted(firebase_validator.iter_errors(data), key=str)
    assert errors == [], [e.message for e in errors]
    assert data["hosting"]["public"] == output
    if output == ".":
        assert "moai.toml" in data["hosting"]["ignore"]  # config files in the root are not published


def test_validator_really_rejects_a_bad_firebase_json(firebase_validator: Any) -> None:
    assert list(firebase_validator.iter_errors({"hosting": {"public": 3}}))
    assert list(firebase_validator.iter_errors({"hosting": {"pubic": "dist"}}))


def test_firebaserc_uses_settings_project_or_name(tmp_path: Path) -> None:
    assert firebaserc(config(tmp_path)) == {"projects": {"default": "shop"}}
    cfg = config(tmp_path, platform_settings={"firebase": {"project": "shop-prod-1"}})
    assert firebaserc(cfg) == {"projects": {"default": "shop-prod-1"}}


def test_supabase_config_parses_with_tomllib(tmp_path: Path) -> None:
    data = tomllib.loads(supabase_config(config(tmp_path)).as_string())
    assert data["project_id"] == "shop"
    assert data["api"]["port"] == 54321 and data["api"]["enabled"] is True
    assert data["db"]["port"] == 54322 and data["db"]["major_version"] == 17
    assert data["db"]["migrations"] == {"enabled": True, "schema_paths": []}
    assert data["db"]["seed"]["sql_paths"] == ["./seed.sql"]


def test_plan_lists_files_per_platform(tmp_path: Path) -> None:
    changes, _ = plan_platform_files(tmp_path, config(tmp_path), "vite", force=False)
    assert [c.path for c in changes] == ["vercel.json", "netlify.toml", "firebase.json", ".firebaserc",
                                         "supabase/config.toml", "supabase/migrations"]
    assert all(c.action == "created" for c in changes)
    assert changes[-1].is_dir
    local, _ = plan_platform_files(tmp_path, config(tmp_path, platforms=["local"]), None, force=False)
    assert local == []


def test_existing_firebase_json_with_hosting_array_is_kept(tmp_path: Path) -> None:
    (tmp_path / "firebase.json").write_text(json.dumps({"hosting": [{"target": "app", "public": "dist"}]}))
    changes, notes = plan_platform_files(tmp_path, config(tmp_path, platforms=["firebase"]), None, force=False)
    assert changes[0].action == "kept"
    assert any(n.startswith("firebase.json hosting: kept yours") for n in notes)


def test_netlify_merge_into_users_file_keeps_contexts_and_redirects(tmp_path: Path) -> None:
    user = ('# mine\n[build]\n  publish = "dist"  # ours\n\n[context.production]\n  command = "make prod"\n\n'
            '[[redirects]]\n  from = "/a"\n  to = "/b"\n')
    (tmp_path / "netlify.toml").write_text(user)
    changes, _ = plan_platform_files(tmp_path, config(tmp_path, platforms=["netlify"]), None, force=False)
    text = (changes[0].content or b"").decode()
    assert changes[0].action == "updated"
    assert '# mine' in text and 'publish = "dist"  # ours' in text
    data = tomllib.loads(text)
    assert data["context"]["production"] == {"command": "make prod",
                                             "environment": {"MOAI_ENVIRONMENT": "production"}}
    assert data["redirects"] == [{"from": "/a", "to": "/b"}]
    assert data["build"] == {"publish": "dist", "command": "npm run build"}
    assert "\n\n[[redirects]]" in text
