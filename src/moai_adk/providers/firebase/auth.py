"""Google credentials for the Firebase Hosting API.

Two sources, checked in this order:

- ``FIREBASE_TOKEN``: an OAuth2 access token used as is;
- ``GOOGLE_APPLICATION_CREDENTIALS``: the path of a service-account JSON key.
  google-auth signs a JWT with the key and exchanges it at the key's
  ``token_uri`` for an access token with the ``firebase`` scope. The exchange
  goes through httpx (and so through the provider's transport, which lets
  tests point ``token_uri`` at a fake token endpoint).

Neither set, an unreadable key, or a token endpoint that refuses the key, is an
``AuthError`` that says which variable to fix.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ...errors import AuthError, PlatformUnavailable, UsageError

TOKEN_ENV = "FIREBASE_TOKEN"
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
FIREBASE_SCOPE = "https://www.googleapis.com/auth/firebase"
_KEY_HINT = (
    f"Create a key for a service account with the Firebase Hosting Admin role (Google Cloud console > IAM > "
    f"Service accounts > Keys) and export {CREDENTIALS_ENV}=/path/to/key.json, or export {TOKEN_ENV}=<access token>."
)


@dataclass
class Credential:
    """An access token and, for service accounts, a way to get a fresh one."""

    source: str  # the env var it came from
    description: str
    token: str
    refresher: Callable[[], str] | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def refresh(self, stale: str) -> str:
        """A new token (once per stale token, even with many threads asking)."""
        if self.refresher is None:
            return self.token
        with self._lock:
            if self.token == stale:
                self.token = self.refresher()
            return self.token


def _google_transport_classes() -> tuple[Any, Any, Any]:
    try:
        from google.auth import exceptions, transport
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on install
        raise UsageError(
            f"Deploying to Firebase with {CREDENTIALS_ENV} needs the google-auth package.",
            hint="pip install 'moai-adk[google]'  (or export FIREBASE_TOKEN=<access token> instead)",
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


def service_account_credential(path_text: str, transport: httpx.BaseTransport | None) -> Credential:
    info = _load_key(path_text)
    exceptions, _, _ = _google_transport_classes()
    from google.oauth2 import service_account

    email = info.get("client_email", "?")
    try:
        creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[FIREBASE_SCOPE])
    except (ValueError, KeyError) as exc:
        raise AuthError(f"The service-account key {path_text} (from {CREDENTIALS_ENV}) is incomplete: {exc}.",
                        hint=_KEY_HINT) from exc
    client = httpx.Client(transport=transport, timeout=30.0, follow_redirects=False)
    request = _make_request(client)

    def fetch() -> str:
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
        return str(token)

    return Credential(source=CREDENTIALS_ENV, description=f"service account {email} ({path_text})",
                      token=fetch(), refresher=fetch)


def resolve_credential(environ: Mapping[str, str], transport: httpx.BaseTransport | None) -> Credential:
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return Credential(source=TOKEN_ENV, description=f"the access token in {TOKEN_ENV}", token=token)
    key_path = environ.get(CREDENTIALS_ENV, "").strip()
    if key_path:
        return service_account_credential(key_path, transport)
    raise AuthError(
        f"No Firebase credentials: set {CREDENTIALS_ENV} to a service-account key file, or {TOKEN_ENV} to an "
        "access token.",
        hint=_KEY_HINT,
    )
