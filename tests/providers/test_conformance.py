"""Run the conformance suite against every platform: the Vercel and Netlify
fakes and the real local platform (tests/conftest.py ``local_platform``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moai_adk.providers.base import Provider

from .conformance import CHECKS
from .conftest import Harness, SleepRecorder

PLATFORMS = ["vercel", "netlify", "local"]


def _local_harness(request: pytest.FixtureRequest, root: Path) -> Harness:
    from moai_adk.providers.local import LocalProvider

    running = request.getfixturevalue("local_platform")
    site = running.new_site("conf")

    def factory(root: Path, sleep: SleepRecorder, **kw: Any) -> Provider:
        return LocalProvider(running.context(root, site=site, sleep=sleep, concurrency=8, **kw))

    return Harness("local", root, factory, fake=None, secret_readable=None)


@pytest.fixture(params=PLATFORMS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "local":
        h = _local_harness(request, tmp_path)
        yield h
        h.close()
    else:
        yield request.getfixturevalue(request.param)


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_conformance(harness: Harness, check: str) -> None:
    CHECKS[check](harness)
