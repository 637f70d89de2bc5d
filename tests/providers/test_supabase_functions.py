"""Supabase edge function deploys against the Management API fake: which files are sent and how
they are named (import-map aliases and scopes, transitive imports, static files), as the
Supabase CLI's API deploy does. The fake bundles from the entrypoint with the uploaded files
only, so a module the adapter forgot fails the deploy as it would on the real service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moai_adk.errors import ConfigError, UsageError
from tests.fakes.supabase_api import FakeSupabaseApi, bundle_missing, parse_multipart, supabase_provider

REF = "abcdefghijklmnopqrst"
ENVS = {"environments": {"production": {"supabase_project_ref": REF}}}
SERVE = "Deno.serve(() => new Response('hi'))\n"


@pytest.fixture
def fake() -> Iterator[FakeSupabaseApi]:
    f = FakeSupabaseApi(refs=(REF,))
    yield f
    assert f.violations == [], f.violations


def provider(fake: FakeSupabaseApi, root: Path) -> Any:
    return supabase_provider(fake, root, settings=ENVS)


def put(root: Path, rel: str, text: str = SERVE) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def sent(fake: FakeSupabaseApi, slug: str) -> list[str]:
    return sorted(fake.projects[REF].function_files[slug])


def test_deploy_functions(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/functions/_shared/cors.ts", "export const cors = {}\n")
    put(tmp_path, "supabase/functions/_shared/unused.ts", "export const unused = 1\n")
    put(tmp_path, "supabase/functions/hello/index.ts",
        'import { cors } from "../_shared/cors.ts";\nimport { x } from "./util.ts";\n'
        'import { serve } from "https://deno.land/std/http/server.ts";\n')
    put(tmp_path, "supabase/functions/hello/util.ts", "export const x = 1\n")
    put(tmp_path, "supabase/functions/hello/notes.md", "not imported, not static: not sent (as the CLI)\n")
    put(tmp_path, "supabase/functions/webhook/index.ts")
    put(tmp_path, "supabase/functions/disabled/index.ts")
    put(tmp_path, "supabase/config.toml",
        'project_id = "demo"\n[functions.webhook]\nverify_jwt = false\n[functions.disabled]\nenabled = false\n')

    sb = provider(fake, tmp_path)
    assert sb.local_functions() == ["disabled", "hello", "webhook"]
    plan = {r["slug"]: r for r in sb.deploy_functions(dry_run=True)}
    assert fake.calls == [] and plan["hello"]["planned"] and plan["hello"]["files"] == 3
    assert plan["hello"]["paths"][0] == "supabase/functions/hello/index.ts"
    results = {r["slug"]: r for r in sb.deploy_functions()}
    assert results["disabled"]["skipped"]
    assert results["hello"]["version"] == 1 and results["hello"]["status"] == "ACTIVE"
    assert sent(fake, "hello") == ["supabase/functions/_shared/cors.ts", "supabase/functions/hello/index.ts",
                                   "supabase/functions/hello/util.ts"]
    meta = fake.projects[REF].function_meta
    assert meta["hello"] == {"entrypoint_path": "supabase/functions/hello/index.ts", "name": "hello",
                             "static_patterns": [], "verify_jwt": True}
    assert meta["webhook"]["verify_jwt"] is False
    deploy_calls = [c for c in fake.calls if c.path.endswith("/functions/deploy")]
    assert [c.query["slug"] for c in deploy_calls] == [["hello"], ["webhook"]]
    parts = parse_multipart(deploy_calls[0].ctype, deploy_calls[0].body)
    assert [n for n, _, _ in parts] == ["metadata"] + ["file"] * 3
    assert dict((f, d) for n, f, d in parts if n == "file")["supabase/functions/hello/util.ts"] == b"export const x = 1\n"
    assert sb.deploy_functions(["hello"])[0]["version"] == 2
    listed = {f["slug"]: f for f in sb.list_functions()}
    assert listed["hello"]["version"] == 2 and listed["webhook"]["verify_jwt"] is False
    sb.delete_function("webhook")
    assert [f["slug"] for f in sb.list_functions()] == ["hello"]


def test_alias_in_deno_json_uploads_shared_files_transitively(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/functions/hello/deno.json",
        '{"imports": {"@shared/": "../_shared/", "@std/http": "jsr:@std/http@1", "std/": "https://deno.land/std/"}}')
    put(tmp_path, "supabase/functions/hello/index.ts",
        'import { cors } from "@shared/cors.ts";\nimport { serve } from "std/http/server.ts";\n'
        'import * as http from "@std/http";\nconst lazy = await import("@shared/lazy.ts");\n' + SERVE)
    put(tmp_path, "supabase/functions/_shared/cors.ts",
        'export { headers } from "./headers.ts";\nimport type { Db } from "../_types/db.ts";\n')
    put(tmp_path, "supabase/functions/_shared/headers.ts", "export const headers = {}\n")
    put(tmp_path, "supabase/functions/_shared/lazy.ts", "export default 1\n")
    put(tmp_path, "supabase/functions/_types/db.ts", "export type Db = {}\n")
    put(tmp_path, "supabase/functions/_shared/other.ts", "export const other = 1\n")
    provider(fake, tmp_path).deploy_functions(["hello"])
    assert sent(fake, "hello") == [
        "supabase/functions/_shared/cors.ts", "supabase/functions/_shared/headers.ts",
        "supabase/functions/_shared/lazy.ts", "supabase/functions/_types/db.ts",
        "supabase/functions/hello/deno.json", "supabase/functions/hello/index.ts"]
    assert fake.projects[REF].function_meta["hello"]["import_map_path"] == "supabase/functions/hello/deno.json"


def test_scopes_and_jsonc_in_deno_jsonc(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/functions/hello/deno.jsonc", """{
      // aliases for this function
      "imports": {"@lib/": "../_lib/v1/", "@cfg": "./config.ts",},
      /* files under _lib resolve @lib/ to v2 */
      "scopes": {"../_lib/": {"@lib/": "../_lib/v2/"}},
    }""")
    put(tmp_path, "supabase/functions/hello/import_map.json", '{"imports": {"@lib/": "../nowhere/"}}')
    put(tmp_path, "supabase/functions/hello/index.ts", 'import "@lib/a.ts";\nimport { c } from "@cfg";\n' + SERVE)
    put(tmp_path, "supabase/functions/hello/config.ts", "export const c = 1\n")
    put(tmp_path, "supabase/functions/_lib/v1/a.ts", 'import { b } from "@lib/b.ts";\n')
    put(tmp_path, "supabase/functions/_lib/v2/b.ts", "export const b = 2\n")
    put(tmp_path, "supabase/functions/_lib/v1/b.ts", "export const b = 1\n")
    provider(fake, tmp_path).deploy_functions(["hello"])
    assert sent(fake, "hello") == [
        "supabase/functions/_lib/v1/a.ts", "supabase/functions/_lib/v2/b.ts", "supabase/functions/hello/config.ts",
        "supabase/functions/hello/deno.jsonc", "supabase/functions/hello/index.ts"]
    assert fake.projects[REF].function_meta["hello"]["import_map_path"] == "supabase/functions/hello/deno.jsonc"


def test_global_fallback_import_map(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/functions/import_map.json", '{"imports": {"@shared/": "./_shared/"}}')
    put(tmp_path, "supabase/functions/hello/index.ts", 'import { a } from "@shared/a.ts";\n' + SERVE)
    put(tmp_path, "supabase/functions/_shared/a.ts", "export const a = 1\n")
    result = provider(fake, tmp_path).deploy_functions(["hello"])[0]
    assert sent(fake, "hello") == ["supabase/functions/_shared/a.ts", "supabase/functions/hello/index.ts",
                                   "supabase/functions/import_map.json"]
    assert fake.projects[REF].function_meta["hello"]["import_map_path"] == "supabase/functions/import_map.json"
    assert any("fallback import map" in w for w in result["warnings"])


def test_config_toml_import_map_and_deno_json_reference(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/config.toml", '[functions.one]\nimport_map = "./maps/one.json"\n')
    put(tmp_path, "supabase/maps/one.json", '{"imports": {"@shared/": "../functions/_shared/"}}')
    put(tmp_path, "supabase/functions/one/index.ts", 'import "@shared/a.ts";\n' + SERVE)
    put(tmp_path, "supabase/functions/two/deno.json", '{"importMap": "../../maps/two.json"}')
    put(tmp_path, "supabase/maps/two.json", '{"imports": {"#a": "../functions/_shared/a.ts"}}')
    put(tmp_path, "supabase/functions/two/index.ts", 'import "#a";\n' + SERVE)
    put(tmp_path, "supabase/functions/_shared/a.ts", "export const a = 1\n")
    provider(fake, tmp_path).deploy_functions(["one", "two"])
    meta = fake.projects[REF].function_meta
    assert meta["one"]["import_map_path"] == "supabase/maps/one.json"
    assert sent(fake, "one") == ["supabase/functions/_shared/a.ts", "supabase/functions/one/index.ts",
                                 "supabase/maps/one.json"]
    assert meta["two"]["import_map_path"] == "supabase/functions/two/deno.json"
    assert sent(fake, "two") == ["supabase/functions/_shared/a.ts", "supabase/functions/two/deno.json",
                                 "supabase/functions/two/index.ts", "supabase/maps/two.json"]


def test_static_patterns_have_the_cli_base_and_their_files_are_sent(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/config.toml",
        '[functions.hello]\nstatic_files = ["./functions/hello/assets/*.html", "./templates/*", "./none/*"]\n')
    put(tmp_path, "supabase/functions/hello/index.ts")
    put(tmp_path, "supabase/functions/hello/assets/a.html", "<p>a</p>")
    put(tmp_path, "supabase/functions/hello/assets/b.css", "p{}")
    put(tmp_path, "supabase/templates/mail.txt", "hi")
    result = provider(fake, tmp_path).deploy_functions(["hello"])[0]
    meta = fake.projects[REF].function_meta["hello"]
    assert meta["static_patterns"] == ["supabase/functions/hello/assets/*.html", "supabase/templates/*",
                                       "supabase/none/*"]
    assert fake.projects[REF].function_static["hello"] == ["supabase/functions/hello/assets/a.html",
                                                           "supabase/templates/mail.txt"]
    assert "supabase/functions/hello/assets/b.css" not in sent(fake, "hello")
    assert any("./none/*" in w and "matched no file" in w for w in result["warnings"])


def test_static_files_outside_the_project_are_refused(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/config.toml", '[functions.hello]\nstatic_files = ["../../*"]\n')
    put(tmp_path, "supabase/functions/hello/index.ts")
    with pytest.raises(ConfigError, match="outside the project"):
        provider(fake, tmp_path).deploy_functions(["hello"])
    assert fake.calls == []


def test_alias_leaving_the_project_is_refused(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    project = tmp_path / "site"
    put(project, "supabase/functions/hello/deno.json", '{"imports": {"@out/": "../../../../"}}')
    put(project, "supabase/functions/hello/index.ts", 'import "@out/secret.ts";\n')
    put(tmp_path, "secret.ts", "x")
    with pytest.raises(ConfigError, match="outside the project folder"):
        provider(fake, project).deploy_functions(["hello"])
    assert fake.calls == []


def test_import_map_errors_and_missing_function(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/functions/hello/deno.json", '{"imports": ')
    put(tmp_path, "supabase/functions/hello/index.ts")
    sb = provider(fake, tmp_path)
    with pytest.raises(ConfigError, match="not valid JSON"):
        sb.deploy_functions(["hello"])
    put(tmp_path, "supabase/config.toml", '[functions.hello]\nimport_map = "./missing.json"\n')
    with pytest.raises(ConfigError, match="import_map ./missing.json does not exist"):
        sb.deploy_functions(["hello"])
    with pytest.raises(UsageError, match="No edge function 'ghost'"):
        sb.deploy_functions(["ghost"])
    with pytest.raises(UsageError, match="not a valid function name"):
        sb.deploy_functions(["../etc"])
    assert fake.calls == []


def test_import_outside_the_project_is_refused(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/functions/escape/index.ts", 'import "../../../../outside.ts";\n')
    (tmp_path.parent / "outside.ts").write_text("x")
    with pytest.raises(ConfigError, match="outside the project folder"):
        provider(fake, tmp_path).deploy_functions(["escape"])
    assert fake.calls == []


def test_missing_import_is_a_warning_and_the_fake_refuses_the_bundle(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    put(tmp_path, "supabase/functions/hello/index.ts", 'import "./gone.ts";\n' + SERVE)
    plan = provider(fake, tmp_path).deploy_functions(["hello"], dry_run=True)[0]
    assert plan["warnings"] == ["supabase/functions/hello/index.ts imports ./gone.ts, which does not exist"]
    files = {"supabase/functions/hello/index.ts": b'import "@shared/a.ts";\n',
             "supabase/functions/hello/deno.json": json.dumps({"imports": {"@shared/": "../_shared/"}}).encode()}
    assert bundle_missing("supabase/functions/hello/index.ts", "supabase/functions/hello/deno.json", files) \
        == "supabase/functions/_shared/a.ts"
    files["supabase/functions/_shared/a.ts"] = b""
    assert bundle_missing("supabase/functions/hello/index.ts", "supabase/functions/hello/deno.json", files) is None


def test_no_functions(tmp_path: Path, fake: FakeSupabaseApi) -> None:
    with pytest.raises(UsageError, match="no edge functions"):
        provider(fake, tmp_path).deploy_functions()
