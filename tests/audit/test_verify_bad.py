"""`audit verify` against a log changed after the fact: it fails and names the first entry at fault."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from moai_adk import audit
from moai_adk.audit.keys import digests_path, pub_path
from moai_adk.audit.log import encode_entry

from .conftest import Run


def make_log(root: Path, n: int = 10, digest_every: int = 0) -> Path:
    for i in range(n):
        audit.append(root, "deploy", environment="production", target=f"dpl_{i}", digest_every=digest_every)
    return audit.log_path(root)


def problem(root: Path) -> dict[str, object]:
    with pytest.raises(audit.AuditIntegrityError) as err:
        audit.verify(root)
    assert "does not verify" in err.value.message and err.value.hint
    return err.value.report["problem"]  # type: ignore[no-any-return]


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


@pytest.mark.parametrize("line", [1, 5, 10])
def test_one_byte_changed_names_the_entry(tmp_path: Path, line: int) -> None:
    path = make_log(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.find(f"dpl_{line - 1}".encode())
    data[at + 4] = ord("X")
    path.write_bytes(bytes(data))
    p = problem(tmp_path)
    assert (p["line"], p["seq"], p["reason"]) == (line, line, "altered"), p


def test_an_entry_removed(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = path.read_bytes().splitlines()
    rewrite(path, lines[:3] + lines[4:])
    p = problem(tmp_path)
    assert (p["line"], p["reason"]) == (4, "removed") and "entry 4 was removed" in str(p["message"])


def test_two_entries_swapped(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    lines = path.read_bytes().splitlines()
    lines[5], lines[6] = lines[6], lines[5]
    rewrite(path, lines)
    p = problem(tmp_path)
    assert (p["line"], p["reason"]) == (6, "reordered") and "entry 6 is at line 7" in str(p["message"])


def test_an_entry_appended_by_hand(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    with path.open("ab") as f:
        f.write(b'{"prev":"' + b"1" * 64 + b'","seq":11,"action":"deploy"}\n')
    p = problem(tmp_path)
    assert (p["line"], p["reason"]) == (11, "unchained")


def test_a_well_formed_entry_appended_without_the_chain(tmp_path: Path) -> None:
    path = make_log(tmp_path)
    with path.open("ab") as f:  # a correct self checksum, but linked to entry 9 instead of entry 10
        f.write(encode_entry(path.read_bytes().splitlines()[7][9:73].decode(), 11, {"action": "deploy"}))
    p = problem(tmp_path)
    assert (p["line"], p["seq"], p["reason"]) == (11, 11, "unchained")
    assert "does not carry the SHA-256 of entry 10" in str(p["message"])


def test_entries_cut_from_the_end_are_caught_by_the_signed_digest(tmp_path: Path) -> None:
    path = make_log(tmp_path, 10, digest_every=10)
    rewrite(path, path.read_bytes().splitlines()[:8])
    p = problem(tmp_path)
    assert p["reason"] == "removed" and "entries 9-10 were removed" in str(p["message"])


def test_a_rewritten_and_rechained_log_fails_its_signed_digest(tmp_path: Path) -> None:
    path = make_log(tmp_path, 10, digest_every=10)
    path.unlink()
    make_log(tmp_path, 10)  # the same number of entries, chained again by someone without the key
    p = problem(tmp_path)
    assert p["reason"] == "altered" and "entry 10 (line 10) is not the one digest 1 signed" in str(p["message"])


def test_a_corrupted_digest_signature(tmp_path: Path) -> None:
    make_log(tmp_path, 10, digest_every=5)
    dpath = digests_path(tmp_path)
    lines = dpath.read_bytes().splitlines()
    i = lines[1].rfind(b'"sig":"') + 7
    lines[1] = lines[1][:i] + (b"A" if lines[1][i:i + 1] != b"A" else b"B") + lines[1][i + 1:]
    dpath.write_bytes(b"".join(line + b"\n" for line in lines))
    p = problem(tmp_path)
    assert (p["digest"], p["reason"]) == (2, "signature") and "signature does not match" in str(p["message"])


def test_a_removed_digest(tmp_path: Path) -> None:
    make_log(tmp_path, 15, digest_every=5)
    dpath = digests_path(tmp_path)
    lines = dpath.read_bytes().splitlines()
    dpath.write_bytes(lines[0] + b"\n" + lines[2] + b"\n")
    assert problem(tmp_path)["reason"] == "digest-chain"


def test_a_replaced_public_key(tmp_path: Path) -> None:
    make_log(tmp_path, 5, digest_every=5)
    data = json.loads(pub_path(tmp_path).read_text())
    other = Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                    serialization.PublicFormat.Raw)
    data["public_key"] = base64.b64encode(other).decode()
    pub_path(tmp_path).write_text(json.dumps(data))
    assert problem(tmp_path)["reason"] == "signature"


def test_missing_key_names_the_path_and_keeps_recording(tmp_path: Path, config_home: Path) -> None:
    make_log(tmp_path, 5, digest_every=5)
    project = json.loads(pub_path(tmp_path).read_text())["project"]
    key = config_home / "moai-adk" / f"audit-{project}.key"
    key.unlink()
    make_log(tmp_path, 1)
    with pytest.raises(audit.AuditKeyError) as err:
        audit.sign_digest(tmp_path)
    assert str(key) in err.value.message and err.value.hint and f"audit-{project}.key" in err.value.hint
    make_log(tmp_path, 4, digest_every=5)  # changes are still recorded; the digest waits for the key
    report = audit.verify(tmp_path)
    assert (report["entries"], report["signed_through"], report["unsigned"]) == (10, 5, 5)


def test_wrong_or_open_key_is_refused(tmp_path: Path, config_home: Path) -> None:
    make_log(tmp_path, 5, digest_every=5)
    project = json.loads(pub_path(tmp_path).read_text())["project"]
    key = config_home / "moai-adk" / f"audit-{project}.key"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    make_log(tmp_path, 1)
    with pytest.raises(audit.AuditKeyError, match="is not the one whose public key"):
        audit.sign_digest(tmp_path)
    os.chmod(key, 0o644)
    with pytest.raises(audit.AuditKeyError, match="readable by other users") as err:
        audit.sign_digest(tmp_path)
    assert err.value.hint == f"chmod 600 {key}"
    assert audit.verify(tmp_path)["digests"] == 1  # nothing was signed with the wrong key


def test_cli_verify_fails_with_exit_1_and_names_the_entry(tmp_path: Path, cli: Run) -> None:
    path = make_log(tmp_path)
    r = cli("audit", "verify", cwd=tmp_path)
    assert r.returncode == 0 and "10 entries, hash chain intact" in r.stdout, r.stderr
    lines = path.read_bytes().splitlines()
    rewrite(path, lines[:2] + lines[3:])
    r = cli("audit", "verify", cwd=tmp_path)
    assert r.returncode == 1 and "entry 3 was removed: line 3 holds entry 4" in r.stderr and "Hint:" in r.stderr
    r = cli("audit", "verify", "--json", cwd=tmp_path)
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert report["ok"] is False and report["problem"]["line"] == 3 and report["problem"]["reason"] == "removed"


def test_cli_digest_without_the_key(tmp_path: Path, cli: Run, config_home: Path) -> None:
    make_log(tmp_path, 3)
    r = cli("audit", "digest", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["seq"] == 3
    for key in (config_home / "moai-adk").iterdir():
        key.unlink()
    make_log(tmp_path, 1)
    r = cli("audit", "digest", cwd=tmp_path)
    assert r.returncode == 1 and "audit signing key of this project" in r.stderr and "chmod 600" in r.stderr


CHECK_IN_TWO = """
import json, sys
from pathlib import Path
import moai_adk.audit.scan as scan
from moai_adk import audit
scan.PARALLEL_FROM = 1  # check even this small log in two processes
try:
    print(json.dumps(audit.verify(Path(sys.argv[1]))))
