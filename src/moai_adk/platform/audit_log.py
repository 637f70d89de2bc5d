"""The local platform's server-side audit log: every change made through its API and every refused
attempt (401/403), in ``<data>/audit/log.jsonl`` (folder 0700, file 0600).

The lines are those of the project's audit log (``moai_adk.audit``: hash chain, own checksum,
``prev`` first), written by ``audit.append_at`` and checked by ``audit.verify_chain``::

    {"prev":...,"seq":N,"at":...,"who":"<token name>","token":"<token id>","action":"promote",
     "site":...,"environment":...,"target":...,"result":"ok"|"refused"|"failed","status":200,
     "code":...,"client":"<address>","sum":...}

Bounded: every field is cut to ``FIELD_MAX`` characters, and refusals (which anyone can cause
without a token) are written at most ``REFUSALS_PER_SECOND`` a second after a burst of
``REFUSAL_BURST``; the ones left out are counted in the next refusal written (``suppressed``).
Appends are blocking (``fsync``): the API calls them on its thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..audit import append_at, read_entries_at, verify_chain
from ..audit.log import utc_now
from .atrest import private_dir

FIELD_MAX = 200
REFUSALS_PER_SECOND = 20.0
REFUSAL_BURST = 200.0
TAIL_MAX = 1000  # entries GET /audit returns at most


def audit_path(data_dir: Path) -> Path:
    return data_dir / "audit" / "log.jsonl"


def _cut(value: object) -> object:
    if isinstance(value, str) and len(value) > FIELD_MAX:
        return value[:FIELD_MAX] + "..."
    return value


class ServerAudit:
    """Appends to the platform's audit log (one per ``Platform``)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = audit_path(data_dir)
        private_dir(self.path.parent)
        self._lock = threading.Lock()
        self._allowance = REFUSAL_BURST
        self._last = time.monotonic()
        self._suppressed = 0

    def _admit_refusal(self) -> int | None:
        """None when this refusal is not written (over the rate), else how many were left out before it."""
        with self._lock:
            now = time.monotonic()
            self._allowance = min(REFUSAL_BURST, self._allowance + (now - self._last) * REFUSALS_PER_SECOND)
            self._last = now
            if self._allowance < 1:
                self._suppressed += 1
                return None
            self._allowance -= 1
            left_out, self._suppressed = self._suppressed, 0
            return left_out

    def record(self, *, action: str, result: str, status: int, who: str | None = None, token: str | None = None,
               site: str | None = None, environment: str | None = None, target: str | None = None,
               code: str | None = None, client: str | None = None, left_out: int | None = None) -> int | None:
        """Append one entry; returns its seq (None: a refusal left out by the rate bound)."""
        fields: dict[str, Any] = {"at": utc_now(), "who": who, "token": token, "action": action, "site": site,
                                  "environment": environment, "target": target, "result": result,
                                  "status": status, "code": code, "client": client}
        if result == "refused-admitted":  # record_soon admitted it already
            fields["result"] = "refused"
        elif result == "refused":
            left_out = self._admit_refusal()
            if left_out is None:
                return None
        if left_out:
            fields["suppressed"] = left_out
        clean = {k: _cut(v) for k, v in fields.items() if v is not None}
        with self._lock:  # one writer per process; the file lock orders processes
            return append_at(self.path, clean, mode=0o600)

    def record_soon(self, **fields: Any) -> None:
        """``record`` on the default executor (from code running on the event loop); refusals over
        the rate bound are counted here, so a flood queues nothing."""
        if fields.get("result") == "refused":
            left_out = self._admit_refusal()
            if left_out is None:
                return
            fields = {**fields, "result": "refused-admitted", "left_out": left_out}
        asyncio.get_running_loop().run_in_executor(None, lambda: self._record_quietly(fields))

    def _record_quietly(self, fields: dict[str, Any]) -> None:
        try:
            self.record(**fields)
        except Exception as exc:  # noqa: BLE001 - nobody waits for this entry; the server log says it failed
            logging.getLogger("moai_adk.platform").error("could not write the platform audit log entry",
                                                         exc_info=exc)

    def tail(self, limit: int = 100) -> list[dict[str, Any]]:
        """The last ``limit`` entries (at most ``TAIL_MAX``), oldest first."""
        limit = max(1, min(limit, TAIL_MAX))
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            block, data = 1 << 16, b""
            while size > 0 and data.count(b"\n") <= limit:
                step = min(block, size)
                size -= step
                f.seek(size)
                data = f.read(step) + data
                block *= 2
        lines = data.splitlines()[-limit:] if size == 0 else data.splitlines()[1:][-limit:]
        out: list[dict[str, Any]] = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"unreadable": line[:FIELD_MAX].decode("utf-8", "replace")}
            out.append(entry if isinstance(entry, dict) else {"unreadable": str(entry)[:FIELD_MAX]})
        return out

    def entries(self) -> list[dict[str, Any]]:
        return read_entries_at(self.path)

    def verify(self) -> dict[str, Any]:
        return verify_chain(self.path)
