"""`moai-adk backend plan|apply` on a Firebase backend through the real process, against the fake of the
Rules, Firestore Admin and Identity Toolkit APIs on a loopback port."""

from __future__ import annotations

import json
from pathlib import Path

from tests.backend.firebase_project import FIRESTORE_RULES, write_project
from tests.fakes.firebase_backend import FakeFirebaseBackend

from .conftest import Run


def test_plan_apply_again_and_bad_rules(moai: Run, tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", n_indexes=4)
    fake = FakeFirebaseBackend()
    with fake.serve():
        env = fake.env()
        r = moai("backend", "plan", "--env", "staging", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        assert "+ firestore_index c0 (collection) f0 asc, created_at desc" in r.stdout
        assert "+ auth_domain shop.example.com = true" in r.stdout
        assert "firebase backend of staging (demo-project): 9 to add, 0 to change, 0 to remove." in r.stdout

        r = moai("backend", "apply", "--env", "staging", "--dry-run", "--json", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["dry_run"] and fake.projects["demo-project"].indexes == {}

        r = moai("backend", "apply", "--env", "staging", "--json", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        assert len(json.loads(r.stdout)["applied"]) == 9 and len(fake.projects["demo-project"].indexes) == 4

        r = moai("backend", "apply", "--env", "staging", cwd=root, env=env)
        assert r.returncode == 0 and "up to date. Nothing to apply." in r.stdout

        (root / "firestore.rules").write_text(FIRESTORE_RULES.replace("match /orders/{id} {", "match /orders/{id} "))
        r = moai("backend", "apply", "--env", "staging", cwd=root, env=env)
        assert r.returncode == 1
        assert "firestore.rules:9:1: Unexpected '}'" in r.stderr and "nothing was applied" in r.stderr
        assert fake.live_rules("demo-project", "cloud.firestore") == FIRESTORE_RULES


def test_a_shared_project_needs_yes_and_a_locked_project_names_the_permission(moai: Run, tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", n_indexes=1, environments="[environments.staging]\n[environments.production]\n")
    fake = FakeFirebaseBackend()
    with fake.serve():
        env = fake.env()
        r = moai("backend", "plan", "--env", "staging", "--json", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        assert any("production" in n for n in json.loads(r.stdout)["notes"])
        r = moai("backend", "apply", "--env", "staging", cwd=root, env=env)
        assert r.returncode == 1 and "--yes" in r.stderr and fake.projects["demo-project"].indexes == {}
        r = moai("backend", "apply", "--env", "staging", "--yes", cwd=root, env=env)
        assert r.returncode == 0, r.stderr
        assert len(fake.projects["demo-project"].indexes) == 1

        fake.denied.add("demo-project")
        r = moai("backend", "plan", "--env", "staging", cwd=root, env=env)
        assert r.returncode == 1
        assert "'demo-project'" in r.stderr and "permission" in r.stderr and "is missing" in r.stderr
