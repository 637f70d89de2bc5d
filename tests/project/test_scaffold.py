from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from moai_adk.config import load_config
from moai_adk.errors import ConfigError, UsageError
from moai_adk.project import scaffold
from moai_adk.project.moaitoml import ProjectSettings


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def actions(result: scaffold.InitResult) -> dict[str, str]:
    return {c.path: c.action for c in result.changes}


def vite_project(root: Path) -> Path:
    (root / "vite.config.ts").write_text("export default {}")
    (root / "package.json").write_text(json.dumps({"name": "@acme/Shop", "scripts": {"build": "vite build"}}))
    return root


def test_fresh_init_writes_valid_files(tmp_path: Path, firebase_validator: Any) -> None:
    vite_project(tmp_path)
    result = scaffold.run_init(tmp_path, ["vercel", "supabase", "netlify", "firebase"])
    cfg = load_config(tmp_path / "moai.toml")
    assert (cfg.name, cfg.framework, cfg.build_command, cfg.output) == ("shop", "vite", "npm run build", "dist")
    assert cfg.platform == "vercel" and cfg.platforms == ["vercel", "supabase", "netlify", "firebase"]
    assert set(cfg.environments) == {"development", "preview", "staging", "production"}
    assert cfg.environments["production"].db_url_env == "PRODUCTION_DB_URL"
    assert set(cfg.platform_settings) == {"vercel", "supabase", "netlify", "firebase"}
    vercel = json.loads((tmp_path / "vercel.json").read_text())
    assert vercel["framework"] == "vite" and vercel["buildCommand"] == "npm run build"
    assert tomllib.loads((tmp_path / "netlify.toml").read_text())["build"]["publish"] == "dist"
    firebase = json.loads((tmp_path / "firebase.json").read_text())
    assert list(firebase_validator.iter_errors(firebase)) == []
    assert json.loads((tmp_path / ".firebaserc").read_text()) == {"projects": {"default": "shop"}}
    assert tomllib.loads((tmp_path / "supabase" / "config.toml").read_text())["project_id"] == "shop"
    assert (tmp_path / "supabase" / "migrations").is_dir()
    assert ".vercel" in (tmp_path / ".gitignore").read_text().splitlines()
    assert set(actions(result).values()) == {"created"}


