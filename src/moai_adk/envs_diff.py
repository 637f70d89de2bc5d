"""``env diff``: the keys two sets of variables add, change or remove, values masked.

Left is the first ``--env`` (the platform); right is the second ``--env`` or, with ``--local``,
the merged ``.env`` files of the first one (``envs_files``). A value is never printed: a
readable one shows as ``***``, one the platform will not reveal as ``(secret)``. Two
values compare only when both can be read; otherwise the key is ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .providers.base import EnvVar

STATUSES = ("added", "removed", "changed", "unknown", "unchanged")


def mask(var: EnvVar | None) -> str | None:
    if var is None:
        return None
    if var.secret or var.value is None:
        return "(secret)"
    return "***"


@dataclass
class DiffRow:
    key: str
    status: str
    left: str | None
    right: str | None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "status": self.status, "left": self.left, "right": self.right}


@dataclass
class EnvDiff:
    left: str  # e.g. "local (staging)"
    right: str  # e.g. "local (production)" or ".env files (staging)"
    rows: list[DiffRow] = field(default_factory=list)

    def keys(self, status: str) -> list[str]:
        return [r.key for r in self.rows if r.status == status]

    def to_json(self) -> dict[str, Any]:
        return {"left": self.left, "right": self.right, "rows": [r.to_json() for r in self.rows],
                **{status: self.keys(status) for status in STATUSES}}


def diff_vars(left: Mapping[str, EnvVar], right: Mapping[str, EnvVar], *, left_name: str,
              right_name: str) -> EnvDiff:
    out = EnvDiff(left=left_name, right=right_name)
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key), right.get(key)
        if a is None:
            status = "added"
        elif b is None:
            status = "removed"
        elif a.value is None or b.value is None:
            status = "unknown"
        else:
            status = "unchanged" if a.value == b.value else "changed"
        out.rows.append(DiffRow(key, status, mask(a), mask(b)))
    return out


def local_vars(values: Mapping[str, str]) -> dict[str, EnvVar]:
    return {k: EnvVar(key=k, value=v) for k, v in values.items()}


def remote_vars(items: list[EnvVar]) -> dict[str, EnvVar]:
    return {v.key: v for v in items}
