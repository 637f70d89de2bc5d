"""Supabase provider against the stateful Management API fake: secrets, edge functions,
project refs, auth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_adk.deploy.snapshot import take_snapshot
from moai_adk.errors import AuthError, ConfigError, NotFoundError, NotSupported, UsageError
from moai_adk.providers.base import DeployTarget
from tests.fakes.supabase_api import FakeSupabaseApi, parse_multipart, supabase_provider

REF = "abcdefghijklmnopqrst"
STAGING = "tsrqponmlkjihgfedcba"


@pytest.fixture
def fake() -> Iterator[FakeSupabaseApi]:
    f = FakeSupabaseApi(refs=(REF, STAGING))
    yield f
    assert f.violations == [], f.violations


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "moai.toml").write_text(
        '[project]\nname = "demo"\n\n'
        f'[environments.production]\nsupabase_project_ref = "{REF}"\n\n'
        f'[environments.staging]\nsupabase_project_ref = "{STAGING}"\n'
    )
    return tmp_path


def test_secrets_round_trip(project: Path, fake: FakeSupabaseApi) -> None:
    sb = supabase_provider(fake, project)
    assert sb.env_list("production") == []
    var = sb.env_set("production", "STRIPE_KEY", "sk_test_123")
    assert var.key == "STRIPE_KEY" and var.value is None and var.secret
    sb.env_set_many("production", {"OPENAI_KEY": "x" * 24_576, "STRIPE_KEY": "sk_test_456"})
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
    sb = supabase_provider(fake, project)
    with pytest.raises(UsageError, match=match):
        sb.env_set("production", key, value)
    with pytest.raises(UsageError, match=match):
        sb.env_set_many("production", {"GOOD": "1", key: value})
    assert fake.calls == []


def test_missing_token_and_wrong_token(project: Path, fake: FakeSupabaseApi) -> None:
    with pytest.raises(AuthError, match="SUPABASE_ACCESS_TOKEN"):
        supabase_provider(fake, project, environ={}).env_list("production")
    assert fake.calls == []
    with pytest.raises(AuthError) as info:
        supabase_provider(fake, project, environ={"SUPABASE_ACCESS_TOKEN": "sbp_revoked"}).env_list("production")
    assert info.value.status == 401 and "SUPABASE_ACCESS_TOKEN" in (info.value.hint or "")


def test_project_ref_sources_and_validation(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    with pytest.raises(ConfigError, match="No Supabase project ref"):
        supabase_provider(fake, tmp_path).project_ref("production")
    assert supabase_provider(fake, tmp_path, settings={"project_ref": REF}).project_ref("production") == REF
    (tmp_path / "supabase" / ".temp").mkdir(parents=True)
    (tmp_path / "supabase" / ".temp" / "project-ref").write_text(STAGING + "\n")
    assert supabase_provider(fake, tmp_path).project_ref("production") == STAGING
    (tmp_path / "moai.toml").write_text('[project]\nname = "d"\n[environments.production]\nsupabase_project_ref = "Bad-Ref"\n')
    with pytest.raises(ConfigError) as info:
        supabase_provider(fake, tmp_path).project_ref("production")
    assert "'Bad-Ref'" in info.value.message and "20 lowercase letters" in info.value.message
    assert "supabase_project_ref" in info.value.message
    assert fake.calls == []


def test_unknown_project_is_not_found(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    sb = supabase_provider(fake, tmp_path, settings={"project_ref": "zzzzzzzzzzzzzzzzzzzz"})
    with pytest.raises(NotFoundError):
        sb.env_list("production")


def write_function(root: Path, name: str, body: str = "Deno.serve(() => new Response('hi'))\n") -> Path:
    folder = root / "supabase" / "functions" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.ts").write_text(body)
    return folder


def test_deploy_functions(project: Path, fake: FakeSupabaseApi) -> None:
    shared = project / "supabase" / "functions" / "_shared"
    shared.mkdir(parents=True)
    (shared / "cors.ts").write_text("export const cors = {}\n")
    (shared / "unused.ts").write_text("export const unused = 1\n")
    hello = write_function(project, "hello", 'import { cors } from "../_shared/cors.ts";\nimport { x } from "./util.ts";\n'
                                             'import { serve } from "https://deno.land/std/http/server.ts";\n')
    (hello / "util.ts").write_text("export const x = 1\n")
    (hello / "data.json").write_text("{}")
    write_function(project, "webhook")
    (project / "supabase" / "config.toml").write_text(
        'project_id = "demo"\n[functions.webhook]\nverify_jwt = false\n[functions.disabled]\nenabled = false\n')
    write_function(project, "disabled")

    sb = supabase_provider(fake, project)
    assert sb.local_functions() == ["disabled", "hello", "webhook"]
    plan = {r["slug"]: r for r in sb.deploy_functions(dry_run=True)}
    assert fake.calls == [] and plan["hello"]["planned"] and plan["hello"]["files"] == 4
    assert "supabase/functions/_shared/cors.ts" in plan["hello"]["paths"]
    results = {r["slug"]: r for r in sb.deploy_functions()}
    assert results["disabled"]["skipped"]
    assert results["hello"]["version"] == 1 and results["hello"]["status"] == "ACTIVE"
    files = fake.projects[REF].function_files["hello"]
    assert sorted(files) == ["supabase/functions/_shared/cors.ts", "supabase/functions/hello/data.json",
                             "supabase/functions/hello/index.ts", "supabase/functions/hello/util.ts"]
    meta = fake.projects[REF].function_meta
    assert meta["hello"] == {"entrypoint_path": "supabase/functions/hello/index.ts", "name": "hello", "verify_jwt": True}
    assert meta["webhook"]["verify_jwt"] is False
    deploy_calls = [c for c in fake.calls if c.path.endswith("/functions/deploy")]
    assert [c.query["slug"] for c in deploy_calls] == [["hello"], ["webhook"]]
    parts = parse_multipart(deploy_calls[0].ctype, deploy_calls[0].body)
    assert [n for n, _, _ in parts] == ["metadata"] + ["file"] * 4
    assert dict((f, d) for n, f, d in parts if n == "file")["supabase/functions/hello/util.ts"] == b"export const x = 1\n"
    again = sb.deploy_functions(["hello"])
    assert again[0]["version"] == 2
    listed = {f["slug"]: f for f in sb.list_functions()}
    assert listed["hello"]["version"] == 2 and listed["webhook"]["verify_jwt"] is False
    sb.delete_function("webhook")
    assert [f["slug"] for f in sb.list_functions()] == ["hello"]


def test_import_map_and_missing_function(project: Path, fake: FakeSupabaseApi) -> None:
    folder = write_function(project, "with-map")
    (folder / "deno.json").write_text('{"imports": {}}')
    sb = supabase_provider(fake, project)
    sb.deploy_functions(["with-map"])
    meta = fake.projects[REF].function_meta["with-map"]
    assert meta["import_map_path"] == "supabase/functions/with-map/deno.json"
    with pytest.raises(UsageError, match="No edge function 'ghost'"):
        sb.deploy_functions(["ghost"])
    with pytest.raises(UsageError, match="not a valid function name"):
        sb.deploy_functions(["../etc"])


def test_import_outside_the_project_is_refused(project: Path, fake: FakeSupabaseApi) -> None:
    write_function(project, "escape", 'import "../../../../outside.ts";\n')
    (project.parent / "outside.ts").write_text("x")
    with pytest.raises(ConfigError, match="outside the project folder"):
        supabase_provider(fake, project).deploy_functions(["escape"])
    assert fake.calls == []


def test_no_functions(project: Path, fake: FakeSupabaseApi) -> None:
    with pytest.raises(UsageError, match="no edge functions"):
        supabase_provider(fake, project).deploy_functions()


def test_static_deploy_is_not_supported(project: Path, fake: FakeSupabaseApi) -> None:
    out = project / "dist"
    out.mkdir()
    (out / "index.html").write_text("x")
    with pytest.raises(NotSupported) as info:
        supabase_provider(fake, project).deploy(take_snapshot(out), DeployTarget())
    assert "no static sites" in info.value.message and "functions deploy" in (info.value.hint or "")


def test_rate_limits_are_retried(project: Path, fake: FakeSupabaseApi) -> None:
    fake.bursts = 3
    sb = supabase_provider(fake, project)
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
