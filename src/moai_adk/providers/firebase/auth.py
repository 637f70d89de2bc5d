"""Google credentials for the Firebase Hosting API.

Two sources, checked in this order (as firebase-tools does):

- ``FIREBASE_TOKEN``: a refresh token, as ``firebase login:ci`` prints it. It
  is exchanged, as firebase-tools does, at Google's OAuth2 token endpoint
  (``POST {MOAI_GOOGLE_OAUTH_URL or https://www.googleapis.com}/oauth2/v3/token``,
  ``grant_type=refresh_token`` with the firebase-tools OAuth client id and
  secret, which that token is bound to) for a short-lived access token. The
  refresh token itself is never sent to Firebase Hosting.
- ``GOOGLE_APPLICATION_CREDENTIALS``: the path of a service-account JSON key.
  google-auth signs a JWT with the key and exchanges it at the key's
  ``token_uri`` for an access token. The exchange goes through httpx (and so
  through the provider's transport, which lets tests point ``token_uri`` at a
  fake token endpoint).

Either way the access token is kept until 15 minutes before it expires
(firebase-tools' margin), then exchanged again before the next request.
Neither set, an unreadable key, or a token endpoint that refuses the
credential, is an ``AuthError`` that says which variable to fix.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ...errors import AuthError, PlatformUnavailable, UsageError
from .._http import ApiClient, error_message

TOKEN_ENV = "FIREBASE_TOKEN"
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
OAUTH_URL_ENV = "MOAI_GOOGLE_OAUTH_URL"
DEFAULT_OAUTH_URL = "https://www.googleapis.com"
TOKEN_PATH = "/oauth2/v3/token"
# The OAuth client of firebase-tools (an "installed application": Google documents its secret as not
# secret). A refresh token from `firebase login:ci` is bound to it; the same override variables apply.
CLIENT_ID_ENV = "FIREBASE_CLIENT_ID"
CLIENT_SECRET_ENV = "FIREBASE_CLIENT_SECRET"
FIREBASE_CLI_CLIENT_ID = "563584335869-fgrhgmd47bqnekij5i8b5pr03ho849e6.apps.googleusercontent.com"
FIREBASE_CLI_CLIENT_SECRET = "j9iVZfS8kkCEFUPaAeJV0sAi"
FIREBASE_SCOPE = "https://www.googleapis.com/auth/firebase"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
EXPIRY_MARGIN = 15 * 60  # seconds: a token with less left is exchanged again before use
_KEY_HINT = (
    f"Create a key for a service account with the Firebase Hosting Admin role (Google Cloud console > IAM > "
    f"Service accounts > Keys) and export {CREDENTIALS_ENV}=/path/to/key.json, or export "
    f"{TOKEN_ENV}=<refresh token from `firebase login:ci`>."
)
_REFRESH_HINT = (
    f"In CI prefer a service account: create a key for a service account with the Firebase Hosting Admin role "
    f"(Google Cloud console > IAM > Service accounts > Keys), export {CREDENTIALS_ENV}=/path/to/key.json and "
    f"unset {TOKEN_ENV}. To keep {TOKEN_ENV}, run `firebase login:ci` again and store the token it prints."
)
Clock = Callable[[], float]


@dataclass
class Credential:
    """An access token and, when it can be renewed, how (``refresher`` gives a token and its expiry)."""

    source: str  # the env var it came from
    description: str
    token: str
    refresher: Callable[[], tuple[str, float | None]] | None = None
    expires_at: float | None = None  # epoch seconds
    clock: Clock = field(default=time.time)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def _expiring(self) -> bool:
        return self.expires_at is not None and self.clock() + EXPIRY_MARGIN >= self.expires_at

    def current(self) -> str:
        """The access token, exchanged again first when less than ``EXPIRY_MARGIN`` is left."""
        if self.refresher is not None and self._expiring():
            with self._lock:  # one exchange, however many threads ask at once
                if self._expiring():
                    self.token, self.expires_at = self.refresher()
        return self.token

    def refresh(self, stale: str) -> str:
        """A new token (once per stale token, even with many threads asking)."""
        if self.refresher is None:
            return self.token
        with self._lock:
            if self.token == stale:
                self.token, self.expires_at = self.refresher()
            return self.token


def refresh_token_credential(refresh_token: str, environ: Mapping[str, str],
                             transport: httpx.BaseTransport | None, clock: Clock = time.time,
                             sleep: Callable[[float], None] | None = None) -> Credential:
    """Exchange ``FIREBASE_TOKEN`` (a refresh token) for an access token, as firebase-tools does."""
    base = (environ.get(OAUTH_URL_ENV) or DEFAULT_OAUTH_URL).rstrip("/")
    url = base + TOKEN_PATH
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": environ.get(CLIENT_ID_ENV) or FIREBASE_CLI_CLIENT_ID,
            "client_secret": environ.get(CLIENT_SECRET_ENV) or FIREBASE_CLI_CLIENT_SECRET}

    def fetch() -> tuple[str, float | None]:
        try:
            with ApiClient(base, label="Google OAuth2 token endpoint", transport=transport, sleep=sleep,
                           max_retries=3) as client:
                resp = client.request("POST", TOKEN_PATH, data=form, expect={400, 401, 403})
        except PlatformUnavailable as exc:
            raise PlatformUnavailable(f"Cannot reach Google's token endpoint {url} to exchange {TOKEN_ENV} "
                                      f"({exc.message}).", hint=f"Check your network, or {OAUTH_URL_ENV}.") from exc
        try:
            body = resp.json()
        except ValueError:
            body = {}
        token = body.get("access_token") if isinstance(body, dict) else None
        if resp.is_success and isinstance(token, str) and token:
            expires_in = body.get("expires_in")
            return token, (clock() + float(expires_in)) if expires_in is not None else None
        why = error_message(resp) if not resp.is_success else "the answer held no access_token"
        if isinstance(body, dict) and body.get("error_description"):
            why = f"{body.get('error')}: {body['error_description']}"
        looks = (" It looks like an access token (ya29.…), which expires within the hour and cannot be "
                 "exchanged." if refresh_token.startswith("ya29.") else "")
        raise AuthError(
            f"Google's token endpoint {url} refused {TOKEN_ENV} ({resp.status_code}: {why}). {TOKEN_ENV} must be "
            f"the refresh token `firebase login:ci` prints; moai-adk exchanges it for a short-lived access token "
            f"and never sends it to Firebase Hosting itself.{looks}",
            hint=_REFRESH_HINT, status=resp.status_code,
        )

    token, expires_at = fetch()
    return Credential(source=TOKEN_ENV, description=f"the refresh token in {TOKEN_ENV}", token=token,
                      refresher=fetch, expires_at=expires_at, clock=clock)


def _google_transport_classes() -> tuple[Any, Any, Any]:
    try:
        from google.auth import exceptions, transport
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on install
        raise UsageError(
            f"Deploying to Firebase with {CREDENTIALS_ENV} needs the google-auth package.",
            hint="pip install 'moai-adk[google]'  (or export FIREBASE_TOKEN=<refresh token from `firebase login:ci`>)",
        ) from exc
    return exceptions, transport.Request, transport.Response


def _make_request(client: httpx.Client) -> Any:
    exceptions, base_request, base_response = _google_transport_classes()

    class _Response(base_response):  # type: ignore[misc, valid-type]
        def __init__(self, resp: httpx.Response) -> None:
            self._resp = resp

        @property
        def status(self) -> int:
            return self._resp.status_code

        @property
        def headers(self) -> Mapping[str, str]:
            return self._resp.headers

        @property
        def data(self) -> bytes:
            return self._resp.content

    class _Request(base_request):  # type: ignore[misc, valid-type]
        def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                     timeout: Any = None, **kwargs: Any) -> Any:
            try:
                resp = client.request(method, url, content=body, headers=headers, timeout=timeout or 30.0)
            except httpx.HTTPError as exc:
                raise exceptions.TransportError(f"{type(exc).__name__}: {exc}") from exc
            return _Response(resp)

    return _Request()


def _load_key(path_text: str) -> dict[str, Any]:
    path = Path(path_text).expanduser()
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuthError(f"{CREDENTIALS_ENV} points at {path}, which does not exist.", hint=_KEY_HINT) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuthError(f"{CREDENTIALS_ENV} points at {path}, which is not a readable JSON key ({exc}).", hint=_KEY_HINT) from exc
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else type(info).__name__
        raise AuthError(
            f"{path} (from {CREDENTIALS_ENV}) is a '{kind}' credential; moai-adk needs a service-account key "
            "(\"type\": \"service_account\").",
            hint=_KEY_HINT,
        )
    return info


def service_account_credential(path_text: str, transport: httpx.BaseTransport | None,
                               clock: Clock = time.time) -> Credential:
    info = _load_key(path_text)
    exceptions, _, _ = _google_transport_classes()
    from google.oauth2 import service_account

    email = info.get("client_email", "?")
    try:
        creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[FIREBASE_SCOPE, CLOUD_PLATFORM_SCOPE])
    except (ValueError, KeyError) as exc:
        raise AuthError(f"The service-account key {path_text} (from {CREDENTIALS_ENV}) is incomplete: {exc}.",
                        hint=_KEY_HINT) from exc
    client = httpx.Client(transport=transport, timeout=30.0, follow_redirects=False)
    request = _make_request(client)

    def fetch() -> tuple[str, float | None]:
        try:
            creds.refresh(request)
        except exceptions.RefreshError as exc:
            raise AuthError(
                f"Google refused the service account {email} (key {path_text} from {CREDENTIALS_ENV}) at its token "
                f"endpoint {info.get('token_uri')}: {exc}. The key may be deleted, disabled or expired.",
                hint=_KEY_HINT,
            ) from exc
        except exceptions.TransportError as exc:
            raise PlatformUnavailable(
                f"Cannot reach Google's token endpoint {info.get('token_uri')} ({exc}).",
                hint="Check your network, or the token_uri in the key file.",
            ) from exc
        token = creds.token
        if not token:
            raise AuthError(f"Google's token endpoint gave no access token for {email}.", hint=_KEY_HINT)
        expiry = creds.expiry  # naive UTC (google-auth's convention)
        left = (expiry.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)).total_seconds() if expiry else None
        return str(token), (clock() + left) if left is not None else None

    token, expires_at = fetch()
    return Credential(source=CREDENTIALS_ENV, description=f"service account {email} ({path_text})",
                      token=token, refresher=fetch, expires_at=expires_at, clock=clock)


def resolve_credential(environ: Mapping[str, str], transport: httpx.BaseTransport | None, *,
                       clock: Clock = time.time, sleep: Callable[[float], None] | None = None) -> Credential:
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return refresh_token_credential(token, environ, transport, clock, sleep)
    key_path = environ.get(CREDENTIALS_ENV, "").strip()
    if key_path:
        return service_account_credential(key_path, transport, clock)
    raise AuthError(
        f"No Firebase credentials: set {CREDENTIALS_ENV} to a service-account key file, or {TOKEN_ENV} to the "
        "refresh token `firebase login:ci` prints.",
        hint=_KEY_HINT,
    )
