"""Release strategies built on the provider protocol (no I/O of their own)."""

from __future__ import annotations

from ..errors import UsageError


def canary_weights(production: str | None, candidate: str, percent: int) -> dict[str, int]:
    """Production keeps ``100 - percent``, the candidate gets ``percent``.

    0 ends the canary (empty mapping); 100 is a promotion and is refused
    here with the command that does it."""
    if production is None:
        raise UsageError("There is no production deployment yet, so there is nothing to split traffic with.",
                         hint=f"Promote a deployment first: `moai-adk promote {candidate or 'ID'}`.")
    if percent == 0:
        return {}
    if percent >= 100:
        raise UsageError(f"--percent 100 sends all traffic to {candidate}: that is a promotion.",
                         hint=f"Run `moai-adk promote {candidate}`.")
    if candidate == production:
        raise UsageError(f"{candidate} is already production.",
                         hint="Give the id of another ready deployment (`moai-adk deployments`).")
    return {production: 100 - percent, candidate: percent}
