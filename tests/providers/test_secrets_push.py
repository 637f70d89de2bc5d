"""``secrets.push`` on every platform: the store's values go as the platform's secret type, only what
changed (write-only values compared by their HMAC fingerprint), key names only in the audit log; a platform
without an env store (Firebase Hosting) gets nothing and the report says why."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from moai_adk import audit
from moai_adk.providers.capabilities import EnvStore, Hosting
from moai_adk.secrets.push import FINGERPRINTS, StoreSecrets, push

from .conftest import Harness

VALUES = {"API_TOKEN": "tok-9f8e7d6c5b4a3921", "DB_PASSWORD": "correct horse battery"}


def _store(root: Path, key: bytes = b"k" * 32) -> StoreSecrets:
    return StoreSecrets(root=root, environment="production", file=".moai/secrets/production.age",
                        values=dict(VALUES), fingerprint_key=key)


@pytest.fixture(params=["local", "vercel", "netlify", "supabase"])
def harness(request: pytest.FixtureRequest) -> Harness:
    h: Harness = request.getfixturevalue(request.param)
    return h


def test_only_changed_values_are_sent_as_secrets(harness: Harness) -> None:
    h = harness
    store = _store(h.root)
    with h.provider() as p:
        assert isinstance(p, EnvStore)
        if isinstance(p, Hosting):
            p.link()
        mark = len(h.requests())
        planned = push(store, p, dry_run=True)
        assert planned.sent == sorted(VALUES) and planned.dry_run
        assert h.sent_since(mark, writes_only=True) == []  # a dry run lists names and sends nothing

        first = push(store, p)
        assert first.sent == sorted(VALUES) and first.unchanged == []
        listed = {v.key: v for v in p.env_list("production")}
        assert all(listed[k].secret for k in VALUES)  # the platform's secret/sensitive type

        mark = len(h.requests())
        again = push(store, p)
        assert again.sent == [] and again.unchanged == sorted(VALUES)
        assert h.sent_since(mark, writes_only=True) == []  # nothing unchanged is sent

        store.values["API_TOKEN"] = "tok-rotated-000000000"
        assert push(store, p).sent == ["API_TOKEN"]

        other_user = _store(h.root, key=b"o" * 32)  # another key: other fingerprints, so sent once more
        other_user.values["API_TOKEN"] = "tok-rotated-000000000"
        assert push(other_user, p).sent == sorted(VALUES)

    entries = [e for e in audit.read_entries(h.root) if e["action"] == "secrets push"]
    assert [e["details"]["sent"] for e in entries] == [sorted(VALUES), ["API_TOKEN"], sorted(VALUES)]
    assert {(e["environment"], e["target"]) for e in entries} == {("production", h.name)}
    log = audit.log_path(h.root).read_bytes()
    prints = (h.root / FINGERPRINTS).read_bytes()
    assert stat.S_IMODE((h.root / FINGERPRINTS).stat().st_mode) == 0o600
    for value in [*VALUES.values(), "tok-rotated-000000000"]:
        assert value.encode() not in log and value.encode() not in prints


def test_a_platform_without_an_env_store_says_the_secrets_were_not_sent(firebase: Harness) -> None:
    with firebase.provider() as p:
        mark = len(firebase.requests())
        report = push(_store(firebase.root), p)
    assert report.sent == [] and report.not_sent
    assert "firebase has no environment-variable store" in report.message()
    assert "API_TOKEN, DB_PASSWORD" in report.message() and "functions:secrets:set" in report.message()
    assert firebase.sent_since(mark) == []
    assert not (firebase.root / FINGERPRINTS).exists()
