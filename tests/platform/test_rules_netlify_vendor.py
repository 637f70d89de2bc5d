"""The local platform against Netlify's own engines (netlify-redirector, @netlify/redirect-parser,
@netlify/headers-parser, installed by scripts/test into tests/vendor/node_modules).

The same rules, files and requests go to the vendor engines and to a real platform on loopback;
status, ``Location``, the file served and the rules' headers must agree on at least 99% of the
requests of each family (``_redirects``, ``_headers``, ``netlify.toml``)."""

from __future__ import annotations

from collections import defaultdict

import httpx
import pytest

from moai_adk.platform.rules import RulesError, parse_rules
from tests.conftest import RunningPlatform
from tests.platform.netlify_cases import CASES, NOT_APPLICABLE, REJECTED
from tests.platform.netlify_vendor import compare, deploy_case, platform_answers, vendor_answers, vendor_ready

# Requests on which the local platform knowingly answers otherwise (listed in docs/platform.md,
# "Agreement with Netlify"); none today.
KNOWN: set[str] = set()


@pytest.fixture(scope="module")
def vendor() -> list[dict]:
    why = vendor_ready()
    if why is not None:
        pytest.fail(why)
    return vendor_answers(CASES + NOT_APPLICABLE)


def test_agreement_with_netlify_per_family(local_platform: RunningPlatform, vendor: list[dict]) -> None:
    total: dict[str, int] = defaultdict(int)
    agree: dict[str, int] = defaultdict(int)
    diffs: list[str] = []
    with httpx.Client(timeout=30) as client:
        for case, answer in zip(CASES, vendor, strict=False):
            site = local_platform.new_site("nl")
            deploy_case(local_platform, site, case)
            local = platform_answers(local_platform, site, case, client)
            found = compare(case, answer["answers"], local)
            total[case.family] += len(case.requests)
            agree[case.family] += len(case.requests) - len(found)
            diffs += found
    rates = {family: agree[family] / total[family] for family in total}
    print({family: f"{rate:.1%}" for family, rate in rates.items()}, *diffs, sep="\n")
    unknown = [d for d in diffs if d.split(" GET ")[1].split(":")[0] not in KNOWN]
    assert not unknown, "\n".join(unknown)
    assert set(rates) == {"_redirects", "_headers", "netlify.toml"}
    assert all(rate >= 0.99 for rate in rates.values()), (rates, diffs)


def test_rules_a_local_server_cannot_apply_are_left_out(local_platform: RunningPlatform, vendor: list[dict]) -> None:
    """Country/Language/Role conditions and proxies: the platform answers as if the rule were absent,
    and finalize says so; the request then gets what the rest of the rules give."""
    with httpx.Client(timeout=30) as client:
        case = NOT_APPLICABLE[0]
        site = local_platform.new_site("na")
        deploy_case(local_platform, site, case)
        local = platform_answers(local_platform, site, case, client)
        assert local[0]["status"] == 302 and local[0]["location"] == "/about"  # the unconditional rule
        assert local[1]["status"] == 404
        case = NOT_APPLICABLE[1]
        site = local_platform.new_site("na")
        deploy_case(local_platform, site, case)
        assert platform_answers(local_platform, site, case, client)[0]["status"] == 404
    warnings = parse_rules({"_redirects": NOT_APPLICABLE[0].files["_redirects"].encode()}.get)["warnings"]
    assert len(warnings) == 3 and all("never applies" in w for w in warnings)


@pytest.mark.parametrize(("file", "text", "line"), REJECTED)
def test_lines_netlify_rejects_are_refused_with_their_line(file: str, text: str, line: int) -> None:
    from tests.platform.netlify_cases import Case

    vendor = vendor_answers([Case("rejected", file, {file: text}, [])])[0]
    assert vendor["errors"], f"netlify accepts {text!r}"
    with pytest.raises(RulesError) as info:
        parse_rules({file: text.encode()}.get)
    assert (info.value.problems[0].file, info.value.problems[0].line) == (file, line)