def test_default_platform_is_local_and_writes_only_moai_toml(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    result = scaffold.run_init(tmp_path, [])
    assert list(actions(result)) == ["moai.toml", ".moai/moai.schema.json", ".gitignore"]
    cfg = load_config(tmp_path / "moai.toml")
    assert cfg.platform == "local" and cfg.build_command is None and cfg.output == "."


def test_rerun_is_idempotent(tmp_path: Path) -> None:
    vite_project(tmp_path)
    scaffold.run_init(tmp_path, ["vercel", "firebase", "netlify", "supabase"])
    before = snapshot(tmp_path)
    again = scaffold.run_init(tmp_path, [])
    assert set(actions(again).values()) == {"kept"}
    assert snapshot(tmp_path) == before


def test_rerun_keeps_user_edits_and_comments(tmp_path: Path) -> None:
    vite_project(tmp_path)
    scaffold.run_init(tmp_path, ["netlify", "vercel"])
    moai = tmp_path / "moai.toml"
    text = moai.read_text().replace('output = "dist"', 'output = "build" # we changed the outDir')
    moai.write_text("# team note: keep this\n" + text.replace('health_check = "/"', 'health_check = "/up"'))
    netlify = tmp_path / "netlify.toml"
    netlify.write_text(netlify.read_text() + '\n# redirects below\n[[redirects]]\nfrom = "/a"\nto = "/b"\n')
    vercel = tmp_path / "vercel.json"
    data = json.loads(vercel.read_text())
    data["cleanUrls"] = False
    del data["trailingSlash"]
    vercel.write_text(json.dumps(data))

    result = scaffold.run_init(tmp_path, ["firebase"])
    acts = actions(result)
    assert acts["moai.toml"] == "updated" and acts["vercel.json"] == "updated" and acts["netlify.toml"] == "kept"
    assert acts["firebase.json"] == "created"
    text = moai.read_text()
    assert "# team note: keep this" in text and 'output = "build" # we changed the outDir' in text
    cfg = load_config(moai)
    assert cfg.output == "build" and cfg.health_check == "/up"
    assert cfg.platforms == ["netlify", "vercel", "firebase"] and cfg.platform == "netlify"
    assert any("deploy.platform = 'netlify'" in n for n in result.notes)
    assert "# redirects below" in netlify.read_text()
    assert json.loads(vercel.read_text())["cleanUrls"] is False  # user's value kept
    assert json.loads(vercel.read_text())["trailingSlash"] is False  # missing key added back
    assert any("vercel.json cleanUrls: kept yours" in n for n in result.notes)


def test_name_flag_overrides_existing_name(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    scaffold.run_init(tmp_path, [], name="first")
    scaffold.run_init(tmp_path, [], name="second")
    assert load_config(tmp_path / "moai.toml").name == "second"


def test_force_overwrites_everything(tmp_path: Path) -> None:
    vite_project(tmp_path)
    scaffold.run_init(tmp_path, ["vercel"])
    (tmp_path / "moai.toml").write_text((tmp_path / "moai.toml").read_text().replace('"dist"', '"custom"'))
    (tmp_path / "vercel.json").write_text('{"cleanUrls": false}')
    result = scaffold.run_init(tmp_path, ["vercel"], force=True)
    assert actions(result)["moai.toml"] == "overwritten" and actions(result)["vercel.json"] == "overwritten"
    assert load_config(tmp_path / "moai.toml").output == "dist"
    assert json.loads((tmp_path / "vercel.json").read_text())["cleanUrls"] is True


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    vite_project(tmp_path)
    before = snapshot(tmp_path)
    result = scaffold.run_init(tmp_path, ["vercel", "supabase"], dry_run=True)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "supabase").exists()
    assert actions(result)["vercel.json"] == "created"
    files = result.as_dict()["files"]
    assert any(f["path"] == "vercel.json" and "outputDirectory" in f["content"] for f in files)


def test_dry_run_in_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new-site"
    scaffold.run_init(target, ["netlify"], dry_run=True)
    assert not target.exists()


def test_malformed_moai_toml_is_reported_and_left_alone(tmp_path: Path) -> None:
    bad = '[project]\nname = "x"\n[build\noutput = "dist"\n'
    (tmp_path / "moai.toml").write_text(bad)
    with pytest.raises(ConfigError) as info:
        scaffold.run_init(tmp_path, ["vercel"])
    assert info.value.message.startswith("moai.toml:3:")
    assert (tmp_path / "moai.toml").read_text() == bad
    assert not (tmp_path / "vercel.json").exists()
    scaffold.run_init(tmp_path, ["vercel"], force=True)
    assert load_config(tmp_path / "moai.toml").platform == "vercel"


def test_invalid_existing_value_names_the_users_line(tmp_path: Path) -> None:
    (tmp_path / "moai.toml").write_text('[project]\nname = "x"\n\n[deploy]\nhealth_check = "up"\n')
    with pytest.raises(ConfigError) as info:
        scaffold.run_init(tmp_path, [])
    assert "moai.toml:5" in info.value.message and "health_check" in info.value.message


def test_malformed_firebase_json_stops_everything(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    (tmp_path / "firebase.json").write_text('{\n  "hosting": {\n    "public": "."\n  \n')
    with pytest.raises(ConfigError) as info:
        scaffold.run_init(tmp_path, ["firebase"])
    assert info.value.message.startswith("firebase.json:")
    assert not (tmp_path / "moai.toml").exists() and not (tmp_path / ".gitignore").exists()


@pytest.mark.parametrize(("name", "fragment"), [
    ("heroku", "Unknown platform 'heroku'"),
    ("cloudflare", "cannot scaffold it yet"),
    ("azure", "cannot scaffold it yet"),
])
def test_bad_platforms_are_usage_errors(tmp_path: Path, name: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        scaffold.run_init(tmp_path, [name])
    assert fragment in info.value.message and "vercel" in info.value.message
    assert list(tmp_path.iterdir()) == []


def test_platforms_are_case_insensitive_and_deduplicated() -> None:
    assert scaffold.check_platforms(["Vercel", "vercel", "supabase"]) == ["vercel", "supabase"]


def test_bad_name_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--name"):
        scaffold.run_init(tmp_path, [], name="My Site")


def test_slugify() -> None:
    assert scaffold.slugify("@acme/My_Site!") == "my-site"
    assert scaffold.slugify("___") == "site"


def test_prompt_answers_become_overrides(tmp_path: Path) -> None:
    vite_project(tmp_path)
    scaffold.run_init(tmp_path, ["vercel"])
    prepared = scaffold.prepare(tmp_path)
    assert prepared.defaults.output == "dist" and prepared.existing_platforms == ["vercel"]
    settings = ProjectSettings("shop", "vite", "make site", "site")
    result = scaffold.plan_init(prepared, settings, [], overrides={"build.command", "build.output"})
    scaffold.apply_init(result)
    cfg = load_config(tmp_path / "moai.toml")
    assert (cfg.build_command, cfg.output) == ("make site", "site")
    vercel = json.loads((tmp_path / "vercel.json").read_text())
    assert vercel["outputDirectory"] == "dist"  # existing vercel.json value kept ...
    assert any("vercel.json outputDirectory: kept yours" in n for n in result.notes)  # ... and reported


def test_example_is_copied_and_detected_as_static(tmp_path: Path) -> None:
    result = scaffold.run_init(tmp_path, ["netlify"], example="hello-site")
    for rel in ("index.html", "about.html", "404.html", "css/style.css", "_redirects", "_headers"):
        assert (tmp_path / rel).is_file()
    assert "301" in (tmp_path / "_redirects").read_text()
    cfg = load_config(tmp_path / "moai.toml")
    assert cfg.framework == "static" and cfg.output == "." and cfg.build_command is None
    assert actions(result)["index.html"] == "created"
    (tmp_path / "index.html").write_text("mine")
    again = scaffold.run_init(tmp_path, [], example="hello-site")
    assert actions(again)["index.html"] == "kept" and (tmp_path / "index.html").read_text() == "mine"


def test_unknown_example_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="hello-site"):
        scaffold.run_init(tmp_path, [], example="nope")


def test_platform_without_init_support_in_moai_toml_is_noted(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    (tmp_path / "moai.toml").write_text('[project]\nname = "x"\n\n[deploy]\nplatforms = ["cloudflare", "vercel"]\n')
    result = scaffold.run_init(tmp_path, [])
    assert any("'cloudflare'" in n and "no files yet" in n for n in result.notes)
    assert (tmp_path / "vercel.json").is_file()
    assert load_config(tmp_path / "moai.toml").platforms == ["cloudflare", "vercel"]


def test_non_utf8_moai_toml_is_refused_not_mangled(tmp_path: Path) -> None:
    raw = b'[project]\nname = "caf\xe9"\n'
    (tmp_path / "moai.toml").write_bytes(raw)
    with pytest.raises(ConfigError, match="not UTF-8"):
        scaffold.run_init(tmp_path, [])
    assert (tmp_path / "moai.toml").read_bytes() == raw


def test_a_moai_toml_without_default_gets_one_that_hosts_sites(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    (tmp_path / "moai.toml").write_text('[project]\nname = "x"\n\n[deploy]\nplatforms = ["supabase"]\n')
    scaffold.run_init(tmp_path, [])
    cfg = load_config(tmp_path / "moai.toml")
    assert cfg.platform == "local" and cfg.platforms == ["local", "supabase"]


@pytest.mark.parametrize(("requested", "default", "listed"), [
    (["supabase"], "local", ["local", "supabase"]),
    (["supabase", "netlify"], "netlify", ["netlify", "supabase"]),
    (["firebase", "supabase"], "firebase", ["firebase", "supabase"]),
])
def test_fresh_default_is_the_first_platform_that_hosts_sites(tmp_path: Path, requested: list[str], default: str,
                                                              listed: list[str]) -> None:
    (tmp_path / "index.html").write_text("hi")
    result = scaffold.run_init(tmp_path, requested)
    assert (result.config.platform, result.config.platforms) == (default, listed)
    assert result.as_dict()["backends"] == ["supabase"]