except audit.AuditIntegrityError as exc:
    print(json.dumps(exc.report))
"""


@pytest.mark.parametrize("damage", ["none", "swap-second-half", "byte-first-half", "remove-at-split"])
def test_the_two_process_check_agrees(tmp_path: Path, damage: str) -> None:
    import subprocess
    import sys

    path = make_log(tmp_path, 60, digest_every=20)
    lines = path.read_bytes().splitlines()
    if damage == "swap-second-half":
        lines[44], lines[45] = lines[45], lines[44]
    elif damage == "byte-first-half":
        lines[9] = lines[9].replace(b"dpl_9", b"dpl_X")
    elif damage == "remove-at-split":
        del lines[30]
    rewrite(path, lines)
    out = subprocess.run([sys.executable, "-c", CHECK_IN_TWO, str(tmp_path)], capture_output=True, text=True,
                         check=True, timeout=60)
    report = json.loads(out.stdout)
    expected = {"none": None, "swap-second-half": (45, "reordered"), "byte-first-half": (10, "altered"),
                "remove-at-split": (31, "removed")}[damage]
    if expected is None:
        assert report["ok"] and report["entries"] == 60 and report["signed_through"] == 60
    else:
        assert (report["problem"]["line"], report["problem"]["reason"]) == expected, report
