"""Firebase credentials: service-account keys and FIREBASE_TOKEN refresh tokens exchanged at the
(fake) token endpoints, access tokens kept until they expire, and the errors for missing, wrong,
revoked and expired credentials."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import AuthError
from moai_adk.providers.base import DeployTarget
from tests.fakes.firebase import CLI_CLIENT_ID, REFRESH_TOKEN, TOKEN_LIFETIME, FakeFirebase, firebase_provider


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


def api_calls(fake: FakeFirebase) -> list[str]:
    return [c.authorization for c in fake.calls if c.path.startswith(("/v1beta1/", "/upload/"))]


def test_firebase_token_is_a_refresh_token_exchanged_as_firebase_tools_does(tmp_path: Path) -> None:
    fake = FakeFirebase()
    d = firebase_provider(fake, tmp_path).deploy(take_snapshot(site(tmp_path), ("gzip-sha256",)), DeployTarget())
    assert d.state == "ready" and fake.violations == []
    exchange = [c for c in fake.calls if c.path == "/oauth2/v3/token"]
    assert len(exchange) == 1 and exchange[0].method == "POST" and exchange[0].authorization == ""
    form = {k: v[-1] for k, v in parse_qs(exchange[0].body.decode()).items()}
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == REFRESH_TOKEN
    assert form["client_id"] == CLI_CLIENT_ID and form["client_secret"]
    sent = api_calls(fake)
    assert sent and set(sent) == {f"Bearer {next(iter(fake.tokens))}"}
    assert not any(REFRESH_TOKEN in c.authorization for c in fake.calls)  # never used as an access token
    assert all(c.status != 401 for c in fake.calls)


def test_the_access_token_is_kept_until_it_nearly_expires(tmp_path: Path) -> None:
    fake = FakeFirebase()
    out = site(tmp_path)
    provider = firebase_provider(fake, tmp_path)
    provider.deploy(take_snapshot(out, ("gzip-sha256",)), DeployTarget())
    fake.advance(TOKEN_LIFETIME - 16 * 60)  # 16 minutes left: still used
    provider.list_deployments()
    assert fake.count("POST", r"^/oauth2/v3/token$") == 1
    fake.advance(2 * 60)  # 14 minutes left: exchanged again before the next request, no 401 on the way
    provider.list_deployments()
    assert fake.count("POST", r"^/oauth2/v3/token$") == 2
    assert all(c.status != 401 for c in fake.calls) and len(set(api_calls(fake))) == 2


@pytest.mark.parametrize(("token", "extra"), [("1//0revoked", ""), ("ya29.an-access-token", "looks like an access token")])
def test_a_refused_firebase_token_explains_service_accounts(tmp_path: Path, token: str, extra: str) -> None:
    fake = FakeFirebase()
    fake.revoked.add("1//0revoked")
    provider = firebase_provider(fake, tmp_path, environ={"FIREBASE_TOKEN": token})
    with pytest.raises(AuthError) as info:
        provider.deploy(take_snapshot(site(tmp_path), ("gzip-sha256",)), DeployTarget())
    msg, hint = info.value.message, info.value.hint or ""
    assert "FIREBASE_TOKEN" in msg and "refused" in msg and "invalid_grant" in msg and "firebase login:ci" in msg
    assert extra in msg and info.value.status == 400
    assert "GOOGLE_APPLICATION_CREDENTIALS" in hint and "service account" in hint
    assert not any(c.path.startswith("/v1beta1/") for c in fake.calls)  # nothing reached the API


def test_the_oauth_client_can_be_overridden_like_firebase_tools(tmp_path: Path) -> None:
    fake = FakeFirebase()
    provider = firebase_provider(fake, tmp_path, environ={"FIREBASE_TOKEN": REFRESH_TOKEN,
                                                          "FIREBASE_CLIENT_ID": "another-client"})
    with pytest.raises(AuthError, match="invalid_client"):
        provider.link()
    form = parse_qs(fake.calls[-1].body.decode())
    assert form["client_id"] == ["another-client"]


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
