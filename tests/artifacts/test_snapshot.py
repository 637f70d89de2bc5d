from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from moai_adk.artifacts.hashcache import HashCache
from moai_adk.artifacts.hashing import deterministic_gzip
from moai_adk.artifacts.snapshot import take_snapshot, walk
from moai_adk.errors import LimitError, SecretFileError, SnapshotError, UnsafePathError
from moai_adk.providers.base import Limits


def make_site(root: Path, n: int = 5) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    for i in range(n):
        (root / "assets" / f"f{i}.js").write_text(f"console.log({i})")
    return root


def test_walk_lists_relative_posix_paths_sorted(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 3)
    (site / ".git").mkdir()
    (site / ".git" / "HEAD").write_text("ref")
    (site / ".DS_Store").write_text("x")
    paths = [f.path for f in walk(site)]
    assert paths == ["assets/f0.js", "assets/f1.js", "assets/f2.js", "index.html"]


def test_hashes_match_hashlib(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 1)
    snap = take_snapshot(site, ("sha1", "sha256", "gzip-sha256"))
    data = (site / "index.html").read_bytes()
    f = {f.path: f for f in snap.files}["index.html"]
    assert f.hashes["sha1"] == hashlib.sha1(data).hexdigest()
    assert f.hashes["sha256"] == hashlib.sha256(data).hexdigest()
    assert f.hashes["gzip-sha256"] == hashlib.sha256(deterministic_gzip(data)).hexdigest()
    assert deterministic_gzip(data) == deterministic_gzip(data)


def test_many_files_use_the_thread_pool_and_agree(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 300)
    threaded = take_snapshot(site, ("sha256",), workers=4).manifest("sha256")
    serial = take_snapshot(site, ("sha256",), workers=1).manifest("sha256")
    assert threaded == serial and len(threaded) == 301


def test_cache_makes_unchanged_files_free_and_sees_changes(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 100)
    cache_path = tmp_path / "cache.bin"
    first = take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    assert (first.hashed, first.cached) == (101, 0)
    second = take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    assert (second.hashed, second.cached) == (0, 101)
    (site / "assets" / "f7.js").write_text("changed!")
    third = take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    assert third.hashed == 1
    changed = {f.path: f for f in third.files}["assets/f7.js"]
    assert changed.hashes["sha256"] == hashlib.sha256(b"changed!").hexdigest()
    # a new algorithm is a miss for every file
    fourth = take_snapshot(site, ("sha256", "sha1"), cache=HashCache(cache_path))
    assert fourth.hashed == 101


def test_corrupt_cache_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 2)
    cache_path = tmp_path / "cache.bin"
    cache_path.write_bytes(b"garbage")
    cache = HashCache(cache_path)
    assert cache.corrupt
    snap = take_snapshot(site, ("sha256",), cache=cache)
    assert snap.hashed == 3
    assert not HashCache(cache_path).corrupt


def test_symlink_out_of_folder_is_refused(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 1)
    secret = tmp_path / "passwd"
    secret.write_text("root:x")
    os.symlink(secret, site / "leak.txt")
    with pytest.raises(UnsafePathError) as err:
        take_snapshot(site)
    assert "leak.txt" in err.value.message and "outside" in err.value.message


def test_symlink_inside_folder_is_published(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 1)
    os.symlink(site / "index.html", site / "home.html")
    paths = [f.path for f in take_snapshot(site).files]
    assert "home.html" in paths


def test_missing_and_empty_output(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        take_snapshot(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SnapshotError, match="empty"):
        take_snapshot(tmp_path / "empty")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (".env", "DB_PASSWORD=x"),
        ("config/.env.production", "A=1"),
        ("keys/server.pem", "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"),
        ("js/app.js", 'const k = "-----BEGIN PRIVATE KEY-----";'),
        ("sa/service-account.json", '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMII"}'),
        ("data/config.json", '{"key": "-----BEGIN EC PRIVATE KEY-----"}'),
    ],
)
def test_secrets_are_refused_unless_allowed(tmp_path: Path, name: str, content: str) -> None:
    site = make_site(tmp_path / "out", 1)
    target = site / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    with pytest.raises(SecretFileError) as err:
        take_snapshot(site)
    assert name in err.value.message
    assert f"--allow-secret-file {name}" in (err.value.hint or "")
    snap = take_snapshot(site, allow_secret_files=[name])
    assert name in [f.path for f in snap.files]


def test_public_certificate_and_env_example_are_not_secrets(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 1)
    (site / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----")
    (site / ".env.example").write_text("API_URL=")
    take_snapshot(site)


def test_secret_flag_survives_the_cache(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 1)
    (site / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    cache_path = tmp_path / "c.bin"
    with pytest.raises(SecretFileError):
        take_snapshot(site, cache=HashCache(cache_path))
    with pytest.raises(SecretFileError):
        take_snapshot(site, cache=HashCache(cache_path))


def test_limits(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 5)
    with pytest.raises(LimitError, match="at most 3"):
        take_snapshot(site, limits=Limits(max_files=3), platform="vercel")
    (site / "big.bin").write_bytes(b"x" * 2000)
    with pytest.raises(LimitError, match="big.bin"):
        take_snapshot(site, limits=Limits(max_file_size=1000), platform="netlify")


def test_cache_journal_replays_and_compacts(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 200)
    cache_path = tmp_path / "c.bin"
    take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    journal = cache_path.with_name(cache_path.name + ".log")
    assert not journal.exists()
    for i in range(3):  # small changes go to the journal
        (site / "assets" / f"f{i}.js").write_text(f"edit {i}")
        assert take_snapshot(site, ("sha256",), cache=HashCache(cache_path)).hashed == 1
    assert journal.exists()
    snap = take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    assert snap.hashed == 0
    assert {f.path: f for f in snap.files}["assets/f2.js"].hashes["sha256"] == hashlib.sha256(b"edit 2").hexdigest()
    # deleting a file prunes it; many changes fold the journal into the base
    (site / "assets" / "f3.js").unlink()
    for i in range(10, 200):
        (site / "assets" / f"f{i}.js").write_text(f"again {i}")
    take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    assert not journal.exists()
    again = HashCache(cache_path)
    assert "assets/f3.js" not in again.entries and len(again.entries) == 200


def test_torn_journal_keeps_valid_entries(tmp_path: Path) -> None:
    site = make_site(tmp_path / "out", 100)
    cache_path = tmp_path / "c.bin"
    take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    (site / "assets" / "f1.js").write_text("x")
    take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    journal = cache_path.with_name(cache_path.name + ".log")
    journal.write_bytes(journal.read_bytes() + b"\xff\x00garbage")
    snap = take_snapshot(site, ("sha256",), cache=HashCache(cache_path))
    assert snap.hashed == 0


def test_project_root_output_leaves_project_files_out(tmp_path: Path) -> None:
    site = make_site(tmp_path / "proj", 1)
    for name in ("moai.toml", "firebase.json", ".firebaserc", ".gitignore"):
        (site / name).write_text("{}")
    (site / "supabase" / "migrations").mkdir(parents=True)
    (site / "supabase" / "migrations" / "1_a.sql").write_text("select 1;")
    (site / "vercel.json").write_text("{}")  # serving rules: still published
    paths = [f.path for f in take_snapshot(site, project_root=True).files]
    assert paths == ["assets/f0.js", "index.html", "vercel.json"]
    assert "firebase.json" in [f.path for f in take_snapshot(site).files]
