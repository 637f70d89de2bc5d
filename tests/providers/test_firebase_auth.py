"""Firebase credentials: service-account keys exchanged at the (fake) token endpoint,
FIREBASE_TOKEN, and the errors for missing, wrong, revoked and expired credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import AuthError
from moai_adk.providers.base import DeployTarget
from tests.fakes.firebase import FakeFirebase, firebase_provider


def site(tmp_path: Path) -> Path:
    out = tmp_path / "dist"
    out.mkdir()
    (out / "index.html").write_text("hello")
    return out


def key_file(tmp_path: Path, fake: FakeFirebase) -> tuple[Path, str]:
    info = fake.service_account()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    return path, info["client_email"]


def test_service_account_key_is_exchanged_for_a_token(tmp_path: Path) -> None:
    fake = FakeFirebase()
    key, _ = key_file(tmp_path, fake)
    provider = firebase_provider(fake, tmp_path, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(key)})
    d = provider.deploy(take_snapshot(site(tmp_path), ("gzip-sha256",)), DeployTarget())
    assert d.state == "ready"
    assert fake.count("POST", r"^/oauth2/token$") == 1
    token_call = next(c for c in fake.calls if c.path == "/oauth2/token")
    assert b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in token_call.body
    assert fake.violations == []


def test_missing_credentials_name_both_variables(tmp_path: Path) -> None:
    fake = FakeFirebase()
    provider = firebase_provider(fake, tmp_path, environ={})
    with pytest.raises(AuthError) as info:
        provider.deploy(take_snapshot(site(tmp_path), ("gzip-sha256",)), DeployTarget())
    assert "GOOGLE_APPLICATION_CREDENTIALS" in info.value.message and "FIREBASE_TOKEN" in info.value.message
    assert fake.calls == []


def test_revoked_service_account_is_a_clear_auth_error(tmp_path: Path) -> None:
    fake = FakeFirebase()
    key, email = key_file(tmp_path, fake)
    fake.revoked.add(email)
    provider = firebase_provider(fake, tmp_path, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(key)})
    with pytest.raises(AuthError) as info:
        provider.deploy(take_snapshot(site(tmp_path), ("gzip-sha256",)), DeployTarget())
    msg = info.value.message
    assert "refused the service account" in msg and email in msg and "GOOGLE_APPLICATION_CREDENTIALS" in msg
    assert "invalid_grant" in msg
    assert not any(c.path.startswith("/v1beta1/") for c in fake.calls)  # nothing reached the API


def test_key_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    fake = FakeFirebase()
    info = fake.service_account()
    info["private_key"] = FakeFirebase().service_account(info["client_email"])["private_key"]
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    provider = firebase_provider(fake, tmp_path, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(path)})
    with pytest.raises(AuthError, match="Invalid JWT Signature"):
        provider.link()


@pytest.mark.parametrize(("content", "match"), [
    (None, "does not exist"),
    ("not json", "not a readable JSON key"),
    (json.dumps({"type": "authorized_user", "refresh_token": "x"}), "'authorized_user' credential"),
    (json.dumps({"type": "service_account", "client_email": "a@b"}), "incomplete"),
])
def test_unusable_key_files(tmp_path: Path, content: str | None, match: str) -> None:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content)
    provider = firebase_provider(FakeFirebase(), tmp_path, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(path)})
    with pytest.raises(AuthError, match=match):
        provider.link()


def test_wrong_access_token_names_firebase_token(tmp_path: Path) -> None:
    fake = FakeFirebase()
    provider = firebase_provider(fake, tmp_path, environ={"FIREBASE_TOKEN": "ya29.expired"})
    with pytest.raises(AuthError) as info:
        provider.deploy(take_snapshot(site(tmp_path), ("gzip-sha256",)), DeployTarget())
    assert "FIREBASE_TOKEN" in info.value.message and "refused" in info.value.message
    assert "FIREBASE_TOKEN" in (info.value.hint or "") and info.value.status == 401


def test_expired_service_account_token_is_refreshed_once(tmp_path: Path) -> None:
    fake = FakeFirebase()
    key, _ = key_file(tmp_path, fake)
    provider = firebase_provider(fake, tmp_path, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(key)})
    out = site(tmp_path)
    provider.deploy(take_snapshot(out, ("gzip-sha256",)), DeployTarget())
    fake.tokens.clear()  # every issued token expires
    (out / "index.html").write_text("again")
    d = provider.deploy(take_snapshot(out, ("gzip-sha256",)), DeployTarget())
    assert d.state == "ready" and fake.count("POST", r"^/oauth2/token$") == 2
    assert sum(1 for c in fake.calls if c.status == 401) == 1


def test_a_token_that_stays_refused_after_refresh_is_an_auth_error(tmp_path: Path) -> None:
    fake = FakeFirebase()
    key, email = key_file(tmp_path, fake)
    provider = firebase_provider(fake, tmp_path, environ={"GOOGLE_APPLICATION_CREDENTIALS": str(key)})
    provider.link()
    fake.tokens.clear()
    fake.revoked.add(email)
    with pytest.raises(AuthError, match="refused the service account"):
        provider.link()
