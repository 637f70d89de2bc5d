"""The project-side audit log (``.moai/audit/``): who changed what, where, when, with what result.

Every change the CLI makes (deploy, promote, rollback, env set/unset/push, migrations, ...) goes
through :func:`record`; the log is hash-chained and periodically signed (see ``log.py`` and
``keys.py``), and :func:`verify` proves it unchanged or names the first entry that is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import AuditError, AuditIntegrityError, AuditKeyError
from .keys import key_path, sign_digest
from .log import ACTIONS, DIGEST_EVERY, append, append_at, log_path, read_entries, read_entries_at
from .verify import summary, verify, verify_chain

_TOP = ("environment", "target", "result")


def record(root: Path, action: str, *, environment: str | None = None, target: str | None = None,
           result: str = "ok", details: Mapping[str, Any] | None = None,
           environ: Mapping[str, str] | None = None) -> int:
    """Append one entry to the project's audit log; returns its sequence number."""
    return append(root, action, environment=environment, target=target, result=result,
                  details={k: v for k, v in (details or {}).items() if v is not None}, environ=environ)


def record_event(root: Path, event: Mapping[str, Any]) -> int:
    """:func:`record` for the pipeline's event dicts: ``{"event": ..., "environment": ..., "deployment": ...}``."""
    rest = dict(event)
    action = str(rest.pop("event"))
    top = {k: rest.pop(k) for k in _TOP if k in rest}
    target = top.get("target") or rest.get("deployment") or rest.get("to")
    return record(root, action, environment=top.get("environment"), target=target,
                  result=str(top.get("result") or "ok"), details=rest)


__all__ = ["ACTIONS", "DIGEST_EVERY", "AuditError", "AuditIntegrityError", "AuditKeyError", "append_at", "key_path",
           "log_path", "read_entries", "read_entries_at", "record", "record_event", "sign_digest", "summary", "verify",
           "verify_chain"]
