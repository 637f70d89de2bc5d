"""Supabase provider against the stateful Management API fake: secrets, edge functions,
project refs, auth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moai_adk.errors import AuthError, ConfigError, NotFoundError, NotSupported, UsageError
from moai_adk.providers.capabilities import Hosting, require
from tests.fakes.supabase_api import FakeSupabaseApi, supabase_provider

REF = "abcdefghijklmnopqrst"
STAGING = "tsrqponmlkjihgfedcba"


@pytest.fixture
def fake() -> Iterator[FakeSupabaseApi]:
    f = FakeSupabaseApi(refs=(REF, STAGING))
    yield f
    assert f.violations == [], f.violations


# what the caller (the CLI) puts into ProviderContext.settings from moai.toml's [environments.<env>] tables
ENVS = {"environments": {"production": {"supabase_project_ref": REF}, "staging": {"supabase_project_ref": STAGING}}}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path


def provider(fake: FakeSupabaseApi, root: Path, **kw: Any) -> Any:
    """A provider given the per-environment refs, as the CLI passes them."""
    kw.setdefault("settings", ENVS)
    return supabase_provider(fake, root, **kw)


def test_secrets_round_trip(project: Path, fake: FakeSupabaseApi) -> None:
    sb = provider(fake, project)
    assert sb.env_list("production") == []
    var = sb.env_set("production", "STRIPE_KEY", "sk_test_123")
    assert var.key == "STRIPE_KEY" and var.value is None and var.secret
    sb.set_secrets("production", {"OPENAI_KEY": "x" * 24_576, "STRIPE_KEY": "sk_test_456"})
    listed = sb.env_list("production")
    assert [v.key for v in listed] == ["OPENAI_KEY", "STRIPE_KEY"]
    assert all(v.value is None and v.secret and v.environments == ["production"] for v in listed)
    assert fake.projects[REF].secrets["STRIPE_KEY"][0] == "sk_test_456"
    assert fake.projects[STAGING].secrets == {}  # environments map to their own project
    sb.env_unset("production", "STRIPE_KEY")
    assert [v.key for v in sb.env_list("production")] == ["OPENAI_KEY"]
    delete = [c for c in fake.calls if c.method == "DELETE"][0]
    assert json.loads(delete.body) == ["STRIPE_KEY"]
    with pytest.raises(NotFoundError, match="no secret named NOPE"):
        sb.env_unset("production", "NOPE")
    sb.env_set("staging", "ONLY_STAGING", "1")
    assert [v.key for v in sb.env_list("staging")] == ["ONLY_STAGING"]


@pytest.mark.parametrize(("key", "value", "match"), [
    ("SUPABASE_URL", "x", "reserved"),
    ("SUPABASE_ANON_KEY", "x", "reserved"),
    ("HAS SPACE", "x", "not a usable secret name"),
    ("", "x", "not a usable secret name"),
    ("A=B", "x", "not a usable secret name"),
    ("BIG", "x" * 24_577, "at most 24,576"),
])
def test_bad_secrets_are_refused_before_sending(project: Path, fake: FakeSupabaseApi, key: str, value: str, match: str) -> None:
    sb = provider(fake, project)
    with pytest.raises(UsageError, match=match):
        sb.env_set("production", key, value)
    with pytest.raises(UsageError, match=match):
        sb.set_secrets("production", {"GOOD": "1", key: value})
    assert fake.calls == []


def test_missing_token_and_wrong_token(project: Path, fake: FakeSupabaseApi) -> None:
    with pytest.raises(AuthError, match="SUPABASE_ACCESS_TOKEN"):
        provider(fake, project, environ={}).env_list("production")
    assert fake.calls == []
    with pytest.raises(AuthError) as info:
        provider(fake, project, environ={"SUPABASE_ACCESS_TOKEN": "sbp_revoked"}).env_list("production")
    assert info.value.status == 401 and "SUPABASE_ACCESS_TOKEN" in (info.value.hint or "")


def test_project_ref_sources_and_validation(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    with pytest.raises(ConfigError, match="No Supabase project ref"):
        supabase_provider(fake, tmp_path).project_ref("production")
    assert supabase_provider(fake, tmp_path, settings={"project_ref": REF}).project_ref("production") == REF
    (tmp_path / "supabase" / ".temp").mkdir(parents=True)
    (tmp_path / "supabase" / ".temp" / "project-ref").write_text(STAGING + "\n")
    assert supabase_provider(fake, tmp_path).project_ref("production") == STAGING
    both = {**ENVS, "project_ref": "zzzzzzzzzzzzzzzzzzzz"}
    assert supabase_provider(fake, tmp_path, settings=both).project_ref("production") == REF
    assert supabase_provider(fake, tmp_path, settings=both).project_ref("preview") == "zzzzzzzzzzzzzzzzzzzz"
    bad = {"environments": {"production": {"supabase_project_ref": "Bad-Ref"}}}
    with pytest.raises(ConfigError) as info:
        supabase_provider(fake, tmp_path, settings=bad).project_ref("production")
    assert "'Bad-Ref'" in info.value.message and "20 lowercase letters" in info.value.message
    assert "[environments.production] supabase_project_ref" in info.value.message
    assert fake.calls == []


def test_project_ref_comes_from_the_caller_not_from_moai_toml(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    """The provider reads no moai.toml: the caller passes ctx.environments."""
    (tmp_path / "moai.toml").write_text(f'[project]\nname = "d"\n[environments.production]\n'
                                        f'supabase_project_ref = "{REF}"\n')
    with pytest.raises(ConfigError, match="No Supabase project ref"):
        supabase_provider(fake, tmp_path).project_ref("production")
    (tmp_path / "moai.toml").write_text('[project]\nname = "d"\n[environments.production]\n'
                                        'supabase_project_ref = "Bad-Ref"\n')
    assert provider(fake, tmp_path).project_ref("production") == REF
    odd = {"environments": {"production": "not a table"}, "project_ref": STAGING}
    assert supabase_provider(fake, tmp_path, settings=odd).project_ref("production") == STAGING


def test_unknown_project_is_not_found(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    sb = supabase_provider(fake, tmp_path, settings={"project_ref": "zzzzzzzzzzzzzzzzzzzz"})
    with pytest.raises(NotFoundError):
        sb.env_list("production")


def test_static_deploy_is_not_supported(project: Path, fake: FakeSupabaseApi) -> None:
    out = project / "dist"
    out.mkdir()
    (out / "index.html").write_text("x")
    provider = supabase_provider(fake, project)
    assert not isinstance(provider, Hosting)
    with pytest.raises(NotSupported) as info:
        require(provider, Hosting, "site hosting")
    assert "supabase platform has no site hosting" in info.value.message
    assert "functions deploy" in (info.value.hint or "")


def test_rate_limits_are_retried(project: Path, fake: FakeSupabaseApi) -> None:
    fake.bursts = 3
    sb = provider(fake, project)
    sb.env_set("production", "A", "1")
    assert [v.key for v in sb.env_list("production")] == ["A"]
    assert sum(1 for c in fake.calls if c.status == 429) == 3


def test_fake_checks_requests_against_the_openapi_document(fake: FakeSupabaseApi) -> None:
    import httpx

    with httpx.Client(transport=fake.transport(), base_url=fake.base_url,
                      headers={"Authorization": "Bearer sbp_test"}) as c:
        assert c.post(f"/v1/projects/{REF}/secrets", json=[{"name": "SUPABASE_X", "value": "1"}]).status_code == 400
        assert c.get("/v1/projects/SHORT/secrets").status_code == 400
        assert c.post(f"/v1/projects/{REF}/functions/deploy", params={"slug": "1bad"},
                      files=[("file", ("a.ts", b"x"))], data={"metadata": "{}"}).status_code == 400
        assert c.post(f"/v1/projects/{REF}/functions/deploy", params={"slug": "ok"},
                      files=[("file[]", ("a.ts", b"x"))],
                      data={"metadata": json.dumps({"entrypoint_path": "a.ts"})}).status_code == 400
        assert c.get(f"/v1/projects/{REF}/secrets", params={"page": "2"}).status_code == 400
    assert [c.status for c in fake.calls] == [400] * 5
    for expected in ("SUPABASE_X", "ref='SHORT'", "slug='1bad'", "'entrypoint_path' is a required", "'file[]'",
                     "'page' is not in the spec"):
        assert any(expected in v for v in fake.violations), (expected, fake.violations)
    fake.violations.clear()
