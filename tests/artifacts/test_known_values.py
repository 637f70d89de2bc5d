"""A value of the environment's secrets store inside the build output stops the snapshot: the error names
the file and the secret, never the value; the same Hyperscan pass finds it, also in files the hash cache knows."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import pytest

from moai_adk.artifacts.hashcache import HashCache
from moai_adk.artifacts.secrets import BATCH_BYTES, MIN_VALUE_SCAN, KnownValues, SecretScanner
from moai_adk.artifacts.snapshot import take_snapshot
from moai_adk.errors import SecretFileError

VALUE = "pw-9f8e7d6c5b4a-value"
KNOWN = {"DB_PASSWORD of .moai/secrets/production.age": VALUE}


def _site(tmp: Path, files: dict[str, bytes]) -> Path:
    root = tmp / "out"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _refused(root: Path, **kw: object) -> str:
    with pytest.raises(SecretFileError) as info:
        take_snapshot(root, known_secrets=KNOWN, **kw)  # type: ignore[arg-type]
    text = f"{info.value.message} {info.value.hint}"
    assert VALUE not in text
    return text


QUOTED = 'say "hello" to pw/9f8e'


@pytest.mark.parametrize(("value", "form"), [
    (VALUE, VALUE),
    (QUOTED, json.dumps(QUOTED)[1:-1]),  # inside a JSON string
    (QUOTED, urllib.parse.quote(QUOTED, safe="")),
    (VALUE, base64.b64encode(b"k=" + VALUE.encode()).decode()),
])
def test_a_known_value_in_the_output_names_the_file_and_the_key(tmp_path: Path, value: str, form: str) -> None:
    assert value not in form or value == form
    root = _site(tmp_path, {"index.html": b"<h1>hi</h1>", "assets/app.js": f'const k = "{form}";'.encode()})
    with pytest.raises(SecretFileError) as info:
        take_snapshot(root, known_secrets={"DB_PASSWORD of .moai/secrets/production.age": value})
    text = f"{info.value.message} {info.value.hint}"
    assert value not in text
    assert "assets/app.js" in text and "DB_PASSWORD" in text
    assert "--allow-secret-file does not publish a known secret" in text


def test_allow_secret_file_does_not_publish_a_known_value(tmp_path: Path) -> None:
    root = _site(tmp_path, {"app.js": f"x='{VALUE}'".encode()})
    _refused(root, allow_secret_files=("app.js",))


def test_short_values_are_not_looked_for(tmp_path: Path) -> None:
    assert KnownValues.of({"PORT": "8080", "FLAG": "abcdefg"}).literals == ()
    root = _site(tmp_path, {"index.html": b"listen 8080 abcdefg"})
    snap = take_snapshot(root, known_secrets={"PORT": "8080", "FLAG": "abcdefg"})
    assert [f.path for f in snap.files] == ["index.html"]
    assert MIN_VALUE_SCAN == 8


def test_files_the_hash_cache_knows_are_scanned_and_the_cache_keeps_no_value_verdict(tmp_path: Path) -> None:
    root = _site(tmp_path, {"index.html": b"<h1>hi</h1>", "app.js": f"x='{VALUE}'".encode()})
    cache = HashCache(tmp_path / "hashes.bin")
    take_snapshot(root, cache=cache)  # another environment (no known values): the file is fine there
    cache = HashCache(tmp_path / "hashes.bin")
    text = _refused(root, cache=cache)  # every file is a cache hit, yet read again for the values
    assert "app.js" in text
    snap = take_snapshot(root, cache=HashCache(tmp_path / "hashes.bin"))  # the verdict was not cached
    assert snap.cached == 2


def test_the_batched_hyperscan_pass_finds_values_and_tokens_together(tmp_path: Path) -> None:
    filler = b"x" * (BATCH_BYTES // 3)
    files = {f"big{i}.txt": filler for i in range(4)}  # more than one batch: the vectored scan runs
    files["late/leak.js"] = b"let a = 1;\n" * 1000 + VALUE.encode()
    root = _site(tmp_path, files)
    assert "late/leak.js" in _refused(root)


def test_the_scanner_reports_values_apart_from_token_reasons() -> None:
    class F:
        def __init__(self, path: str) -> None:
            self.path = path
            self.secret = ""

    scanner = SecretScanner(KnownValues.of({"API_TOKEN": VALUE}))
    a, b, c = F("a.js"), F("b.js"), F("c.png")
    scanner.add(a, f"key={VALUE}".encode())
    scanner.add(b, b"nothing here")
    scanner.add(c, VALUE.encode())  # not text: not scanned for contents
    scanner.finish()
    assert scanner.leaks == {"a.js": "API_TOKEN"} and a.secret == ""
