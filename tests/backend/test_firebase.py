"""The Firebase backend against the stateful fake of the Rules, Firestore Admin, Identity Toolkit and
Firebase Management APIs (requests and answers checked against their discovery documents)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moai_adk.backend import BackendError, apply_plan, make_plan, open_backend
from moai_adk.backend.firebase import FirebaseBackend
from moai_adk.config import load_config
from moai_adk.errors import AuthError, ConfigError, ProviderError, UsageError
from tests.fakes.firebase_backend import FakeFirebaseBackend, compile_rules

from .firebase_project import FIRESTORE_RULES, indexes, write_project


def backend(root: Path, fake: FakeFirebaseBackend, environment: str = "staging") -> FirebaseBackend:
    b = open_backend(load_config(root / "moai.toml"), "firebase", environment, fake.env(), fake.transport())
    assert isinstance(b, FirebaseBackend)
    return b


def test_plan_apply_converge_and_a_second_apply_is_a_no_op(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", n_indexes=30)
    fake = FakeFirebaseBackend()
    plan = make_plan(backend(root, fake))
    kinds = sorted({(c.action, c.kind) for c in plan.changes})
    assert kinds == [("add", "auth_domain"), ("add", "firestore_field"), ("add", "firestore_index"), ("add", "rules")]
    assert sum(1 for c in plan.changes if c.kind == "firestore_index") == 30
    assert plan.round_trips <= 6
    done = apply_plan(backend(root, fake))
    assert len(done.applied) == len(plan.changes)
    proj = fake.projects["demo-project"]
    assert fake.live_rules("demo-project", "cloud.firestore") == FIRESTORE_RULES
    assert fake.live_rules("demo-project", "firebase.storage/demo-project.appspot.com") is not None
    assert len(proj.indexes) == 30 and set(proj.fields) == {("orders", "expires_at"), ("orders", "tags")}
    assert proj.authorized_domains == ["localhost", "demo-project.firebaseapp.com", "demo-project.web.app",
                                       "shop.example.com"]
    again = make_plan(backend(root, fake))
    assert again.changes == [] and again.round_trips == 6  # releases, 2 rulesets, indexes, fields, auth config
    writes = fake.writes
    assert apply_plan(backend(root, fake)).applied == []
    assert fake.writes == writes


def test_a_changed_rules_file_is_released_and_an_index_left_out_is_a_destructive_removal(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", n_indexes=3)
    fake = FakeFirebaseBackend()
    apply_plan(backend(root, fake))
    new_rules = FIRESTORE_RULES.replace("request.auth != null", "true")
    (root / "firestore.rules").write_text(new_rules)
    smaller = indexes(2)
    smaller["fieldOverrides"] = smaller["fieldOverrides"][:1]
    (root / "firestore.indexes.json").write_text(json.dumps(smaller))
    plan = make_plan(backend(root, fake))
    assert [(c.action, c.kind, c.name, c.destructive) for c in plan.changes] == [
        ("remove", "firestore_field", "orders.tags", False),
        ("remove", "firestore_index", "c2 (collection) f2 asc, created_at desc", True),
        ("change", "rules", "firestore", False)]
    with pytest.raises(BackendError, match="firestore_index c2"):
        apply_plan(backend(root, fake))
    assert fake.live_rules("demo-project", "cloud.firestore") == FIRESTORE_RULES  # nothing applied
    apply_plan(backend(root, fake), allow_destructive=True)
    proj = fake.projects["demo-project"]
    assert fake.live_rules("demo-project", "cloud.firestore") == new_rules
    assert len(proj.indexes) == 2 and set(proj.fields) == {("orders", "expires_at")}


def test_a_rules_file_that_does_not_compile_shows_the_apis_file_and_line_and_nothing_is_applied(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    (root / "firestore.rules").write_text(FIRESTORE_RULES.replace("resource.data.owner;", "resource.data.owner"))
    fake = FakeFirebaseBackend()
    with pytest.raises(ConfigError) as err:
        apply_plan(backend(root, fake))
    assert "firestore.rules:6:" in err.value.message and "Missing ';'" in err.value.message
    assert "nothing was applied" in err.value.message
    proj = fake.projects["demo-project"]
    assert proj.rulesets == {} and proj.indexes == {} and "shop.example.com" not in proj.authorized_domains
    assert compile_rules("x.rules", "service cloud.firestore {\n  match /a {\n}\n")[0]["sourcePosition"] == \
        {"fileName": "x.rules", "line": 1, "column": 25}


def test_a_project_the_token_cannot_reach_names_the_project_and_the_missing_permission(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", project="locked-project")
    fake = FakeFirebaseBackend()
    fake.add_project("locked-project")
    fake.denied.add("locked-project")
    with pytest.raises(AuthError) as err:
        make_plan(backend(root, fake))
    msg = err.value.message
    assert "'locked-project'" in msg and "permission" in msg
    assert any(p in msg for p in ("firebaserules.releases.list", "datastore.indexes.list", "firebaseauth.configs.get"))
    assert "locked-project" in (err.value.hint or "")


def test_an_apply_interrupted_half_way_is_completed_by_the_next_run_without_duplicates(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", n_indexes=12)
    fake = FakeFirebaseBackend()
    fake.fail_writes_after = 8  # rules (4 writes) and some of the indexes
    with pytest.raises(ProviderError, match="ABORTED|aborted"):
        apply_plan(backend(root, fake))
    made = len(fake.projects["demo-project"].indexes)
    assert 0 < made < 12
    fake.fail_writes_after = None
    rest = apply_plan(backend(root, fake))
    assert sum(1 for c in rest.applied if c.kind == "firestore_index") == 12 - made
    assert len(fake.projects["demo-project"].indexes) == 12 and fake.index_creates() == 12
    assert make_plan(backend(root, fake)).changes == []


ENVS = '[environments.staging]\n[environments.production]\n'


def test_two_environments_on_one_project_are_noted_and_apply_needs_confirmation(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", environments=ENVS)
    fake = FakeFirebaseBackend()
    plan = make_plan(backend(root, fake))
    assert any("production" in n and "demo-project" in n for n in plan.notes)
    with pytest.raises(BackendError, match="--yes|confirmation"):
        apply_plan(backend(root, fake), confirmed=False)
    assert fake.projects["demo-project"].indexes == {}
    assert apply_plan(backend(root, fake), confirmed=False, dry_run=True).applied == []
    assert apply_plan(backend(root, fake), confirmed=True).applied
    fake.add_project("shop-staging")
    split = write_project(tmp_path / "q", environments=ENVS,
                          extra='[backend.firebase.environments.staging]\nproject = "shop-staging"\n')
    b = backend(split, fake)
    assert b.project == "shop-staging" and make_plan(b).notes == [] and b.confirmations() == []
    assert backend(split, fake, "production").project == "demo-project"


def test_preview_channel_domains_and_the_projects_own_are_kept(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", domains=["a.example.com"])
    fake = FakeFirebaseBackend()
    proj = fake.projects["demo-project"]
    proj.authorized_domains += ["demo-site--pr-7-abc123de.web.app", "old.example.com"]
    plan = make_plan(backend(root, fake))
    assert [(c.action, c.name) for c in plan.changes if c.kind == "auth_domain"] == [
        ("add", "a.example.com"), ("remove", "old.example.com")]
    apply_plan(backend(root, fake))
    assert proj.authorized_domains == ["localhost", "demo-project.firebaseapp.com", "demo-project.web.app",
                                       "demo-site--pr-7-abc123de.web.app", "a.example.com"]


def test_settings_left_out_are_not_managed(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "moai.toml").write_text('[project]\nname = "shop"\n[backend.firebase]\nproject = "demo-project"\n')
    fake = FakeFirebaseBackend()
    fake.projects["demo-project"].authorized_domains.append("kept.example.com")
    plan = make_plan(backend(root, fake))
    assert plan.changes == [] and plan.round_trips == 0  # no files, no domains: nothing to read


@pytest.mark.parametrize(("content", "expected"), [
    ('{"indexes": [{"collectionGroup": "a", "fields": [{"fieldPath": "x", "order": "UP"}]}]}',
     "indexes[0].fields[0].order: 'UP' is not one of ASCENDING, DESCENDING"),
    ('{"indexes": [], "colour": 1}', "(top level).colour: is not a known key"),
    ('{"indexes": [\n  {]}', "firestore.indexes.json:2:4: not valid JSON"),
    ('{"fieldOverrides": [{"collectionGroup": "a", "fieldPath": "b", "indexes": [{"queryScope": "COLLECTION"}]}]}',
     "fieldOverrides[0].indexes[0]: needs exactly one of order, arrayConfig"),
])
def test_a_bad_indexes_file_is_refused_with_its_path(tmp_path: Path, content: str, expected: str) -> None:
    root = write_project(tmp_path / "p")
    (root / "firestore.indexes.json").write_text(content)
    with pytest.raises(ConfigError) as err:
        make_plan(backend(root, FakeFirebaseBackend()))
    assert expected in err.value.message


def test_a_named_rules_file_that_is_missing_and_no_project_are_errors(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", extra='firestore_rules = "rules/firestore.rules"\n')
    with pytest.raises(ConfigError, match="rules/firestore.rules"):
        make_plan(backend(root, FakeFirebaseBackend()))
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "moai.toml").write_text('[project]\nname = "shop"\n[backend.firebase]\n')
    with pytest.raises(UsageError, match="No Firebase project"):
        backend(bare, FakeFirebaseBackend())
    (bare / ".firebaserc").write_text('{"projects": {"default": "demo-project"}}')
    assert backend(bare, FakeFirebaseBackend()).project == "demo-project"


def test_the_web_app_config(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    fake = FakeFirebaseBackend()
    config = backend(root, fake).web_config()
    assert config["projectId"] == "demo-project" and config["apiKey"].startswith("AIza")
    fake.projects["demo-project"].web_apps.append({
        "name": "projects/demo-project/webApps/1:1234567890:web:ffff", "displayName": "admin",
        "appId": "1:1234567890:web:ffff", "projectId": "demo-project", "state": "ACTIVE"})
    with pytest.raises(BackendError, match="2 web app"):
        backend(root, fake).web_config()
    named = write_project(tmp_path / "q", extra='web_app = "admin"\n')
    assert backend(named, fake).web_config()["appId"] == "1:1234567890:web:ffff"


def test_preview_channel_domains_follow_the_live_channels(tmp_path: Path) -> None:
    from moai_adk.backend.firebase_previews import sync_preview_domains

    root = write_project(tmp_path / "p")
    fake = FakeFirebaseBackend()
    proj = fake.projects["demo-project"]
    proj.authorized_domains += ["shop.example.com", "demo-site--old-1111aaaa.web.app"]
    urls = ["https://demo-site--pr-1-abcd1234.web.app", "https://demo-site--pr-2-ef567890.web.app/",
            "https://demo-site.web.app"]  # the live channel is no preview
    dry = sync_preview_domains(backend(root, fake), urls, dry_run=True)
    assert dry.added == ["demo-site--pr-1-abcd1234.web.app", "demo-site--pr-2-ef567890.web.app"]
    assert dry.removed == ["demo-site--old-1111aaaa.web.app"] and "demo-site--old-1111aaaa.web.app" in proj.authorized_domains
    sync_preview_domains(backend(root, fake), urls)
    assert proj.authorized_domains == ["localhost", "demo-project.firebaseapp.com", "demo-project.web.app",
                                       "shop.example.com", "demo-site--pr-1-abcd1234.web.app",
                                       "demo-site--pr-2-ef567890.web.app"]
    writes = fake.writes
    again = sync_preview_domains(backend(root, fake), urls)
    assert again.added == again.removed == [] and fake.writes == writes
    plan = make_plan(backend(root, fake))
    assert [c for c in plan.changes if c.kind == "auth_domain"] == []  # backend apply leaves preview domains alone
