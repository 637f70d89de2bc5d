"""`create = true` in [backend.supabase]: the project is created through the Management API fake, waited for,
recorded in moai.toml, and the rest of the plan applied to it; interrupted and failed creations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moai_adk.backend import BackendError, apply_plan, make_plan, open_backend
from moai_adk.backend.supabase_create import DB_PASSWORD_KEY
from moai_adk.config import load_config
from moai_adk.errors import ConfigError, MoaiError, ProviderError
from moai_adk.secrets.ops import open_store

from .supabase_setup import PRODUCTION, Fakes, make_project

TOML = f"""[project]
name = "shop"

[environments.staging]
# staging's project is made by `moai-adk backend apply`
url = "https://staging.shop.example"

[environments.production]
supabase_project_ref = "{PRODUCTION}"

[backend.supabase]
extensions = ["vector"]

[backend.supabase.buckets.avatars]
public = true

[backend.supabase.environments.staging]
create = true
organization = "acme"   # the team's organization
region = "eu-central-1"
plan = "free"
"""


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def backend(fakes: Fakes, root: Path, environ: dict[str, str], env: str = "staging", timeout: float = 60.0):  # type: ignore[no-untyped-def]
    b = open_backend(load_config(root / "moai.toml"), "supabase", env, environ, fakes.transport())
    b.sleep = lambda _s: None
    b.create_timeout = timeout
    return b


def project(tmp_path: Path, environ: dict[str, str], toml: str = TOML, keys: bool = True) -> Path:
    root = tmp_path / "shop"
    make_project(root, environ, toml, secrets={"staging": {}} if keys else {})
    return root


def test_plan_shows_the_project_first_and_apply_creates_it_then_applies_the_rest(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = project(tmp_path, environ)
    plan = make_plan(backend(fakes, root, environ))
    assert plan.changes[0].render() == '+ project shop-staging = {"organization": "acme", "region": "eu-central-1"}'
    assert {c.render() for c in plan.changes[1:]} == {
        '+ bucket avatars = {"allowed_mime_types": null, "file_size_limit": null, "public": true}',
        "+ extension vector = true"}
    assert plan.target == "new project shop-staging" and plan.round_trips == 1
    assert any("creates it in organization acme (eu-central-1)" in n for n in plan.notes)
    assert any("plan is ignored" in n for n in plan.notes)
    assert fakes.api.created == []  # a plan creates nothing

    done = apply_plan(backend(fakes, root, environ))
    assert [c.kind for c in done.applied][0] == "project"
    assert len(fakes.api.created) == 1
    body = fakes.api.created[0]
    assert body["name"] == "shop-staging" and body["organization_slug"] == "acme"
    assert body["region_selection"] == {"type": "specific", "code": "eu-central-1"} and "plan" not in body
    ref = next(r for r in fakes.api.project_rows)
    assert fakes.api.project_rows[ref]["status"] == "ACTIVE_HEALTHY"
    health = [r for r in fakes.api.requests if r.path == f"/v1/projects/{ref}/health"]
    assert len(health) == 3  # two COMING_UP, then healthy
    assert health[0].query["services"] == ["auth", "db", "rest", "storage"]
    # the ref is in moai.toml, comments and the rest kept
    text = (root / "moai.toml").read_text()
    assert f'supabase_project_ref = "{ref}"' in text
    assert "# staging's project is made by `moai-adk backend apply`" in text and "# the team's organization" in text
    assert load_config(root / "moai.toml").environment("staging") is not None
    # the rest of the plan went to the new project
    live = fakes.api.backend_state(ref)
    assert live.buckets["avatars"]["public"] and "vector" in live.extensions
    # the database password is in the staging store, and nowhere it could be read
    cfg = load_config(root / "moai.toml")
    password = open_store(cfg, "staging", environ).read()[DB_PASSWORD_KEY]
    assert password == body["db_pass"] and len(password) >= 40
    audit = (root / ".moai" / "audit" / "log.jsonl").read_text()
    assert password not in audit and "add project shop-staging" in audit
    assert password not in json.dumps(done.to_json())
    # a second apply: nothing to create, nothing to change
    again = make_plan(backend(fakes, root, environ))
    assert again.target == ref and again.changes == []
    assert not fakes.api.violations


def test_an_apply_interrupted_after_the_create_adopts_the_project_instead_of_creating_another(
        fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = project(tmp_path, environ)
    fakes.api.fail_after_create = True  # the project is made, the answer is lost
    with pytest.raises(ProviderError, match="shop-staging"):
        apply_plan(backend(fakes, root, environ))
    ref = next(iter(fakes.api.project_rows))
    assert len(fakes.api.created) == 1 and ref not in (root / "moai.toml").read_text()

    plan = make_plan(backend(fakes, root, environ))
    assert any(f"already exists in organization acme ({ref}" in n and "adopts it" in n for n in plan.notes)
    apply_plan(backend(fakes, root, environ))
    assert len(fakes.api.created) == 1  # adopted, not created twice
    assert f'supabase_project_ref = "{ref}"' in (root / "moai.toml").read_text()
    assert "avatars" in fakes.api.backend_state(ref).buckets
    # the password the project was created with is still the stored one
    assert open_store(load_config(root / "moai.toml"), "staging", environ).read()[DB_PASSWORD_KEY] == \
        fakes.api.created[0]["db_pass"]


def test_a_project_that_never_comes_up_is_a_clear_error_and_is_kept(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = project(tmp_path, environ)
    fakes.api.health_polls = None
    with pytest.raises(BackendError) as err:
        apply_plan(backend(fakes, root, environ, timeout=30))
    ref = next(iter(fakes.api.project_rows))
    text = err.value.message
    assert ref in text and "auth (COMING_UP), db (COMING_UP), rest (COMING_UP), storage (COMING_UP)" in text
    assert "not deleted" in text and "backend apply` again" in (err.value.hint or "")
    assert ref in fakes.api.projects and ref not in (root / "moai.toml").read_text()
    # once it is up, the next apply picks it up
    fakes.api.health_left[ref] = 0
    apply_plan(backend(fakes, root, environ))
    assert len(fakes.api.created) == 1 and f'"{ref}"' in (root / "moai.toml").read_text()


@pytest.mark.parametrize("drop, missing", [('organization = "acme"   # the team\'s organization\n', "organization"),
                                           ('region = "eu-central-1"\n', "region")])
def test_create_without_organization_or_region_is_an_error_before_any_request(
        fakes: Fakes, tmp_path: Path, drop: str, missing: str) -> None:
    environ = fakes.environ(tmp_path)
    root = project(tmp_path, environ, TOML.replace(drop, ""))
    with pytest.raises(ConfigError, match=f"no {missing}") as err:
        backend(fakes, root, environ)
    assert "[backend.supabase.environments.staging]" in (err.value.hint or "")
    assert fakes.api.requests == []


def test_a_region_supabase_does_not_offer_is_refused_by_the_config(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    root.mkdir()
    (root / "moai.toml").write_text(TOML.replace("eu-central-1", "mars-north-1"))
    with pytest.raises(MoaiError, match="region"):
        open_backend(load_config(root / "moai.toml"), "supabase", "staging", environ, fakes.transport())


def test_no_secrets_key_refuses_before_any_request(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = project(tmp_path, environ, keys=False)
    with pytest.raises(ConfigError, match="SUPABASE_DB_PASSWORD") as err:
        apply_plan(backend(fakes, root, environ))
    assert "moai-adk secrets keygen --env staging" in (err.value.hint or "")
    assert fakes.api.requests == [] and fakes.api.created == []


def test_a_ref_already_set_wins_over_create(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = project(tmp_path, environ, TOML.replace(
        "[environments.staging]\n", f'[environments.staging]\nsupabase_project_ref = "{PRODUCTION}"\n'))
    plan = make_plan(backend(fakes, root, environ))
    assert plan.target == PRODUCTION and not any(c.kind == "project" for c in plan.changes)
    assert not any(r.path == "/v1/projects" for r in fakes.api.requests)
