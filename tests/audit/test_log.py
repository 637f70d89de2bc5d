"""Writing the audit log: canonical chained lines, who, two writers at once, signed digests, keys."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import stat
import subprocess
from pathlib import Path

import pytest

from moai_adk import audit
from moai_adk.audit.keys import digests_path, pub_path
from moai_adk.audit.log import actor, self_sum_ok


def lines(root: Path) -> list[bytes]:
    return audit.log_path(root).read_bytes().splitlines()


def test_entries_are_chained_canonical_lines(tmp_path: Path) -> None:
    for i, action in enumerate(("deploy", "promote", "env set")):
        seq = audit.record(tmp_path, action, environment="production", target=f"d{i}", details={"platform": "local"})
        assert seq == i + 1
    raw = lines(tmp_path)
    assert raw[0].startswith(b'{"prev":"' + b"0" * 64 + b'","seq":1,')
    for before, after in zip(raw, raw[1:], strict=False):
        assert after[9:73] == hashlib.sha256(before).hexdigest().encode()
    assert all(self_sum_ok(line) for line in raw)
    entries = audit.read_entries(tmp_path)
    assert [e["action"] for e in entries] == ["deploy", "promote", "env set"]
    first = entries[0]
    assert first["environment"] == "production" and first["target"] == "d0" and first["result"] == "ok"
    assert first["client"].startswith("moai-adk/") and first["at"].endswith("Z") and first["who"]
    assert first["details"] == {"platform": "local"}
    assert audit.verify(tmp_path)["entries"] == 3


def test_who_is_the_git_email_else_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert actor(plain, {"USER": "alice"}) == "alice"
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "user.email", "bob@example.com"], check=True)
    assert actor(repo, {"USER": "alice"}) == "bob@example.com"
    audit.record(repo, "deploy")
    assert audit.read_entries(repo)[0]["who"] == "bob@example.com"


def _writer(root: str, n: int) -> None:
    for i in range(n):
        audit.record(Path(root), "env set", environment="staging", target=f"K{i}")


def test_two_writers_at_once_keep_one_chain(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), 150)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    report = audit.verify(tmp_path)
    assert report["entries"] == 300 and report["ok"]
    assert [e["seq"] for e in audit.read_entries(tmp_path)] == list(range(1, 301))
    assert report["digests"] == 3 and report["signed_through"] == 300  # every 100 entries


def test_digests_every_n_entries_and_on_demand(tmp_path: Path, config_home: Path) -> None:
    for i in range(12):
        audit.append(tmp_path, "deploy", target=str(i), digest_every=5)
    assert len(digests_path(tmp_path).read_bytes().splitlines()) == 2
    report = audit.verify(tmp_path)
    assert (report["signed_through"], report["unsigned"]) == (10, 2)
    assert audit.sign_digest(tmp_path)["seq"] == 12
    assert audit.sign_digest(tmp_path)["seq"] == 12  # nothing new: no second digest
    assert len(digests_path(tmp_path).read_bytes().splitlines()) == 3
    assert audit.verify(tmp_path)["unsigned"] == 0
    project = json.loads(pub_path(tmp_path).read_text())["project"]
    key = config_home / "moai-adk" / f"audit-{project}.key"
    assert key == audit.key_path(project) and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in audit.log_path(tmp_path).parent.iterdir())


def test_signing_an_empty_log_says_so(tmp_path: Path) -> None:
    with pytest.raises(audit.AuditError, match="empty"):
        audit.sign_digest(tmp_path)


def test_a_torn_last_line_refuses_new_entries(tmp_path: Path) -> None:
    audit.record(tmp_path, "deploy")
    with audit.log_path(tmp_path).open("ab") as f:
        f.write(b'{"prev":"')
    with pytest.raises(audit.AuditError, match="middle of a line"):
        audit.record(tmp_path, "deploy")
