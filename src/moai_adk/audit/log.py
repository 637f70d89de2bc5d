"""The project's audit log: append-only JSON lines in ``.moai/audit/log.jsonl``, hash-chained.

Every line is written by :func:`append` in one canonical form::

    {"prev":"<sha256 of the previous line>","seq":N,"at":...,"who":...,"action":...,
     "environment":...,"target":...,"result":...,"client":...,"details":{...},"sum":"<sha256>"}

``prev`` is always the first key, so it sits at bytes 9..73 of every line and the verifier can
read it without parsing JSON. ``prev`` of the first entry is 64 zeros. ``sum`` is the SHA-256 of
the line's bytes before ``,"sum":"`` (the entry's own checksum; the verifier uses it to say which
of two unlinked entries was altered). ``seq`` counts from 1 and equals the line number.

Writers take an exclusive ``flock`` on the log for the read-last-line / write / fsync sequence,
so two processes appending at once still produce one chain.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import __version__
from .errors import AuditError

AUDIT_DIR = Path(".moai") / "audit"
LOG_NAME = "log.jsonl"
ZERO_HASH = "0" * 64
PREFIX = b'{"prev":"'
PREV_START, PREV_END = len(PREFIX), len(PREFIX) + 64
SUM_MARK = b',"sum":"'
CLIENT = f"moai-adk/{__version__}"
DIGEST_EVERY = 100  # a signed digest after every this many entries (and on demand)

ACTIONS = ("deploy", "went-live", "promote", "promote-queued", "rollback", "auto-rollback", "env set",
           "env unset", "env push", "secrets keygen", "secrets set", "secrets rm", "secrets import", "secrets rotate",
           "secrets push", "secret change", "access change", "migration push", "migration repair",
           "migration pull", "backend apply", "db sync", "db forget", "health-check",
           "db backup", "db restore", "db backups prune", "backend link", "backend site-url",
           "backend previews cleanup",
           "token mint", "token revoke")


def audit_dir(root: Path) -> Path:
    return root / AUDIT_DIR


def log_path(root: Path) -> Path:
    return audit_dir(root) / LOG_NAME


def actor(root: Path, environ: Mapping[str, str] | None = None) -> str:
    """Who makes the change: ``git config user.email`` in the project, else $USER."""
    env = os.environ if environ is None else environ
    try:
        out = subprocess.run(["git", "config", "user.email"], cwd=root, capture_output=True, text=True,
                             timeout=5, check=False)
        email = out.stdout.strip()
        if out.returncode == 0 and email:
            return email
    except (OSError, subprocess.SubprocessError):
        pass
    for name in ("USER", "LOGNAME"):
        if env.get(name):
            return env[name]
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def encode_entry(prev: str, seq: int, fields: Mapping[str, Any]) -> bytes:
    """One log line (with its trailing newline) in the canonical form described above."""
    rest = json.dumps(dict(fields), separators=(",", ":"), ensure_ascii=True, default=str)
    body = f'{{"prev":"{prev}","seq":{seq}' + ("," + rest[1:-1] if len(rest) > 2 else "")
    raw = body.encode("ascii")
    return raw + SUM_MARK + hashlib.sha256(raw).hexdigest().encode("ascii") + b'"}\n'


def self_sum_ok(line: bytes) -> bool:
    """Whether a line's own ``sum`` matches its bytes (False for anything not in the canonical form)."""
    i = line.rfind(SUM_MARK)
    if i < 0 or not line.endswith(b'"}') or len(line) - i != len(SUM_MARK) + 64 + 2:
        return False
    return hashlib.sha256(line[:i]).hexdigest().encode("ascii") == line[i + len(SUM_MARK):-2]


def _last_line(fd: int) -> bytes | None:
    """The last complete line of the log (without newline), or None when it is empty."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    step, tail = 4096, b""
    pos = size
    while pos > 0:
        n = min(step, pos)
        pos -= n
        tail = os.pread(fd, n, pos) + tail
        if not tail.endswith(b"\n"):
            raise AuditError(f"The audit log {_shown(fd)} ends in the middle of a line (an interrupted or manual "
                             "write), so no entry can be chained to it.",
                             hint="Run `moai-adk audit verify` to see which entry is damaged.")
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0 or pos == 0:
            return tail[cut + 1:-1]
        step *= 2
    return None


def _shown(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return LOG_NAME


def _link_of(line: bytes) -> tuple[str, int]:
    """(hash of the line, its seq) for chaining the next entry."""
    try:
        seq = int(json.loads(line)["seq"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditError("The last entry of the audit log is not a valid entry, so no entry can be chained to it.",
                         hint="Run `moai-adk audit verify` to see which entry is damaged.") from exc
    return hashlib.sha256(line).hexdigest(), seq


@contextmanager
def locked(root: Path) -> Iterator[int]:
    """The log's file descriptor (append mode), held under an exclusive lock."""
    with locked_path(log_path(root)) as fd:
        yield fd


@contextmanager
def locked_path(path: Path, mode: int = 0o644) -> Iterator[int]:
    """A log file's descriptor (append mode, created with ``mode``), held under an exclusive lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def append_at(path: Path, fields: Mapping[str, Any], *, mode: int = 0o600) -> int:
    """Chain one entry (``fields`` after ``prev`` and ``seq``) onto the log at ``path``; fsync'd.

    For logs kept elsewhere than a project's ``.moai/audit`` (the local platform's server-side log):
    the same line format and verifier, no signed digests."""
    with locked_path(path, mode) as fd:
        last = _last_line(fd)
        prev, seq = _link_of(last) if last is not None else (ZERO_HASH, 0)
        os.write(fd, encode_entry(prev, seq + 1, fields))
        os.fsync(fd)
    return seq + 1


def utc_now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def append(root: Path, action: str, *, environment: str | None = None, target: str | None = None,
           result: str = "ok", details: Mapping[str, Any] | None = None, who: str | None = None,
           environ: Mapping[str, str] | None = None, digest_every: int = DIGEST_EVERY) -> int:
    """Append one entry (fsync'd) and return its seq; signs a digest every ``digest_every`` entries."""
    from .keys import sign_digest_locked

    fields: dict[str, Any] = {"at": utc_now(), "who": who or actor(root, environ), "action": action,
                              "environment": environment, "target": target, "result": result, "client": CLIENT}
    if details:
        fields["details"] = dict(details)
    with locked(root) as fd:
        last = _last_line(fd)
        prev, seq = _link_of(last) if last is not None else (ZERO_HASH, 0)
        os.write(fd, encode_entry(prev, seq + 1, fields))
        os.fsync(fd)
        if digest_every > 0 and (seq + 1) % digest_every == 0:
            sign_digest_locked(root, fd, environ, required=False)
    return seq + 1


def read_entries(root: Path) -> list[dict[str, Any]]:
    """Every entry of the log, parsed (for ``audit log``; ``audit verify`` checks the bytes)."""
    return read_entries_at(log_path(root))


def read_entries_at(path: Path) -> list[dict[str, Any]]:
    """Every entry of the log file at ``path``, parsed."""
    if not path.exists():
        return []
    entries = []
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise AuditError(f"Line {n} of the audit log {path} is not valid JSON.",
                             hint="Run `moai-adk audit verify` to see what was changed.") from exc
        if not isinstance(entry, dict):
            raise AuditError(f"Line {n} of the audit log {path} is not an entry.",
                             hint="Run `moai-adk audit verify` to see what was changed.")
        entries.append(entry)
    return entries
