"""``audit verify``: the hash chain over raw line bytes, then the signed digests.

The fast path (``scan.py``) checks an intact log without parsing JSON. When it finds anything wrong,
the whole log is read again here, the first line that does not link to the one before is found, and
the lines around it say what happened: altered, removed, reordered or unchained.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from .errors import AuditIntegrityError
from .keys import check_digest, digests_path, pub_path, read_digest_lines, read_public
from .log import PREFIX, PREV_END, PREV_START, SUM_MARK, ZERO_HASH, log_path, self_sum_ok
from .scan import fast_chain, line_seq

_ZERO = bytes(32)
_DIGEST = type(hashlib.sha256()).digest
_DIGEST_SEQ = re.compile(rb'"seq":(\d+)')

HINT = ("The log was changed after it was written. Restore .moai/audit/ from a backup or version control "
        "(git log -p .moai/audit/log.jsonl shows who changed it); the entries before the one named are intact.")


_seq = line_seq


def _has_sum(line: bytes) -> bool:
    i = line.rfind(SUM_MARK)
    return i >= 0 and line.endswith(b'"}') and len(line) - i == len(SUM_MARK) + 64 + 2


def _problem(index: int, reason: str, message: str) -> dict[str, Any]:
    return {"line": index + 1, "seq": index + 1, "reason": reason, "message": message}


def _diagnose(lines: list[bytes], j: int) -> dict[str, Any]:
    """Line ``j`` (0-based) does not link to line ``j - 1``: say which entry is to blame."""
    expected = j + 1
    got = _seq(lines[j])
    if got is None or not self_sum_ok(lines[j]):
        if got == expected and _has_sum(lines[j]):
            return _problem(j, "altered", f"entry {expected} (line {j + 1}) was altered: its bytes no longer "
                                          "match its own checksum")
        return _problem(j, "unchained", f"line {j + 1} is not an entry moai-adk wrote (added or rewritten by hand, "
                                        "outside the chain)")
    if got > expected:
        later = next((k for k in range(j + 1, len(lines)) if _seq(lines[k]) == expected), None)
        if later is not None:
            return _problem(j, "reordered", f"entries are out of order: line {j + 1} holds entry {got} and "
                                            f"entry {expected} is at line {later + 1}")
        gone = str(expected) if got == expected + 1 else f"{expected}-{got - 1}"
        return _problem(j, "removed", f"entry {gone} was removed: line {j + 1} holds entry {got}")
    if got < expected:
        return _problem(j, "reordered", f"line {j + 1} holds entry {got}, which belongs earlier "
                                        "(entries reordered or duplicated)")
    if j > 0 and not self_sum_ok(lines[j - 1]):
        return _problem(j - 1, "altered", f"entry {j} (line {j}) was altered: its bytes no longer match its own "
                                          f"checksum nor the hash entry {expected} recorded for it")
    return _problem(j, "unchained", f"entry {expected} (line {j + 1}) does not carry the SHA-256 of entry {j}: "
                                    "it was added or rewritten without a valid chain")


def _chain(data: bytes) -> tuple[list[bytes], list[bytes], dict[str, Any] | None]:
    """(lines, SHA-256 of each line, first problem or None)."""
    lines = data.split(b"\n")
    tail = lines.pop()
    digests: list[bytes] = list(map(_DIGEST, map(hashlib.sha256, lines)))
    if tail:
        lines.append(tail)
        return lines, digests, _problem(len(lines) - 1, "unchained", f"line {len(lines)} has no newline at the "
                                        "end (an interrupted or manual write)")
    if not lines:
        return lines, digests, None
    prevs = b"".join([line[PREV_START:PREV_END] for line in lines])
    want = _ZERO + b"".join(digests[:-1])
    try:
        ok = len(prevs) == 64 * len(lines) and bytes.fromhex(prevs.decode("ascii")) == want
    except (ValueError, UnicodeDecodeError):
        ok = False
    if ok:
        last = lines[-1]
        if not last.startswith(PREFIX) or _seq(last) != len(lines) or not self_sum_ok(last):
            return lines, digests, _diagnose(lines, len(lines) - 1)
        return lines, digests, None
    for j, line in enumerate(lines):
        link = ZERO_HASH if j == 0 else digests[j - 1].hex()
        if not line.startswith(PREFIX) or line[PREV_START:PREV_END] != link.encode():
            return lines, digests, _diagnose(lines, j)
    raise AssertionError("chain mismatch not found")  # pragma: no cover


def _digests(root: Path, entries: int, hash_at: dict[int, bytes],
             dlines: list[bytes]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    info: dict[str, Any] = {"digests": len(dlines), "signed_through": 0}
    if not dlines:
        return info, None
    found = read_public(root)
    if found is None:
        return info, {"digest": 1, "reason": "key",
                      "message": f"{digests_path(root)} holds digests but the public key {pub_path(root)} is missing"}
    project, public = found
    prev = ZERO_HASH
    for n, line in enumerate(dlines, 1):
        try:
            payload = check_digest(line, public)
        except ValueError as exc:
            return info, {"digest": n, "reason": "signature", "message": f"digest {n} is not valid: {exc}"}
        seq = payload["seq"]
        if payload.get("project") != project or payload.get("prev_digest") != prev:
            return info, {"digest": n, "reason": "digest-chain",
                          "message": f"digest {n} does not follow digest {n - 1} (digests removed or reordered)"}
        if seq > entries:
            return info, {"digest": n, "seq": seq, "reason": "removed",
                          "message": f"digest {n} signed entry {seq} but the log ends at entry {entries}: "
                                     f"entries {entries + 1}-{seq} were removed"}
        if seq < 1 or seq not in hash_at or hash_at[seq].hex() != payload.get("hash"):
            return info, {"digest": n, "seq": seq, "line": seq, "reason": "altered",
                          "message": f"entry {seq} (line {seq}) is not the one digest {n} signed"}
        prev = hashlib.sha256(line).hexdigest()
        info["signed_through"] = seq
    return info, None


def verify_chain(path: Path) -> dict[str, Any]:
    """Check the hash chain of the log at ``path`` (a log without signed digests, such as the local
    platform's); AuditIntegrityError naming the first entry that is wrong."""
    fast = fast_chain(path, set()) if path.exists() else (0, {})
    if fast is not None:
        return {"log": str(path), "entries": fast[0], "ok": True}
    lines, _, problem = _chain(path.read_bytes())
    assert problem is not None, "the fast path and the full check disagree"
    report = {"log": str(path), "entries": len(lines), "ok": False, "problem": problem}
    raise AuditIntegrityError(f"The audit log {path} does not verify: {problem['message']}.",
                              hint=f"The log was changed after it was written. Restore {path} from a backup; "
                                   "the entries before the one named are intact.", report=report)


def verify(root: Path) -> dict[str, Any]:
    """The verification report; AuditIntegrityError (with the report) when anything does not hold."""
    path = log_path(root)
    dlines = read_digest_lines(root)
    wanted = {int(m.group(1)) for m in map(_DIGEST_SEQ.search, dlines) if m}
    fast = fast_chain(path, wanted) if path.exists() else (0, {})
    problem: dict[str, Any] | None = None
    if fast is not None:
        entries, hash_at = fast[0], fast[1]
    else:  # something is wrong: read it all and find out what
        data = path.read_bytes()
        lines, hashes, problem = _chain(data)
        entries, hash_at = len(lines), {seq: hashes[seq - 1] for seq in wanted if 0 < seq <= len(hashes)}
        assert problem is not None, "the fast path and the full check disagree"
    report: dict[str, Any] = {"log": str(path), "entries": entries, "ok": problem is None}
    info, dproblem = _digests(root, entries, hash_at, dlines)
    report.update(info)
    report["unsigned"] = entries - info["signed_through"]
    if problem is None and dproblem is not None:
        problem = dproblem
    if problem is not None:
        report["ok"] = False
        report["problem"] = problem
        raise AuditIntegrityError(f"The audit log {path} does not verify: {problem['message']}.", hint=HINT,
                                  report=report)
    return report


def summary(report: dict[str, Any]) -> str:
    signed = (f"{report['digests']} signed digest(s) cover entries 1-{report['signed_through']}"
              if report["signed_through"] else "no signed digest yet")
    tail = f"; {report['unsigned']} newer entr{'y' if report['unsigned'] == 1 else 'ies'} not signed yet" \
        if report["signed_through"] and report["unsigned"] else ""
    return f"Audit log verified: {report['entries']} entries, hash chain intact, {signed}{tail}."


__all__ = ["summary", "verify", "verify_chain"]
