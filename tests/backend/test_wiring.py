"""`moai-adk link supabase|firebase --to <host>`: the real CLI against a real local platform, the Vercel fake,
and the Supabase / Firebase fakes served on loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_adk.backend.wiring import public_prefix
from tests.conftest import RunningPlatform
from tests.fakes import serve_handler
from tests.fakes.firebase_backend import FakeFirebaseBackend
from tests.fakes.vercel import FakeVercel

from .supabase_setup import PRODUCTION, STAGING, Fakes

NEXT_CONFIG = "module.exports = { output: 'export' };\n"


def toml(site: str, platform: str = "local", envs: tuple[str, str] = ("staging", "production")) -> str:
    return (f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "{platform}"\n\n'
            f'[environments.{envs[0]}]\nsupabase_project_ref = "{STAGING}"\n\n'
            f'[environments.{envs[1]}]\nsupabase_project_ref = "{PRODUCTION}"\n\n'
            '[backend.supabase]\nextensions = ["pg_trgm"]\n')


@pytest.fixture
def supabase(tmp_path: Path) -> Iterator[tuple[Fakes, dict[str, str]]]:
    fakes = Fakes()
    with serve_handler(fakes.api.handle) as api_url, serve_handler(fakes.storage.handle) as storage_url:
        yield fakes, {**fakes.environ(tmp_path), "MOAI_SUPABASE_API_URL": api_url,
                      "MOAI_SUPABASE_PROJECT_URL": storage_url + "/{ref}"}


def run(root: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOAI_", "SUPABASE_", "VERCEL_"))} | environ
    return subprocess.run([sys.executable, "-m", "moai_adk", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def local_vars(platform: RunningPlatform, site: str, environment: str) -> dict[str, tuple[str | None, bool]]:
    with platform.client() as c:
        r = c.get(f"/_api/v1/sites/{site}/env/{environment}")
        r.raise_for_status()
        body = r.json()
    return {v["key"]: (v.get("value"), bool(v.get("secret"))) for v in body["vars"]}


def test_link_supabase_into_the_local_platform_per_environment(supabase: tuple[Fakes, dict[str, str]],
                                                                tmp_path: Path, local_platform: RunningPlatform) -> None:
    fakes, environ = supabase
    environ = {**environ, **local_platform.environ()}
    site = local_platform.new_site("link")
    root = tmp_path / "shop"
    root.mkdir()
    (root / "moai.toml").write_text(toml(site))
    (root / "next.config.js").write_text(NEXT_CONFIG)
    staging, production = fakes.api.backend_state(STAGING), fakes.api.backend_state(PRODUCTION)

    r = run(root, environ, "link", "supabase", "--to", "local", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    dry = json.loads(r.stdout)
    assert dry["dry_run"] and dry["prefix"] == "NEXT_PUBLIC_" and dry["framework"] == "Next.js"
    assert [e["environment"] for e in dry["environments"]] == ["production", "staging"]
    assert local_platform.platform.meta.site(site) is None or local_vars(local_platform, site, "staging") == {}

    r = run(root, environ, "link", "supabase", "--to", "local")
    assert r.returncode == 0, r.stderr
    assert "NEXT_PUBLIC_SUPABASE_ANON_KEY" in r.stdout and staging.anon_key not in r.stdout + r.stderr
    project_url = environ["MOAI_SUPABASE_PROJECT_URL"]
    for env, state in (("staging", staging), ("production", production)):
        got = local_vars(local_platform, site, env)
        assert got == {"NEXT_PUBLIC_SUPABASE_URL": (project_url.replace("{ref}", state.ref), False),
                       "NEXT_PUBLIC_SUPABASE_ANON_KEY": (state.anon_key, False)}, env

    # the service-role key: a secret, without a prefix, only when asked for; one environment only
    r = run(root, environ, "link", "supabase", "--to", "local", "--env", "staging", "--service-role", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {k["key"]: k["secret"] for k in out["environments"][0]["keys"]} == {
        "NEXT_PUBLIC_SUPABASE_URL": False, "NEXT_PUBLIC_SUPABASE_ANON_KEY": False, "SUPABASE_SERVICE_ROLE_KEY": True}
    assert out["environments"][0]["added"] == ["SUPABASE_SERVICE_ROLE_KEY"]
    assert sorted(out["environments"][0]["unchanged"]) == ["NEXT_PUBLIC_SUPABASE_ANON_KEY", "NEXT_PUBLIC_SUPABASE_URL"]
    assert local_vars(local_platform, site, "staging")["SUPABASE_SERVICE_ROLE_KEY"][1] is True
    assert "SUPABASE_SERVICE_ROLE_KEY" not in local_vars(local_platform, site, "production")
    assert staging.service_key not in r.stdout + r.stderr

    log = [json.loads(line) for line in (root / ".moai" / "audit" / "log.jsonl").read_text().splitlines()]
    links = [e for e in log if e["action"] == "backend link"]
    assert len(links) == 3 and links[-1]["details"]["project"] == STAGING
    assert staging.service_key not in (root / ".moai" / "audit" / "log.jsonl").read_text()
    assert fakes.api.violations == []


def test_a_service_role_key_under_a_public_prefix_is_refused(supabase: tuple[Fakes, dict[str, str]], tmp_path: Path,
                                                              local_platform: RunningPlatform) -> None:
    fakes, environ = supabase
    environ = {**environ, **local_platform.environ()}
    site = local_platform.new_site("refuse")
    root = tmp_path / "shop"
    root.mkdir()
    (root / "moai.toml").write_text(toml(site))
    key = fakes.api.backend_state(STAGING).service_key
    r = run(root, environ, "env", "set", "NEXT_PUBLIC_SUPABASE_ANON_KEY", key, "--env", "staging")
    assert r.returncode == 2
    assert "service-role" in r.stderr and "bypasses row-level security" in r.stderr and "Nothing was changed" in r.stderr
    assert "SUPABASE_SERVICE_ROLE_KEY" in r.stderr  # the hint says where it goes instead
    (root / "push.env").write_text(f"VITE_OK=1\nVITE_SUPABASE_KEY={key}\n")
    r = run(root, environ, "env", "push", "--file", "push.env", "--env", "staging")
    assert r.returncode == 2 and "VITE_SUPABASE_KEY" in r.stderr
    r = run(root, environ, "env", "set", "PUBLIC_TOKEN", "abc", "--secret", "--env", "staging")
    assert r.returncode == 2 and "PUBLIC_" in r.stderr and "would not stay secret" in r.stderr
    assert local_platform.platform.meta.site(site) is None or local_vars(local_platform, site, "staging") == {}
    # the same key without a prefix, as a secret, is fine
    r = run(root, environ, "env", "set", "SUPABASE_SERVICE_ROLE_KEY", key, "--secret", "--env", "staging")
    assert r.returncode == 0, r.stderr


def test_link_supabase_into_vercel_with_the_right_types(supabase: tuple[Fakes, dict[str, str]], tmp_path: Path) -> None:
    fakes, environ = supabase
    vfake = FakeVercel(build_steps=0)
    vproj = vfake.add_project("shop")
    root = tmp_path / "shop"
    (root / ".vercel").mkdir(parents=True)
    (root / ".vercel" / "project.json").write_text(json.dumps({"projectId": vproj["id"], "orgId": vproj["accountId"]}))
    (root / "moai.toml").write_text(toml("shop", "vercel", ("preview", "production")))
    (root / "vite.config.ts").write_text("export default {}\n")
    with vfake.serve() as vurl:
        env = {**environ, "VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": vurl}
        r = run(root, env, "link", "supabase", "--to", "vercel", "--service-role", "--json")
        assert r.returncode == 0, r.stderr
    got = {(e["key"], tuple(e["target"])): e for e in vfake.envs[vproj["id"]]}
    assert got[("VITE_SUPABASE_ANON_KEY", ("preview",))]["value"] == fakes.api.backend_state(STAGING).anon_key
    assert got[("VITE_SUPABASE_ANON_KEY", ("production",))]["value"] == fakes.api.backend_state(PRODUCTION).anon_key
    assert got[("VITE_SUPABASE_URL", ("production",))]["type"] != "sensitive"
    assert got[("SUPABASE_SERVICE_ROLE_KEY", ("production",))]["type"] == "sensitive"
    assert not any(k.startswith("VITE_") and e["type"] == "sensitive" for (k, _), e in got.items())


def test_link_firebase_web_config_and_the_prefixes(tmp_path: Path, local_platform: RunningPlatform) -> None:
    fake = FakeFirebaseBackend()
    site = local_platform.new_site("fblink")
    root = tmp_path / "shop"
    root.mkdir()
    (root / "moai.toml").write_text(f'[project]\nname = "{site}"\n\n[deploy]\nplatform = "local"\n\n'
                                    '[environments.production]\n\n[platforms.firebase]\nproject = "demo-project"\n\n'
                                    '[backend.firebase]\nfirestore_rules = ""\n')
    (root / "astro.config.mjs").write_text("export default {}\n")
    with serve_handler(fake.handle) as url:
        environ = {**{k: url if v == fake.base_url else v for k, v in fake.env().items()}, **local_platform.environ()}
        r = run(root, environ, "link", "firebase", "--to", "local", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "public by design" in " ".join(out["notes"]) and out["prefix"] == "PUBLIC_"
    got = local_vars(local_platform, site, "production")
    assert got["PUBLIC_FIREBASE_PROJECT_ID"] == ("demo-project", False)
    assert got["PUBLIC_FIREBASE_API_KEY"][0].startswith("AIza") and not got["PUBLIC_FIREBASE_API_KEY"][1]


def test_the_public_prefix_of_each_framework(tmp_path: Path) -> None:
    cases = {"next.config.mjs": "NEXT_PUBLIC_", "vite.config.js": "VITE_", "astro.config.mjs": "PUBLIC_",
             "nuxt.config.ts": "NUXT_PUBLIC_"}
    for i, (file, prefix) in enumerate(cases.items()):
        root = tmp_path / str(i)
        root.mkdir()
        (root / file).write_text("export default {}\n")
        assert public_prefix(root).prefix == prefix, file
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "svelte.config.js").write_text("import adapter from '@sveltejs/adapter-static';\n")
    assert public_prefix(kit).prefix == "PUBLIC_"
    none = public_prefix(tmp_path / "nothing")
    assert none.prefix == "" and none.note and "without a prefix" in none.note


def test_firebase_hosting_gets_a_dotenv_file_and_no_service_role(supabase: tuple[Fakes, dict[str, str]],
                                                                 tmp_path: Path) -> None:
    fakes, environ = supabase
    root = tmp_path / "shop"
    root.mkdir()
    (root / "moai.toml").write_text(toml("shop", "firebase") + '\n[platforms.firebase]\nproject = "demo-project"\n'
                                    'site = "demo-site"\n')
    (root / "vite.config.js").write_text("export default {}\n")
    (root / ".env.staging").write_text("# mine\nOTHER=1\nVITE_SUPABASE_URL=old\n")
    r = run(root, environ, "link", "supabase", "--to", "firebase", "--env", "staging", "--service-role")
    assert r.returncode == 2 and "keeps no server-side variables" in r.stderr
    r = run(root, environ, "link", "supabase", "--to", "firebase", "--env", "staging", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert (root / ".env.staging").read_text() == "# mine\nOTHER=1\nVITE_SUPABASE_URL=old\n"
    r = run(root, environ, "link", "supabase", "--to", "firebase", "--env", "staging")
    assert r.returncode == 0, r.stderr
    text = (root / ".env.staging").read_text()
    assert text.startswith("# mine\nOTHER=1\nVITE_SUPABASE_URL=http")
    assert f"VITE_SUPABASE_ANON_KEY={fakes.api.backend_state(STAGING).anon_key}" in text


def test_the_linked_service_role_key_in_a_client_bundle_stops_the_deploy(tmp_path: Path) -> None:
    """The key `link --service-role` writes, pasted into the code by mistake, is caught by the output scan;
    the anon key is not (it is public)."""
    from moai_adk.artifacts.snapshot import take_snapshot
    from moai_adk.errors import SecretFileError

    state = Fakes().api.backend_state(STAGING)
    site = tmp_path / "out"
    (site / "assets").mkdir(parents=True)
    (site / "assets" / "app.js").write_text(f'const url="https://x.supabase.co",anon="{state.anon_key}";')
    take_snapshot(site)
    (site / "assets" / "admin.js").write_text(f'createClient(url, "{state.service_key}")')
    with pytest.raises(SecretFileError, match="service_role"):
        take_snapshot(site)
