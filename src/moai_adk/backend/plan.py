"""Backends as code: the state model, the difference between two states, and plans.

A backend's state is a flat mapping ``(kind, name) -> value`` (JSON values): ``("auth", "site_url")``,
``("bucket", "avatars")``, ``("firestore_index", "orders:user_id+created_at")``. The desired state comes
from ``moai.toml``, the live one from the platform's API; ``diff`` turns the two into changes:

* a key only in the desired state is **added**; in both with different values, **changed**;
* a key only in the live state is **removed** only for the kinds the backend *manages as a whole*
  (``Backend.managed_kinds``: buckets, indexes, redirect URLs...). A setting absent from moai.toml is
  not managed and is left as it is (``auth.site_url`` set by hand stays);
* removing a kind in ``Backend.destructive_kinds`` loses data (a bucket and its files, an index):
  such changes are ``destructive`` and ``apply`` refuses them without ``allow_destructive``;
* values of ``Backend.secret_kinds`` never appear in plans, output or files: a change shows
  ``(secret)`` and the plan keeps only a SHA-256 of each value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Key = tuple[str, str]
State = dict[Key, Any]
Action = Literal["add", "change", "remove"]
MASK = "(secret)"


def fingerprint(value: Any) -> str:
    """A stable SHA-256 of a JSON value (what a plan keeps of a live value, to notice it changed)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str
    name: str
    before: Any = None
    after: Any = None
    destructive: bool = False
    secret: bool = False

    @property
    def key(self) -> Key:
        return (self.kind, self.name)

    def shown(self, value: Any) -> Any:
        return MASK if self.secret and value is not None else value

    def render(self) -> str:
        sign = {"add": "+", "change": "~", "remove": "-"}[self.action]
        what = f"{sign} {self.kind} {self.name}"
        if self.action == "add":
            what += f" = {_short(self.shown(self.after))}"
        elif self.action == "change":
            what += f": {_short(self.shown(self.before))} -> {_short(self.shown(self.after))}"
        return what + ("   (destructive)" if self.destructive else "")

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "name": self.name,
                "before": self.shown(self.before), "after": self.shown(self.after),
                "destructive": self.destructive, "secret": self.secret,
                "before_sha256": fingerprint(self.before)}


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff(live: Mapping[Key, Any], desired: Mapping[Key, Any], *, managed_kinds: Iterable[str] = (),
         destructive_kinds: Iterable[str] = (), secret_kinds: Iterable[str] = ()) -> list[Change]:
    """The changes that make ``live`` what ``desired`` says (sorted by kind, then name)."""
    managed, destructive, secret = set(managed_kinds), set(destructive_kinds), set(secret_kinds)
    changes: list[Change] = []
    for key, want in desired.items():
        kind, name = key
        if key not in live:
            changes.append(Change("add", kind, name, None, want, secret=kind in secret))
        elif live[key] != want:
            changes.append(Change("change", kind, name, live[key], want, secret=kind in secret))
    for key, have in live.items():
        kind, name = key
        if key not in desired and kind in managed:
            changes.append(Change("remove", kind, name, have, None, destructive=kind in destructive,
                                  secret=kind in secret))
    order = {"add": 0, "change": 1, "remove": 2}
    return sorted(changes, key=lambda c: (c.kind, order[c.action], c.name))


@dataclass
class Plan:
    """What ``backend apply`` will do to one environment's backend, and what it saw to decide it."""

    backend: str
    environment: str
    target: str  # the project (Supabase ref, Firebase project id)
    changes: list[Change]
    round_trips: int = 0  # API requests the live read took
    notes: list[str] = field(default_factory=list)

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.destructive]

    def summary(self) -> str:
        counts = {a: sum(1 for c in self.changes if c.action == a) for a in ("add", "change", "remove")}
        if not self.changes:
            return f"{self.backend} backend of {self.environment} ({self.target}) is up to date."
        return (f"{self.backend} backend of {self.environment} ({self.target}): {counts['add']} to add, "
                f"{counts['change']} to change, {counts['remove']} to remove"
                + (f" ({len(self.destructive)} destructive)" if self.destructive else "") + ".")

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "environment": self.environment, "target": self.target,
                "changes": [c.to_json() for c in self.changes], "round_trips": self.round_trips,
                "notes": self.notes, "up_to_date": not self.changes}
