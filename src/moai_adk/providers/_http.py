"""The one HTTP layer every provider uses.

``ApiClient`` wraps an ``httpx.Client`` with: a base URL (overridable per
provider by env var), bearer auth, a user agent, timeouts, retries with
jittered exponential backoff on connection errors, 5xx and 429 (honouring
``Retry-After`` and ``X-RateLimit-Reset``), and a single translation of HTTP
failures into the ``errors`` tree. ``run_concurrently`` is the bounded,
adaptive worker pool used for uploads.
"""

from __future__ import annotations

import email.utils
import functools
import json
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import httpx

from .. import __version__
from ..errors import (
    AuthError,
    MoaiError,
    NotFoundError,
    PlatformUnavailable,
    ProviderError,
    RateLimitError,
)

USER_AGENT = f"moai-adk/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
T = TypeVar("T")
R = TypeVar("R")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process, built as httpx builds its default (certifi, or
    SSL_CERT_FILE/SSL_CERT_DIR): httpx makes a new one, ~25 ms, for every client otherwise."""
    return httpx.create_ssl_context()


def verify_for(url: str) -> ssl.SSLContext | bool:
    """httpx's ``verify=`` for a client that talks to ``url``'s origin only: the shared context for
    https, none for plain http (no certificate is ever presented there, so none is loaded)."""
    return False if url.startswith("http://") else tls_context()


def retry_delay(response: httpx.Response | None, attempt: int, *, base: float = 0.25, cap: float = 30.0,
                now: Callable[[], float] = time.time) -> float:
    """Seconds to wait before retry ``attempt`` (1-based).

    ``Retry-After`` (seconds or HTTP date) and ``X-RateLimit-Reset`` (epoch
    seconds) win when present; otherwise full-jitter exponential backoff.
    """
    if response is not None:
        ra = response.headers.get("retry-after")
        if ra:
            try:
                return min(cap, max(0.0, float(ra)))
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(ra)
                if parsed is not None:
                    return min(cap, max(0.0, parsed.timestamp() - now()))
        reset = response.headers.get("x-ratelimit-reset")
        if reset:
            try:
                return min(cap, max(0.0, float(reset) - now()))
            except ValueError:
                pass
    return random.uniform(0, min(cap, base * (2 ** (attempt - 1))))


class ApiClient:
    """A provider's HTTP client. ``label`` names the platform in errors;
    ``token_env`` names the env var that holds the token (for hints)."""

    def __init__(
        self,
        base_url: str,
        *,
        label: str,
        token: str | None = None,
        token_env: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        sleep: Callable[[float], None] | None = None,
        link_hint: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> None:
        self.label = label
        self.token_env = token_env
        self.max_retries = max_retries
        self.sleep = sleep or time.sleep
        self.link_hint = link_hint
        self.request_count = 0
        self._count_lock = threading.Lock()
        self.throttled = threading.Event()  # set when the API pushed back recently
        hdrs = {"User-Agent": USER_AGENT}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        if headers:
            hdrs.update(headers)
        self.base_url = base_url.rstrip("/")
        self._options: dict[str, Any] = dict(
            headers=hdrs, timeout=httpx.Timeout(timeout, connect=10.0), transport=transport,
            params=dict(params or {}), limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            follow_redirects=False)
        self.client = httpx.Client(base_url=self.base_url, verify=verify_for(self.base_url), **self._options)
        self._tls_client: httpx.Client | None = None  # for https URLs a plain-http API hands out
        self._tls_lock = threading.Lock()

    def _client_for(self, url: str) -> httpx.Client:
        """The client for ``url``: an absolute https URL from an API on plain http (a fake, the local
        platform) goes through a verifying client, never the unverified one."""
        if not url.startswith("https://") or self.base_url.startswith("https://"):
            return self.client
        with self._tls_lock:
            if self._tls_client is None:
                self._tls_client = httpx.Client(verify=tls_context(), **self._options)
            return self._tls_client

    def close(self) -> None:
        self.client.close()
        if self._tls_client is not None:
            self._tls_client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------
    def request(self, method: str, url: str, *, expect: Iterable[int] | None = None,
                retry: bool = True, retries: int | None = None, **kwargs: Any) -> httpx.Response:
        """Send with retries; return the response or raise a ``MoaiError``.

        ``expect`` lists statuses returned to the caller without raising
        (besides 2xx), e.g. ``{400}`` for Vercel's missing-files answer.
        ``retries`` overrides ``max_retries`` for this call (idempotent
        uploads afford more patience than other calls).
        """
        allowed = set(expect or ())
        max_retries = self.max_retries if retries is None else retries
        attempt = 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            try:
                with self._count_lock:
                    self.request_count += 1
                response = self._client_for(url).request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if not retry or attempt > max_retries:
                    raise PlatformUnavailable(
                        f"Cannot reach the {self.label} API at {self.base_url} ({type(exc).__name__}: {exc}).",
                        hint="Check your network, or the base-URL override variable if you set one.",
                    ) from exc
                self.sleep(retry_delay(None, attempt))
                continue
            if response.status_code in allowed or response.is_success:
                return response
            if retry and response.status_code in RETRY_STATUSES and attempt <= max_retries:
                if response.status_code in (429, 503):
                    self.throttled.set()
                self.sleep(retry_delay(response, attempt))
                continue
            raise self.translate(response, method, url)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        return self.decode(response)

    def decode(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            snippet = response.text[:120].replace("\n", " ")
            raise ProviderError(
                f"The {self.label} API answered {response.request.method} {response.request.url.path} "
                f"with something that is not JSON (status {response.status_code}: {snippet!r}).",
                hint="The API or a proxy in between may be down; retry later, or check the base-URL override.",
                status=response.status_code,
            ) from exc

    def translate(self, response: httpx.Response, method: str, url: str) -> MoaiError:
        status = response.status_code
        detail = error_message(response)
        where = f"{method} {url}"
        if status in (401, 403):
            env = f" Set {self.token_env} to a valid token" if self.token_env else ""
            return AuthError(
                f"The {self.label} token is invalid, revoked or lacks the scope for {where} ({status}: {detail}).",
                hint=(env.strip() + "." if env else "Check your credentials."),
                status=status,
            )
        if status == 404:
            return NotFoundError(
                f"The {self.label} API has no such resource: {where} ({detail}).",
                hint=self.link_hint or "Check the project/site id in moai.toml.",
                status=status,
            )
        if status == 429:
            return RateLimitError(
                f"The {self.label} API kept rate-limiting {where} after {self.max_retries} retries.",
                hint="Wait a minute and re-run; uploads resume where they stopped.",
                status=status,
            )
        return ProviderError(
            f"The {self.label} API refused {where} ({status}: {detail}).",
            hint="Re-run with --debug for the full response.",
            status=status,
        )


def error_message(response: httpx.Response) -> str:
    """Pull a human message out of the common error body shapes."""
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - any undecodable body
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("code") or err)
        for key in ("message", "error_message", "msg", "error", "errors"):
            if body.get(key):
                return str(body[key])
    return str(body)[:200]


def run_concurrently(items: Iterable[T], fn: Callable[[T], R], *, concurrency: int,
                     throttled: threading.Event | None = None,
                     on_done: Callable[[T, R], None] | None = None, min_window: int = 1) -> list[R]:
    """Run ``fn`` over ``items`` with at most ``concurrency`` in flight.

    Adaptive: when ``throttled`` gets set (the API answered 429 or 503), the
    window halves (never below 1) and grows back by one per completed batch.
    It halves at most once per window's worth of completions, so a burst of
    429s answered to requests already in flight counts as one signal; it
    never shrinks below ``min_window``. The first error cancels what has not
    started and is re-raised.
    """
    pending = iter(items)
    results: list[R] = []
    window = max(1, concurrency)
    cooldown = 0  # completions left before another halving may happen
    with ThreadPoolExecutor(max_workers=window) as pool:
        running: dict[Future[R], T] = {}
        exhausted = False
        while True:
            while not exhausted and len(running) < window:
                try:
                    item = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                running[pool.submit(fn, item)] = item
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                item = running.pop(fut)
                exc = fut.exception()
                if exc is not None:
                    for other in running:
                        other.cancel()
                    raise exc
                result = fut.result()
                results.append(result)
                if on_done is not None:
                    on_done(item, result)
                cooldown = max(0, cooldown - 1)
            if throttled is not None and throttled.is_set():
                throttled.clear()
                if cooldown == 0:
                    window = max(1, min_window, window // 2)
                    cooldown = window
            elif window < concurrency:
                window += 1
    return results


def poll_until(fetch: Callable[[], T], done: Callable[[T], bool], *, what: str,
               interval: float = 1.0, max_interval: float = 5.0, timeout: float = 1200.0,
               sleep: Callable[[float], None] | None = None,
               clock: Callable[[], float] = time.monotonic) -> T:
    """Call ``fetch`` until ``done(result)``; the interval grows 1.5x up to ``max_interval``.

    ``fetch`` goes through ``ApiClient`` so 429/503 answers are already
    retried honouring ``Retry-After``. Raises ``ProviderError`` naming
    ``what`` after ``timeout`` seconds of the clock (or of summed sleeps when
    an injected ``sleep`` does not really wait).
    """
    pause = sleep or time.sleep
    start = clock()
    waited = 0.0
    delay = interval
    while True:
        result = fetch()
        if done(result):
            return result
        if clock() - start > timeout or waited > timeout:
            raise ProviderError(
                f"Gave up waiting for {what} after {timeout:.0f} seconds.",
                hint="The platform may be slow or stuck; check its dashboard and re-run the command later.",
            )
        pause(delay)
        waited += delay
        delay = min(max_interval, delay * 1.5)
