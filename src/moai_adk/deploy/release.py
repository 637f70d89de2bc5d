"""Release strategies built on the provider protocol (no I/O of their own)."""

from __future__ import annotations

from ..errors import UsageError


def canary_weights(production: str | None, candidate: str, percent: int) -> dict[str, int]:
    """Production keeps ``100 - percent``, the candidate gets ``percent``.

    ``percent`` is 1 to 99: 0 and 100 are refused with the command that does
    what they mean (`canary --off`, `promote`)."""
    if production is None:
        raise UsageError("There is no production deployment yet, so there is nothing to split traffic with.",
                         hint=f"Promote a deployment first: `moai-adk promote {candidate or 'ID'}`.")
    if percent == 0:
        raise UsageError("--percent 0 sends no traffic to the canary: that ends it.",
                         hint="Run `moai-adk canary --off`.")
    if percent == 100:
        raise UsageError(f"--percent 100 sends all traffic to {candidate}: that is a promotion.",
                         hint=f"Run `moai-adk promote {candidate}`.")
    if not 1 <= percent <= 99:
        raise UsageError(f"--percent {percent} is outside 1-99.", hint="Give the canary's share of traffic, e.g. --percent 10.")
    if candidate == production:
        raise UsageError(f"{candidate} is already production.",
                         hint="Give the id of another ready deployment (`moai-adk deployments`).")
    return {production: 100 - percent, candidate: percent}
