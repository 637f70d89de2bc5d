"""Fixtures for provider tests: the platform fakes and a ``Harness`` per
platform that builds providers against them (or against the real local
platform): ``vercel``, ``netlify``, ``firebase``, ``supabase``, ``local``.

A ``Harness`` also carries, as data, what the conformance suite
(tests/providers/conformance/) needs to know about its platform: how to see
the requests sent, which of them upload files, what the platform refuses
before sending, whether it reveals values. The checks themselves never name a
platform.

Every request a provider sends to a fake, and every answer of the fake, is
checked against the platform's official spec as it happens (the spec layer
of ``tests/fakes/FakeApi``); a violation fails the test (``tests/conftest.py``).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import httpx
import pytest

from moai_adk.artifacts.hashing import deterministic_gzip
from moai_adk.artifacts.snapshot import Snapshot, take_snapshot
from moai_adk.providers.base import Provider, ProviderContext
from moai_adk.providers.capabilities import Hosting, require
from moai_adk.providers.firebase import FirebaseProvider
from moai_adk.providers.netlify import NetlifyProvider
from moai_adk.providers.supabase import SupabaseProvider
from moai_adk.providers.vercel import VercelProvider
from tests.fakes import FakeApi
from tests.fakes.firebase import FakeFirebase
from tests.fakes.netlify import FakeNetlify
from tests.fakes.supabase_api import FakeSupabaseApi
from tests.fakes.vercel import FakeVercel

if TYPE_CHECKING:
    from tests.conftest import RunningPlatform

VERCEL_URL = "https://api.vercel.test"
NETLIFY_URL = "https://api.netlify.test/api/v1"


class SleepRecorder:
    """An injectable ``sleep``: records what the code asked for, waits only a little."""

    def __init__(self, cap: float = 0.002) -> None:
        self.calls: list[float] = []
        self.cap = cap

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(min(seconds, self.cap))


def assert_spec_conformant(platform: str, fake: FakeApi) -> None:
    """Fail now if ``fake`` recorded a spec violation (the autouse fixture checks every fake anyway)."""
    assert fake.label == platform and not fake.violations, "outside the official spec:\n" + "\n".join(fake.violations)


@pytest.fixture
def vercel_fake() -> FakeVercel:
    return FakeVercel(build_steps=1)


@pytest.fixture
def netlify_fake() -> FakeNetlify:
    return FakeNetlify()


def write_site(out: Path, files: dict[str, str | bytes]) -> Path:
    if out.exists():
        shutil.rmtree(out)
    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return out


class Sent(NamedTuple):
    """One request a provider sent: its method and path (without the API's base path)."""

    method: str
    path: str


class EnvCase(NamedTuple):
    """A variable for ``EnvStore.env_set(environment, key, value, secret=secret)``."""

    environment: str
    key: str
    value: str
    secret: bool = False


C = TypeVar("C")


class TrackedTransport(httpx.BaseTransport):
    """A provider's transport (a fake's, or real HTTP to the local platform) that knows whether it
    was closed after its last request, and logs requests where no fake does (the local platform)."""

    def __init__(self, inner: httpx.BaseTransport, log: list[Sent] | None = None) -> None:
        self._inner = inner
        self._log = log
        self.open_requests = False  # a request went out since the last close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.open_requests = True
        if self._log is not None:
            self._log.append(Sent(request.method, request.url.path))
        return self._inner.handle_request(request)

    def close(self) -> None:
        self.open_requests = False
        self._inner.close()


@dataclass
class Harness:
    """One platform under test: how to build its provider, where its files go, and what the
    conformance checks need to know about the platform (as data, so no check names a platform)."""

    name: str
    root: Path
    factory: Callable[..., Provider]
    fake: FakeApi | None = None
    secret_readable: bool | None = False  # None: the platform may reveal secrets
    sleeps: SleepRecorder = field(default_factory=SleepRecorder)
    providers: list[Provider] = field(default_factory=list)
    # every request sent so far, in order (a fake's log, or the local platform's counting transport)
    requests: Callable[[], list[Sent]] = list
    upload_path: str = r"^$"  # a regex matching the paths of the requests that upload file bytes
    auth_path: str = r"^$"  # a regex matching requests that only fetch credentials (a token exchange)
    # the bytes an uploaded file counts for in DeployStats.bytes_uploaded (Firebase sends gzip)
    upload_size: Callable[[bytes], int] = len
    # a deploy that is not live has a URL of its own (a Firebase version gets one only on a channel)
    unreleased_url: bool = True
    values_readable: bool = True  # False: every variable is write-only (its value is never listed)
    env_refusals: tuple[EnvCase, ...] = ()  # what check_env_value refuses before sending (may be none)
    functions_source: dict[str, str] = field(default_factory=dict)  # files of a function named "hello"
    live_channel: str = "live"  # the channel that is production and cannot be deleted
    transports: list[TrackedTransport] = field(default_factory=list)  # one per provider built

    def track(self, inner: httpx.BaseTransport, log: list[Sent] | None = None) -> TrackedTransport:
        """``inner`` as a provider's transport, so ``unclosed()`` can tell whether the provider closed it."""
        transport = TrackedTransport(inner, log)
        self.transports.append(transport)
        return transport

    def unclosed(self) -> int:
        """How many providers sent requests and were not closed afterwards."""
        return sum(1 for t in self.transports if t.open_requests)

    def provider(self, **kwargs: Any) -> Provider:
        p = self.factory(self.root, self.sleeps, **kwargs)
        self.providers.append(p)
        return p

    @contextmanager
    def use(self, capability: type[C], **kwargs: Any) -> Iterator[C]:
        """A new provider as ``capability``, used as a context manager (closed on the way out)."""
        with self.provider(**kwargs) as p:
            yield require(p, capability, capability.__name__)

    def sent_since(self, mark: int, *, writes_only: bool = False) -> list[Sent]:
        """The requests sent after ``mark`` (= ``len(h.requests())`` earlier); ``writes_only``: those
        that may change something on the platform (not GET, not a token exchange)."""
        return [r for r in self.requests()[mark:]
                if not writes_only or (r.method != "GET" and not re.search(self.auth_path, r.path))]

    def snapshot(self, files: dict[str, str | bytes], provider: Provider | Hosting) -> Snapshot:
        """``files`` written to ``<root>/dist`` and hashed as ``provider`` needs them."""
        out = write_site(self.root / "dist", files)
        hosting = provider if isinstance(provider, Hosting) else require(provider, Hosting, "sites")
        return take_snapshot(out, hosting.hash_algorithms, limits=hosting.limits, platform=hosting.name)

    def close(self) -> None:
        for p in self.providers:
            p.close()


def _log_of(records: Callable[[], list[Any]]) -> Callable[[], list[Sent]]:
    return lambda: [Sent(r.method, r.path) for r in records()]


def vercel_context(root: Path, fake: FakeVercel, sleep: Callable[[float], None], *,
                   environ: dict[str, str] | None = None, settings: dict[str, Any] | None = None,
                   concurrency: int = 8) -> ProviderContext:
    env = {"VERCEL_TOKEN": "test-token", "MOAI_VERCEL_API_URL": VERCEL_URL}
    env.update(environ or {})
    return ProviderContext(root=root, settings=dict(settings or {}), environ=env, transport=fake.transport(),
                           project_name="site", sleep=sleep, concurrency=concurrency)


def netlify_context(root: Path, fake: FakeNetlify, sleep: Callable[[float], None], *,
                    environ: dict[str, str] | None = None, settings: dict[str, Any] | None = None,
                    concurrency: int = 8) -> ProviderContext:
    env = {"NETLIFY_AUTH_TOKEN": "test-token", "MOAI_NETLIFY_API_URL": NETLIFY_URL}
    env.update(environ or {})
    return ProviderContext(root=root, settings=dict(settings or {}), environ=env, transport=fake.transport(),
                           project_name="site", sleep=sleep, concurrency=concurrency)


@pytest.fixture
def vercel(tmp_path: Path, vercel_fake: FakeVercel) -> Iterator[Harness]:
    def factory(root: Path, sleep: SleepRecorder, **kw: Any) -> Provider:
        ctx = vercel_context(root, vercel_fake, sleep, **kw)
        return VercelProvider(replace(ctx, transport=h.track(vercel_fake.transport())))

    h = Harness("vercel", tmp_path, factory, fake=vercel_fake, requests=_log_of(lambda: vercel_fake.requests),
                upload_path=r"^/v2/files$")
    yield h
    h.close()


@pytest.fixture
def netlify(tmp_path: Path, netlify_fake: FakeNetlify) -> Iterator[Harness]:
    def factory(root: Path, sleep: SleepRecorder, **kw: Any) -> Provider:
        ctx = netlify_context(root, netlify_fake, sleep, **kw)
        return NetlifyProvider(replace(ctx, transport=h.track(netlify_fake.transport())))

    h = Harness("netlify", tmp_path, factory, fake=netlify_fake,
                requests=_log_of(lambda: netlify_fake.requests), upload_path=r"^/deploys/[^/]+/files/",
                # Netlify's `dev` context (our development environment) keeps no secret
                env_refusals=(EnvCase("development", "API_TOKEN", "s3cr3t", secret=True),))
    yield h
    h.close()


@pytest.fixture
def firebase_fake() -> Iterator[FakeFirebase]:
    fake = FakeFirebase()
    yield fake
    assert fake.violations == [], fake.violations


@pytest.fixture
def firebase(tmp_path: Path, firebase_fake: FakeFirebase) -> Iterator[Harness]:
    def factory(root: Path, sleep: SleepRecorder, **kw: Any) -> Provider:
        kw.setdefault("concurrency", 8)
        ctx = ProviderContext(root=root, settings={"site": "demo-site"}, environ=firebase_fake.env(),
                              transport=h.track(firebase_fake.transport()), sleep=sleep, **kw)
        return FirebaseProvider(ctx, clock=firebase_fake.time)

    # uploads are gzip (their size is what DeployStats counts); a version gets a URL only on a channel
    h = Harness("firebase", tmp_path, factory, requests=_log_of(lambda: firebase_fake.calls),
                upload_path=r"^/upload/", auth_path=r"^/oauth2/",
                upload_size=lambda data: len(deterministic_gzip(data)), unreleased_url=False)
    yield h
    h.close()


SUPABASE_REFS = {"production": "abcdefghijklmnopqrst", "preview": "tsrqponmlkjihgfedcba"}


@pytest.fixture
def supabase_fake() -> Iterator[FakeSupabaseApi]:
    fake = FakeSupabaseApi(refs=tuple(SUPABASE_REFS.values()))
    yield fake
    assert fake.violations == [], fake.violations


@pytest.fixture
def supabase(tmp_path: Path, supabase_fake: FakeSupabaseApi) -> Iterator[Harness]:
    # one Supabase project per environment, as moai.toml's [environments.<env>] tables name them
    environments = {env: {"supabase_project_ref": ref} for env, ref in SUPABASE_REFS.items()}

    def factory(root: Path, sleep: SleepRecorder, **kw: Any) -> Provider:
        environ = {"SUPABASE_ACCESS_TOKEN": "sbp_test", "MOAI_SUPABASE_API_URL": supabase_fake.base_url}
        ctx = ProviderContext(root=root, environ=environ, environments=environments, sleep=sleep,
                              transport=h.track(supabase_fake.transport()), **kw)
        return SupabaseProvider(ctx)

    h = Harness("supabase", tmp_path, factory, requests=_log_of(lambda: supabase_fake.calls),
                values_readable=False,  # secrets only: the API answers digests, never values
                env_refusals=(EnvCase("production", "SUPABASE_URL", "https://x.supabase.co"),
                              EnvCase("production", "BIG", "x" * 24_577, secret=True)),
                functions_source={
                    "supabase/functions/hello/index.ts": 'import { greet } from "../_shared/greet.ts";\n'
                                                         "Deno.serve(() => new Response(greet()));\n",
                    "supabase/functions/_shared/greet.ts": 'export const greet = () => "hi";\n'})
    yield h
    h.close()


@pytest.fixture
def local(tmp_path: Path, local_platform: RunningPlatform) -> Iterator[Harness]:
    """The real local platform (one site per test on the session's platform)."""
    site = local_platform.new_site("conf")
    log: list[Sent] = []

    def factory(root: Path, sleep: SleepRecorder, **kw: Any) -> Provider:
        from moai_adk.providers.local import LocalProvider

        kw.setdefault("concurrency", 8)
        transport = h.track(httpx.HTTPTransport(), log)
        ctx = local_platform.context(root, site=site, sleep=sleep, transport=transport, **kw)
        return LocalProvider(ctx)

    h = Harness("local", tmp_path, factory, requests=lambda: list(log), upload_path=r"/blobs(/|$)")
    yield h
    h.close()
