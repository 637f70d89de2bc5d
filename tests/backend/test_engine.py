"""The backend engine (plan, apply, saved plans, destructive consent, convergence, audit) on an in-memory
platform: a stand-in for a vendor's API whose state is a dict, as the vendor fakes in tests/fakes are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from moai_adk import audit
from moai_adk.backend import Backend, BackendError, apply_plan, diff, make_plan
from moai_adk.backend.plan import MASK, Change, State


class MemoryPlatform:
    def __init__(self, state: State) -> None:
        self.state = dict(state)
        self.requests = 0
        self.ignore: set[tuple[str, str]] = set()  # keys the platform silently refuses to change
        self.fail_after: int | None = None  # raise after this many writes (an interrupted apply)


class MemoryBackend(Backend):
    name = "memory"
    managed_kinds: ClassVar[frozenset[str]] = frozenset({"bucket", "redirect_url"})
    destructive_kinds: ClassVar[frozenset[str]] = frozenset({"bucket"})
    secret_kinds: ClassVar[frozenset[str]] = frozenset({"secret"})

    def __init__(self, root: Path, platform: MemoryPlatform, wanted: State) -> None:
        super().__init__(root, "staging")
        self.platform, self.wanted = platform, wanted

    @property
    def target(self) -> str:
        return "proj-1"

    def desired(self) -> State:
        return dict(self.wanted)

    def read(self) -> State:
        self.round_trips += 1
        self.platform.requests += 1
        return dict(self.platform.state)

    def apply(self, changes: list[Change]) -> None:
        for n, c in enumerate(changes):
            if self.platform.fail_after is not None and n >= self.platform.fail_after:
                raise ConnectionError("the platform went away")
            if c.key in self.platform.ignore:
                continue
            if c.action == "remove":
                self.platform.state.pop(c.key, None)
            else:
                self.platform.state[c.key] = c.after


LIVE: State = {("auth", "site_url"): "https://old.example", ("auth", "jwt_exp"): 3600,
               ("bucket", "avatars"): {"public": True}, ("bucket", "tmp"): {"public": False},
               ("redirect_url", "https://a.example/**"): True, ("secret", "STRIPE"): "sk_old_value",
               ("auth", "unmanaged"): "left alone"}
WANT: State = {("auth", "site_url"): "https://new.example", ("auth", "jwt_exp"): 3600,
               ("bucket", "avatars"): {"public": True}, ("bucket", "docs"): {"public": False},
               ("redirect_url", "https://b.example/**"): True, ("secret", "STRIPE"): "sk_new_value"}


def test_diff_adds_changes_and_removes_only_managed_kinds() -> None:
    changes = diff(LIVE, WANT, managed_kinds={"bucket", "redirect_url"}, destructive_kinds={"bucket"},
                   secret_kinds={"secret"})
    assert [(c.action, c.kind, c.name, c.destructive) for c in changes] == [
        ("change", "auth", "site_url", False),
        ("add", "bucket", "docs", False), ("remove", "bucket", "tmp", True),
        ("add", "redirect_url", "https://b.example/**", False),
        ("remove", "redirect_url", "https://a.example/**", False),
        ("change", "secret", "STRIPE", False)]  # ("auth", "unmanaged") is not in moai.toml: left alone


def test_secrets_never_show_in_plans(tmp_path: Path) -> None:
    plan = make_plan(MemoryBackend(tmp_path, MemoryPlatform(LIVE), WANT))
    text = json.dumps(plan.to_json()) + "".join(c.render() for c in plan.changes)
    assert "sk_old_value" not in text and "sk_new_value" not in text and MASK in text


def test_apply_refuses_destructive_then_applies_converges_and_is_idempotent(tmp_path: Path) -> None:
    platform = MemoryPlatform(LIVE)
    with pytest.raises(BackendError, match="bucket tmp"):
        apply_plan(MemoryBackend(tmp_path, platform, WANT))
    assert platform.state == LIVE  # nothing applied
    dry = apply_plan(MemoryBackend(tmp_path, platform, WANT), allow_destructive=True, dry_run=True)
    assert dry.plan.changes and not dry.applied and platform.state == LIVE
    done = apply_plan(MemoryBackend(tmp_path, platform, WANT), allow_destructive=True)
    assert len(done.applied) == 6 and platform.state == {**WANT, ("auth", "unmanaged"): "left alone"}
    again = apply_plan(MemoryBackend(tmp_path, platform, WANT))
    assert again.plan.changes == [] and again.applied == []
    [entry] = [e for e in audit.read_entries(tmp_path) if e["action"] == "backend apply"]
    assert entry["environment"] == "staging" and entry["target"] == "proj-1" and entry["result"] == "ok"
    assert "sk_new_value" not in json.dumps(entry) and "add bucket docs" in json.dumps(entry)


def test_an_interrupted_apply_is_completed_by_the_next_run(tmp_path: Path) -> None:
    platform = MemoryPlatform(LIVE)
    platform.fail_after = 2
    with pytest.raises(ConnectionError):
        apply_plan(MemoryBackend(tmp_path, platform, WANT), allow_destructive=True)
    assert platform.state != LIVE
    platform.fail_after = None
    done = apply_plan(MemoryBackend(tmp_path, platform, WANT), allow_destructive=True)
    assert len(done.applied) == 4  # only what was left
    assert [e["result"] for e in audit.read_entries(tmp_path) if e["action"] == "backend apply"] == ["failed", "ok"]


def test_an_apply_that_does_not_converge_says_what_is_left(tmp_path: Path) -> None:
    platform = MemoryPlatform(LIVE)
    platform.ignore = {("auth", "site_url")}
    with pytest.raises(BackendError, match="still differs.*site_url"):
        apply_plan(MemoryBackend(tmp_path, platform, WANT), allow_destructive=True)


def test_a_saved_plan_applies_only_while_it_still_holds(tmp_path: Path) -> None:
    platform = MemoryPlatform(LIVE)
    saved: dict[str, Any] = make_plan(MemoryBackend(tmp_path, platform, WANT)).to_json()
    platform.state[("auth", "site_url")] = "https://changed-by-hand.example"
    with pytest.raises(BackendError, match="no longer matches"):
        apply_plan(MemoryBackend(tmp_path, platform, WANT), allow_destructive=True, saved=saved)
    assert platform.state[("bucket", "tmp")] == {"public": False}
    saved = make_plan(MemoryBackend(tmp_path, platform, WANT)).to_json()
    apply_plan(MemoryBackend(tmp_path, platform, WANT), allow_destructive=True, saved=saved)
    assert platform.state[("auth", "site_url")] == "https://new.example"
