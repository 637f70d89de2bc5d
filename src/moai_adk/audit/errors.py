"""Errors of the audit log (all ``StateError``: a local state file under ``.moai/`` is the problem)."""

from __future__ import annotations

from typing import Any

from ..errors import StateError


class AuditError(StateError):
    """The audit log cannot be read or written as it is."""


class AuditKeyError(AuditError):
    """The signing key is missing, unreadable, too open, or not the one whose public key is beside the log."""


class AuditIntegrityError(AuditError):
    """``audit verify`` found the log or its digests changed; ``report`` is the full verification result."""

    def __init__(self, message: str, hint: str | None = None, *, report: dict[str, Any] | None = None) -> None:
        super().__init__(message, hint)
        self.report = report or {}
