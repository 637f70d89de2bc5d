"""The Supabase backend against the Management API and Storage fakes (in process, MockTransport): plan, apply,
idempotence, per-environment overrides, secrets by digest, and the bad inputs of issue 11."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from moai_adk.backend import BackendError, apply_plan, make_plan, open_backend
from moai_adk.backend.plan import MASK
from moai_adk.config import load_config
from moai_adk.errors import AuthError, ConfigError, MoaiError, ProviderError

from .supabase_setup import PRODUCTION, STAGING, TOML, Fakes, make_project


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def backend(fakes: Fakes, root: Path, environ: dict[str, str], env: str = "staging"):  # type: ignore[no-untyped-def]
    return open_backend(load_config(root / "moai.toml"), "supabase", env, environ, fakes.transport())


def test_plan_apply_converges_and_a_second_apply_is_a_no_op(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    make_project(root, environ)
    live = fakes.api.backend_state(STAGING)
    live.add_bucket("old-uploads", objects=3)
    live.publication = {"public.profiles"}
    live.auth["uri_allow_list"] = "https://old.example/**"

    plan = make_plan(backend(fakes, root, environ))
    rendered = {c.render() for c in plan.changes}
    assert "~ auth site_url: http://localhost:3000 -> https://staging.shop.example" in rendered  # the override
    assert "~ auth jwt_exp: 3600 -> 7200" in rendered and "~ auth external_github_enabled: false -> true" in rendered
    assert "- bucket old-uploads   (destructive)" in rendered and "- redirect_url https://old.example/**" in rendered
    assert "+ realtime_table public.todos = true" in rendered and "- realtime_table public.profiles" in rendered
    assert "+ extension vector = true" in rendered and "+ secret STRIPE_KEY = (secret)" in rendered
    assert not any(c.kind == "auth" and c.name == "mailer_autoconfirm" for c in plan.changes)  # already false
    assert plan.round_trips <= 6 and plan.target == STAGING

    with pytest.raises(BackendError, match="old-uploads"):
        apply_plan(backend(fakes, root, environ))
    assert "old-uploads" in live.buckets and "avatars" not in live.buckets  # nothing applied

    done = apply_plan(backend(fakes, root, environ), allow_destructive=True)
    assert len(done.applied) == len(plan.changes)
    assert live.auth["site_url"] == "https://staging.shop.example" and live.auth["jwt_exp"] == 7200
    assert live.auth["uri_allow_list"] == "https://shop.example/auth/callback,http://localhost:3000/**"
    assert sorted(live.buckets) == ["avatars", "invoices"]
    assert live.buckets["avatars"]["allowed_mime_types"] == ["image/jpeg", "image/png"]
    assert live.buckets["avatars"]["public"] and not live.buckets["invoices"]["public"]
    assert live.publication == {"public.todos", "public.messages"} and {"pg_trgm", "vector"} <= live.extensions
    assert fakes.api.projects[STAGING].secrets["STRIPE_KEY"][0] == "sk_test_staging_1"
    assert fakes.api.projects[PRODUCTION].secrets == {}  # another environment's project is untouched

    again = apply_plan(backend(fakes, root, environ))
    assert again.plan.changes == [] and again.applied == []
    assert fakes.api.violations == [] and fakes.storage.violations == []


def test_secrets_are_compared_by_the_digest_the_api_answers_and_never_shown(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    make_project(root, environ)
    project = fakes.api.projects[PRODUCTION]
    project.secrets["STRIPE_KEY"] = ("sk_live_prod_1", "2026-01-01T00:00:00Z")  # the same value: no change
    project.secrets["LEFTOVER"] = ("x", "2026-01-01T00:00:00Z")
    project.secrets["SUPABASE_URL"] = ("https://p.supabase.co", "2026-01-01T00:00:00Z")  # Supabase's own: kept
    plan = make_plan(backend(fakes, root, environ, "production"))
    secrets = [(c.action, c.name) for c in plan.changes if c.kind == "secret"]
    assert secrets == [("remove", "LEFTOVER")]
    project.secrets["STRIPE_KEY"] = ("sk_live_rotated_by_hand", "2026-01-02T00:00:00Z")
    plan = make_plan(backend(fakes, root, environ, "production"))
    [change] = [c for c in plan.changes if c.kind == "secret" and c.action == "change"]
    text = json.dumps(plan.to_json()) + change.render()
    assert "sk_live" not in text and MASK in text
    assert change.before == hashlib.sha256(b"sk_live_rotated_by_hand").hexdigest()


def test_a_section_left_out_is_neither_read_nor_managed(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    make_project(root, environ, '[project]\nname = "shop"\n\n[environments.staging]\n'
                                f'supabase_project_ref = "{STAGING}"\n\n[backend.supabase.auth]\njwt_expiry = 3600\n',
                 secrets={})
    fakes.api.backend_state(STAGING).add_bucket("kept", objects=1)
    plan = make_plan(backend(fakes, root, environ))
    assert plan.changes == [] and plan.round_trips == 1  # only the auth config was read
    assert [r.path for r in fakes.api.requests] == [f"/v1/projects/{STAGING}/config/auth"]


def test_a_token_that_cannot_reach_the_project_names_it_and_the_permission(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    make_project(root, environ)
    fakes.api.tokens.add("sbp_other_org")
    fakes.api.backend_state(STAGING).members = {"sbp_test"}
    with pytest.raises(AuthError) as caught:
        make_plan(backend(fakes, root, fakes.environ(tmp_path, token="sbp_other_org")))
    message = caught.value.message
    assert STAGING in message and "environment staging" in message and "403" in message
    assert any(scope in message for scope in ("auth:read", "database:write", "secrets:read"))
    assert "SUPABASE_ACCESS_TOKEN" in (caught.value.hint or "")


def test_an_interrupted_apply_is_completed_by_the_next_run_without_duplicates(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    toml = TOML + "".join(f"\n[backend.supabase.buckets.b{n:02d}]\n" for n in range(6))
    make_project(root, environ, toml)
    live = fakes.api.backend_state(STAGING)
    live.fail_writes_after = 4  # the auth PATCH, the SQL, then two buckets; the rest fail
    with pytest.raises(MoaiError):
        apply_plan(backend(fakes, root, environ))
    assert 0 < len(live.buckets) < 8
    live.fail_writes_after = None
    before = set(live.buckets)
    done = apply_plan(backend(fakes, root, environ))
    wanted = {"avatars", "invoices", *(f"b{n:02d}" for n in range(6))}
    assert {c.name for c in done.applied if c.kind == "bucket"} == wanted - before  # only what was left
    assert set(live.buckets) == wanted
    created = [r for r in fakes.storage.requests if r.method == "POST" and r.path == "/storage/v1/bucket"
               and r.status == 200]
    assert len(created) == len(wanted)  # each bucket created once, none twice (no 409 Duplicate either)
    assert all(r.status != 409 for r in fakes.storage.requests)
    assert apply_plan(backend(fakes, root, environ)).plan.changes == []


def test_a_bucket_name_storage_refuses_is_refused_before_any_request(fakes: Fakes, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "moai.toml").write_text(TOML + '\n[backend.supabase.buckets."photos/2026"]\n')
    with pytest.raises(ConfigError, match=r"backend\.supabase\.buckets"):
        load_config(root / "moai.toml")
    # and the Storage fake refuses the same name, as Storage does
    key = fakes.api.backend_state(STAGING).service_key
    response = fakes.handle(_storage_request(fakes, key, {"name": "photos/2026"}))
    assert response.status_code == 400 and response.json()["message"] == "Bucket name invalid"
    response = fakes.handle(_storage_request(fakes, key, {"name": "photos-2026"}))
    assert response.status_code == 200
    assert fakes.handle(_storage_request(fakes, key, {"name": "photos-2026"})).status_code == 409


def _storage_request(fakes: Fakes, key: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    import httpx

    url = fakes.storage.project_url.replace("{ref}", STAGING) + "/storage/v1/bucket"
    return httpx.Request("POST", url, json=body, headers={"apikey": key, "Authorization": f"Bearer {key}"})


def test_sql_the_database_refuses_is_shown_with_the_project(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    make_project(root, environ, TOML.replace('"todos", ', '"todos", "orders", '))
    with pytest.raises(ProviderError, match=r'relation "public.orders" does not exist') as caught:
        apply_plan(backend(fakes, root, environ), allow_destructive=True)
    assert STAGING in caught.value.message and "migration" in (caught.value.hint or "")
    assert fakes.api.backend_state(STAGING).publication == set()  # one transaction: nothing half-done


def test_two_environments_on_one_project_are_noted_and_need_confirmation(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    make_project(root, environ, TOML.replace(PRODUCTION, STAGING))
    plan = make_plan(backend(fakes, root, environ, "production"))
    assert any("also the Supabase project of staging" in n for n in plan.notes)
    with pytest.raises(BackendError, match="--yes|same Supabase project") as caught:
        apply_plan(backend(fakes, root, environ, "production"))
    assert "--yes" in (caught.value.hint or "")
    assert fakes.api.projects[STAGING].secrets == {}  # nothing applied
    apply_plan(backend(fakes, root, environ, "production"), confirmed=True)
    assert fakes.api.projects[STAGING].secrets["STRIPE_KEY"][0] == "sk_live_prod_1"


def test_an_unknown_environment_override_and_a_missing_secret_are_config_errors(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    make_project(root, environ, TOML + '\n[backend.supabase.environments.stagin]\nextensions = ["pg_trgm"]\n')
    with pytest.raises(ConfigError, match=r"environments\.stagin"):
        backend(fakes, root, environ)
    other = tmp_path / "other"
    make_project(other, environ, TOML.replace('name = "shop"', 'name = "other"').replace('secrets = ["STRIPE_KEY"]', 'secrets = ["STRIPE_KEY", "RESEND_KEY"]'))
    with pytest.raises(ConfigError, match="RESEND_KEY") as caught:
        make_plan(backend(fakes, other, environ))
    assert "secrets set --env staging RESEND_KEY" in (caught.value.hint or "")
    assert fakes.api.requests == []


def test_removing_a_bucket_empties_it_first_and_a_queued_empty_is_reported(fakes: Fakes, tmp_path: Path) -> None:
    environ = fakes.environ(tmp_path)
    root = tmp_path / "shop"
    make_project(root, environ)
    live = fakes.api.backend_state(STAGING)
    live.add_bucket("old", objects=5)
    fakes.storage.empty_is_queued = True
    with pytest.raises(ProviderError, match="not empty") as caught:
        apply_plan(backend(fakes, root, environ), allow_destructive=True)
    assert "again" in (caught.value.hint or "")
    fakes.storage.run_queue()
    done = apply_plan(backend(fakes, root, environ), allow_destructive=True)  # the queue has run
    assert [c.name for c in done.applied] == ["old"] and "old" not in live.buckets


def test_the_storage_fake_is_held_to_its_spec(fakes: Fakes) -> None:
    import httpx

    from tests.fakes import spec_check

    assert spec_check.uncovered_routes(fakes.storage) == []
    key = fakes.api.backend_state(STAGING).service_key
    url = fakes.storage.project_url.replace("{ref}", STAGING) + "/storage/v1/bucket"
    headers = {"apikey": key, "Authorization": f"Bearer {key}"}
    bad = fakes.handle(httpx.Request("POST", url, json={"name": "ok", "public": "yes"}, headers=headers))
    assert bad.status_code == 400 and "spec violation" in bad.json()["message"]
    assert any("public" in v for v in fakes.storage.violations)
    fakes.storage.violations.clear()
    anon = fakes.api.backend_state(STAGING).anon_key
    refused = fakes.handle(httpx.Request("GET", url, headers={"apikey": anon, "Authorization": f"Bearer {anon}"}))
    assert refused.status_code == 403  # only the service-role key manages buckets
