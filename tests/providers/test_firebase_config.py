"""firebase.json / .firebaserc: validation errors with JSON paths, site selection,
ServingConfig translation, hooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import BuildError, ConfigError, UsageError
from moai_adk.providers.base import DeployTarget
from moai_adk.providers.firebase.config import load_project, packaged_schema
from moai_adk.providers.firebase.serving import IgnoreMatcher, channel_id, parse_ttl, serving_config
from tests.fakes.firebase import FakeFirebase, firebase_provider

REPO = Path(__file__).resolve().parents[2]


def write(root: Path, name: str, data: object) -> Path:
    path = root / name
    path.write_text(json.dumps(data, indent=2))
    return path


def test_the_schema_ships_in_the_package_and_package_data_names_only_what_exists() -> None:
    import tomllib
    from importlib import resources

    schema = resources.files("moai_adk.providers.firebase").joinpath("firebase-config.schema.json")
    assert schema.is_file() and json.loads(schema.read_text())["$schema"].startswith("http://json-schema.org/")
    assert packaged_schema()["definitions"]["HostingSingle"]
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["moai_adk"]
    package = REPO / "src" / "moai_adk"
    matched = {pattern: sorted(p.relative_to(package).as_posix() for p in package.glob(pattern) if p.is_file())
               for pattern in patterns}
    assert all(matched.values()), f"package-data patterns that match nothing: {[k for k, v in matched.items() if not v]}"
    assert any("providers/firebase/firebase-config.schema.json" in files for files in matched.values())


def test_an_installed_copy_validates_with_the_packaged_schema(tmp_path: Path) -> None:
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "rewrites": [{"source": "**", "destinaton": "/"}]}})
    with pytest.raises(ConfigError, match=r"checked against firebase-config\.schema\.json"):
        load_project(tmp_path, {"site": "s"}, {})  # no override, no ../shared: the package's own copy
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "cleanUrls": True}})
    assert load_project(tmp_path, {"site": "s"}, {}).checked_with == "schema"


@pytest.mark.parametrize(("hosting", "where"), [
    ({"public": "dist", "rewrites": [{"source": "**", "destination": 5}]}, "hosting.rewrites[0].destination"),
    ({"public": "dist", "cleanUrl": True}, "hosting.cleanUrl"),
    ({"public": "dist", "redirects": [{"source": "/a", "destination": "/b", "typ": 301}]}, "hosting.redirects[0].typ"),
    ({"public": "dist", "headers": [{"source": "**", "headers": [{"key": "X"}]}]}, "hosting.headers[0].headers[0]"),
    ({"public": "dist", "appAssociation": "SOMETIMES"}, "hosting.appAssociation"),
    ([{"site": "a", "public": "dist", "trailingSlash": "yes"}], "hosting[0].trailingSlash"),
])
def test_schema_errors_name_the_json_path_and_file(tmp_path: Path, hosting: object, where: str) -> None:
    write(tmp_path, "firebase.json", {"hosting": hosting})
    fake = FakeFirebase()
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("x")
    provider = firebase_provider(fake, tmp_path)
    with pytest.raises(ConfigError) as info:
        provider.deploy(take_snapshot(tmp_path / "dist", ("gzip-sha256",)), DeployTarget())
    assert f"`{where}`" in info.value.message and "firebase.json" in info.value.message
    assert "firebase-config.schema.json" in info.value.message
    assert fake.calls == []  # validated before anything was sent


def test_builtin_check_when_the_schema_is_absent(tmp_path: Path) -> None:
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "rewrites": [{"destination": "/index.html"}]}})
    env = {"MOAI_FIREBASE_SCHEMA": str(tmp_path / "missing.json")}
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path, {"site": "s"}, env)
    assert "`hosting.rewrites[0]`" in info.value.message and "built-in check" in info.value.message
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "cleanUrl": True}})
    with pytest.raises(ConfigError, match=r"`hosting\.cleanUrl` is not a known key"):
        load_project(tmp_path, {"site": "s"}, env)
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "cleanUrls": True}})
    assert load_project(tmp_path, {"site": "s"}, env).checked_with == "built-in"


def test_invalid_json_names_line(tmp_path: Path) -> None:
    (tmp_path / "firebase.json").write_text('{\n  "hosting": {\n    "public": "dist",\n  }\n}')
    with pytest.raises(ConfigError, match=r"firebase\.json:4:"):
        load_project(tmp_path, {}, {})


def test_site_resolution(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No Firebase Hosting site"):
        load_project(tmp_path, {}, {})
    write(tmp_path, ".firebaserc", {"projects": {"default": "my-proj"}})
    assert load_project(tmp_path, {}, {}).site == "my-proj"
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "site": "from-json"}})
    p = load_project(tmp_path, {}, {})
    assert (p.site, p.project) == ("from-json", "my-proj")
    assert load_project(tmp_path, {"site": "from-settings"}, {}).site == "from-settings"
    write(tmp_path, "firebase.json", {"hosting": [{"target": "web", "public": "dist"}, {"target": "docs", "public": "d"}]})
    with pytest.raises(ConfigError, match="lists 2 sites"):
        load_project(tmp_path, {}, {})
    write(tmp_path, ".firebaserc", {"projects": {"default": "my-proj"},
                                    "targets": {"my-proj": {"hosting": {"docs": ["my-docs-site"]}}}})
    p = load_project(tmp_path, {"target": "docs"}, {})
    assert p.site == "my-docs-site" and p.hosting["public"] == "d"


def test_serving_config_translation() -> None:
    hosting = {
        "public": "dist",
        "cleanUrls": True,
        "trailingSlash": False,
        "appAssociation": "NONE",
        "i18n": {"root": "/localized"},
        "rewrites": [
            {"source": "/app/**", "destination": "/app/index.html"},
            {"regex": "^/api/v\\d+/.*$", "function": "api", "region": "europe-west1"},
            {"glob": "/fn/**", "function": {"functionId": "render", "region": "us-east1"}},
            {"source": "/run/**", "run": {"serviceId": "svc"}},
            {"source": "/links/**", "dynamicLinks": True},
        ],
        "redirects": [
            {"source": "/old", "destination": "/new", "type": 302},
            {"regex": "^/x/(.*)$", "destination": "/y/:1"},
        ],
        "headers": [{"source": "**/*.js", "headers": [{"key": "Cache-Control", "value": "max-age=31536000"},
                                                        {"key": "X-A", "value": "1"}]}],
    }
    assert serving_config(hosting) == {
        "rewrites": [
            {"glob": "/app/**", "path": "/app/index.html"},
            {"regex": "^/api/v\\d+/.*$", "function": "api", "functionRegion": "europe-west1"},
            {"glob": "/fn/**", "function": "render", "functionRegion": "us-east1"},
            {"glob": "/run/**", "run": {"serviceId": "svc", "region": "us-central1"}},
            {"glob": "/links/**", "dynamicLinks": True},
        ],
        "redirects": [
            {"glob": "/old", "location": "/new", "statusCode": 302},
            {"regex": "^/x/(.*)$", "location": "/y/:1"},
        ],
        "headers": [{"glob": "**/*.js", "headers": {"Cache-Control": "max-age=31536000", "X-A": "1"}}],
        "cleanUrls": True,
        "appAssociation": "NONE",
        "i18n": {"root": "/localized"},
        "trailingSlashBehavior": "REMOVE",
    }
    assert serving_config({"trailingSlash": True}) == {"trailingSlashBehavior": "ADD"}
    assert serving_config({"public": "dist"}) == {}
    with pytest.raises(ConfigError, match="both a glob and a regex"):
        serving_config({"rewrites": [{"source": "/a", "regex": "b", "destination": "/c"}]})


def test_finalize_sends_the_translated_config(tmp_path: Path) -> None:
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "cleanUrls": True, "trailingSlash": True,
                                                  "rewrites": [{"source": "**", "destination": "/index.html"}]}})
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("x")
    fake = FakeFirebase()
    d = firebase_provider(fake, tmp_path).deploy(take_snapshot(tmp_path / "dist", ("gzip-sha256",)), DeployTarget())
    patch = [c for c in fake.calls if c.method == "PATCH" and "/versions/" in c.path][0]
    assert patch.query["updateMask"] == ["status,config"]
    assert fake.sites["demo-site"].versions[d.id]["config"] == {
        "rewrites": [{"glob": "**", "path": "/index.html"}], "cleanUrls": True, "trailingSlashBehavior": "ADD"}
    assert fake.violations == []


def test_channel_ids_ttls_and_ignore_globs() -> None:
    assert channel_id("feature/Login_Form") == "feature-login-form"
    with pytest.raises(UsageError, match="production"):
        channel_id("live")
    with pytest.raises(UsageError):
        channel_id("///")
    assert parse_ttl(None) == ("604800s", False)
    assert parse_ttl("7d") == ("604800s", True)
    assert parse_ttl("90m") == ("5400s", True)
    ignore = IgnoreMatcher(["firebase.json", "**/.*", "**/node_modules/**", "*.map"])
    assert ignore("firebase.json") and ignore(".env") and ignore("a/.hidden") and ignore("x/node_modules/y.js")
    assert ignore("app.map") and not ignore("assets/app.js") and not ignore("index.html")


def test_hooks_run_in_the_project_root(tmp_path: Path) -> None:
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "predeploy": ["echo pre > pre.txt", "echo $PROJECT_DIR > dir.txt"],
                                                  "postdeploy": "echo post > post.txt"}})
    provider = firebase_provider(FakeFirebase(), tmp_path, environ={"PATH": "/usr/bin:/bin"})
    assert provider.pre_deploy_hooks() == ["echo pre > pre.txt", "echo $PROJECT_DIR > dir.txt"]
    assert provider.post_deploy_hooks() == ["echo post > post.txt"]
    echoed: list[str] = []
    provider.run_hooks("predeploy", echo=echoed.append)
    assert (tmp_path / "pre.txt").read_text().strip() == "pre"
    assert (tmp_path / "dir.txt").read_text().strip() == str(tmp_path)
    assert len(echoed) == 2
    provider.run_hooks("postdeploy")
    assert (tmp_path / "post.txt").exists()


def test_failing_hook_is_a_build_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path, "firebase.json", {"hosting": {"public": "dist", "predeploy": ["true", "exit 3", "touch never"]}})
    provider = firebase_provider(FakeFirebase(), tmp_path, environ={"PATH": "/usr/bin:/bin"})
    with pytest.raises(BuildError, match=r"hosting\.predeploy hook `exit 3` failed with exit code 3"):
        provider.run_hooks("predeploy")
    assert not (tmp_path / "never").exists()
