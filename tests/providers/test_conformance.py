"""Run the conformance suite (tests/providers/conformance/) on every platform:
each platform runs the checks of exactly the capabilities it declares
(``capabilities_of``), and is refused, by name, every capability it lacks.

The platforms come from the provider registry and the capabilities from
``providers.capabilities.CAPABILITIES``, so a new platform or capability is
picked up here by itself (and fails until it has a harness or a check set).
Platforms run against the real local platform (tests/conftest.py
``local_platform``) and the Vercel, Netlify, Firebase and Supabase fakes
(harnesses in tests/providers/conftest.py).
"""

from __future__ import annotations

import pytest

from moai_adk.errors import NotSupported
from moai_adk.providers import available, get_provider_class
from moai_adk.providers.capabilities import CAPABILITIES, capabilities_of, require

from .conformance import CHECK_SETS, CheckSet
from .conftest import Harness

PLATFORMS = sorted(available())
BY_CAPABILITY: dict[type, type[CheckSet]] = {s.capability: s for s in CHECK_SETS}
HAS = [(platform, cap) for platform in PLATFORMS for cap in capabilities_of(get_provider_class(platform))]
LACKS = [(platform, cap) for platform in PLATFORMS for cap in sorted(CAPABILITIES)
         if (platform, cap) not in HAS]
CASES = [pytest.param(platform, cap, check, id=f"{platform}-{cap}-{check}")
         for platform, cap in HAS if CAPABILITIES[cap] in BY_CAPABILITY
         for check in BY_CAPABILITY[CAPABILITIES[cap]].names()]


def harness_for(request: pytest.FixtureRequest, platform: str) -> Harness:
    try:
        h = request.getfixturevalue(platform)
    except pytest.FixtureLookupError:
        pytest.fail(f"platform {platform!r} has no harness: add a fixture named {platform} to "
                    "tests/providers/conftest.py")
    assert isinstance(h, Harness) and h.name == platform
    return h


@pytest.mark.parametrize(("platform", "capability", "check"), CASES)
def test_conformance(request: pytest.FixtureRequest, platform: str, capability: str, check: str) -> None:
    h = harness_for(request, platform)
    BY_CAPABILITY[CAPABILITIES[capability]]().run(check, h)
    assert h.providers, "a check must build its providers through the harness"
    assert h.unclosed() == 0, "a provider used as a context manager must close its HTTP connections on exit"


@pytest.mark.parametrize(("platform", "capability"), [pytest.param(p, c, id=f"{p}-{c}") for p, c in LACKS])
def test_missing_capability_is_refused_by_name(request: pytest.FixtureRequest, platform: str,
                                               capability: str) -> None:
    h = harness_for(request, platform)
    with h.provider() as p:
        assert not isinstance(p, CAPABILITIES[capability])
        with pytest.raises(NotSupported) as refused:
            require(p, CAPABILITIES[capability], "this feature")
    assert platform in refused.value.message
    assert refused.value.hint
    assert h.requests() == [], "a refusal must not send anything"


def test_every_capability_has_a_check_set() -> None:
    assert set(BY_CAPABILITY) == set(CAPABILITIES.values())
    assert all(s.names() for s in CHECK_SETS)


def test_every_platform_runs_checks_and_the_pairs_are_what_the_adapters_declare() -> None:
    assert set(PLATFORMS) >= {"local", "vercel", "netlify", "firebase", "supabase"}
    assert {platform for platform, _, _ in (c.values for c in CASES)} == set(PLATFORMS)
    assert ("firebase", "env") in LACKS and ("supabase", "hosting") in LACKS
    assert {("supabase", "functions"), ("firebase", "channels"), ("local", "traffic")} <= set(HAS)
