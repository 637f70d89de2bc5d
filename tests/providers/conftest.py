"""Fixtures for provider tests: the Vercel/Netlify fakes and a ``Harness``
that builds providers against them (or against the real local platform).

Every request a provider sends to a fake, and every answer of the fake, is
checked against the platform's official spec as it happens (the spec layer
of ``tests/fakes/FakeApi``); a violation fails the test (``tests/conftest.py``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from moai_adk.artifacts.snapshot import Snapshot, take_snapshot
from moai_adk.providers.base import Provider, ProviderContext
from moai_adk.providers.netlify import NetlifyProvider
from moai_adk.providers.vercel import VercelProvider
from tests.fakes import FakeApi
from tests.fakes.netlify import FakeNetlify
from tests.fakes.vercel import FakeVercel

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


@dataclass
class Harness:
    """One platform under test: how to build its provider and where its files go."""

    name: str
    root: Path
    factory: Callable[..., Provider]
    fake: FakeApi | None = None
    secret_readable: bool | None = False  # None: the platform may reveal secrets
    sleeps: SleepRecorder = field(default_factory=SleepRecorder)
    providers: list[Provider] = field(default_factory=list)

    def provider(self, **kwargs: Any) -> Provider:
        p = self.factory(self.root, self.sleeps, **kwargs)
        self.providers.append(p)
        return p

    def snapshot(self, files: dict[str, str | bytes], provider: Provider) -> Snapshot:
        out = write_site(self.root / "dist", files)
        return take_snapshot(out, provider.hash_algorithms, limits=provider.limits, platform=provider.name)

    def close(self) -> None:
        for p in self.providers:
            close = getattr(p, "close", None)
            if close is not None:
                close()


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
    h = Harness("vercel", tmp_path, lambda root, sleep, **kw: VercelProvider(vercel_context(root, vercel_fake, sleep, **kw)),
                fake=vercel_fake)
    yield h
    h.close()


@pytest.fixture
def netlify(tmp_path: Path, netlify_fake: FakeNetlify) -> Iterator[Harness]:
    h = Harness("netlify", tmp_path, lambda root, sleep, **kw: NetlifyProvider(netlify_context(root, netlify_fake, sleep, **kw)),
                fake=netlify_fake)
    yield h
    h.close()
