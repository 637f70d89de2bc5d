"""``backend plan`` / ``backend apply``: one engine for every backend (Supabase, Firebase, ...).

    plan  = read the live state (batched, concurrent reads) -> diff against moai.toml's desired state
    apply = plan again -> refuse destructive changes unless allowed -> refuse a saved plan whose
            live values changed since -> Backend.apply(changes) -> read again: the plan must now be
            empty (an apply that does not converge is an error naming what is left) -> audit entry

Applying is idempotent: every change is "make this key have this value", so an apply interrupted
half-way is completed by the next run, and a second apply finds nothing to do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .. import audit
from ..errors import MoaiError
from .plan import Change, Plan, State, diff, fingerprint


class BackendError(MoaiError):
    """A backend plan or apply that cannot go on (destructive without consent, a stale plan, no convergence)."""


class Backend(ABC):
    """One environment's backend on one platform. Subclasses read and change it through the platform's
    API (with a base-URL override for tests, like the providers) and say which kinds of resource they
    manage as a whole, which removals lose data, and which values are secret."""

    name: ClassVar[str]
    managed_kinds: ClassVar[frozenset[str]] = frozenset()
    destructive_kinds: ClassVar[frozenset[str]] = frozenset()
    secret_kinds: ClassVar[frozenset[str]] = frozenset()
    leading_kinds: ClassVar[frozenset[str]] = frozenset()  # listed before every other change (a project to create)

    def __init__(self, root: Path, environment: str) -> None:
        self.root = root
        self.environment = environment
        self.round_trips = 0  # API requests made (each backend counts its own)

    @property
    @abstractmethod
    def target(self) -> str:
        """The project this environment's backend lives in (a Supabase ref, a Firebase project id)."""

    @abstractmethod
    def desired(self) -> State:
        """The state moai.toml (and the files it names) asks for."""

    @abstractmethod
    def read(self) -> State:
        """The live state of every kind ``desired`` may name, and every managed kind."""

    @abstractmethod
    def apply(self, changes: list[Change]) -> None:
        """Make each change true (idempotent: applying a change that already holds is harmless)."""

    def notes(self) -> list[str]:
        """Anything the plan should say beside the changes (a warning, what is not managed)."""
        return []

    def confirmations(self) -> list[str]:
        """Reasons an apply needs the user's explicit consent (``--yes``), e.g. a project another environment
        uses too. Empty: no consent needed."""
        return []

    def close(self) -> None:  # noqa: B027 - a backend without clients has nothing to release
        """Release clients."""


def make_plan(backend: Backend) -> Plan:
    start = backend.round_trips
    desired = backend.desired()
    live = backend.read()
    changes = diff(live, desired, managed_kinds=backend.managed_kinds,
                   destructive_kinds=backend.destructive_kinds, secret_kinds=backend.secret_kinds)
    changes.sort(key=lambda c: c.kind not in backend.leading_kinds)  # stable: the rest keeps its order
    return Plan(backend=backend.name, environment=backend.environment, target=backend.target, changes=changes,
                round_trips=backend.round_trips - start, notes=backend.notes())


@dataclass
class ApplyResult:
    plan: Plan
    applied: list[Change] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {**self.plan.to_json(), "dry_run": self.dry_run,
                "applied": [c.to_json() for c in self.applied]}


def _check_saved(saved: Mapping[str, Any], fresh: Plan) -> None:
    """A saved plan (``backend plan --out``) is applied only while it is still what a fresh plan says."""
    want = sorted((c["action"], c["kind"], c["name"], c["before_sha256"]) for c in saved.get("changes", []))
    have = sorted((c.action, c.kind, c.name, fingerprint(c.before)) for c in fresh.changes)
    if (saved.get("backend"), saved.get("environment"), saved.get("target")) != \
            (fresh.backend, fresh.environment, fresh.target) or want != have:
        raise BackendError(
            f"The saved plan no longer matches the {fresh.backend} backend of {fresh.environment} ({fresh.target}): "
            "its live state or moai.toml changed since the plan was made, so nothing was applied.",
            hint=f"Run `moai-adk backend plan --env {fresh.environment} --backend {fresh.backend} --out FILE` again, "
                 "review it, then apply that file.")


def apply_plan(backend: Backend, *, allow_destructive: bool = False, dry_run: bool = False,
               saved: Mapping[str, Any] | None = None, confirmed: bool = False) -> ApplyResult:
    plan = make_plan(backend)
    if saved is not None:
        _check_saved(saved, plan)
    result = ApplyResult(plan=plan, dry_run=dry_run)
    if plan.destructive and not allow_destructive:
        listed = ", ".join(f"{c.kind} {c.name}" for c in plan.destructive)
        raise BackendError(
            f"The plan for the {plan.backend} backend of {plan.environment} ({plan.target}) removes what holds data: "
            f"{listed}. Nothing was applied.",
            hint="Check that they should go (their data goes with them), then apply with --allow-destructive; or "
                 "add them to moai.toml to keep them.")
    if dry_run or not plan.changes:
        return result
    reasons = [] if confirmed else backend.confirmations()
    if reasons:
        raise BackendError(
            f"Applying to the {plan.backend} backend of {plan.environment} ({plan.target}) needs confirmation: "
            + "; ".join(reasons) + ". Nothing was applied.",
            hint="Check that this is intended (or give each environment its own project in moai.toml), then "
                 "apply with --yes.")
    try:
        backend.apply(plan.changes)
    except BaseException:
        audit.record(backend.root, "backend apply", environment=plan.environment, target=plan.target,
                     result="failed", details={"backend": plan.backend, "changes": _names(plan.changes)})
        raise
    result.applied = list(plan.changes)
    left = diff(backend.read(), backend.desired(), managed_kinds=backend.managed_kinds,
                destructive_kinds=backend.destructive_kinds, secret_kinds=backend.secret_kinds)
    audit.record(backend.root, "backend apply", environment=plan.environment, target=plan.target,
                 result="ok" if not left else "failed",
                 details={"backend": plan.backend, "changes": _names(plan.changes)})
    if left:
        raise BackendError(
            f"The {plan.backend} backend of {plan.environment} ({plan.target}) still differs after the apply: "
            + "; ".join(c.render() for c in left) + ".",
            hint="The platform did not take these values (see its documentation for the setting); run "
                 "`moai-adk backend plan` to see the current difference.")
    return result


def _names(changes: list[Change]) -> list[str]:
    """What the audit log keeps of changes: action, kind and name, never values."""
    return [f"{c.action} {c.kind} {c.name}" for c in changes]
