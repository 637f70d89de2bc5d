"""Blob store and metadata: content addressing, atomic writes, variants."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from moai_adk.platform.meta import MetaDB
from moai_adk.platform.store import BlobHashMismatch, BlobStore


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_put_verifies_and_shards(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"hello blob"
    digest = sha(data)
    assert store.put(digest, data) is True
    assert store.put(digest, data) is False
    assert store.path(digest) == tmp_path / "blobs" / digest[:2] / digest[2:4] / digest
    assert store.read(digest) == data
    with pytest.raises(BlobHashMismatch) as info:
        store.put(sha(b"x"), b"y")
    assert info.value.actual == sha(b"y")
    assert not store.exists(sha(b"x"))
    assert store.missing({digest, sha(b"x")}) == [sha(b"x")]
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "blobs").rglob("*"))


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"will fail"

    def boom(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        store.put(sha(data), data)
    assert not store.exists(sha(data))
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []


def test_variants_only_when_they_save_space(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    text = b"<p>compress me please</p>\n" * 100
    noise = os.urandom(4096)
    tiny = b"<p>hi</p>"
    for blob in (text, noise, tiny):
        store.put(sha(blob), blob)
    gz, br = store.make_variants(sha(text))
    assert 0 < br < len(text) and 0 < gz < len(text)
    assert store.path(sha(text), "br").stat().st_size == br
    assert store.make_variants(sha(noise)) == (0, 0)
    assert store.make_variants(sha(tiny)) == (0, 0)
    assert not store.path(sha(noise), "gz").exists()


def test_meta_db_uses_wal_and_records_variants(tmp_path: Path) -> None:
    db = MetaDB(tmp_path / "meta.sqlite3")
    assert db.query("PRAGMA journal_mode")[0][0] == "wal"
    db.add_variants({"a" * 64: (10, 8)})
    assert db.variants(["a" * 64, "b" * 64]) == {"a" * 64: (10, 8)}
    assert db.ensure_site("s") is True and db.ensure_site("s") is False
    db.close()


def test_damaged_variant_falls_back_to_original(local_platform) -> None:
    site = local_platform.new_site()
    text = (f"<p>{site} damaged variant test</p>\n" * 200).encode()
    local_platform.deploy(site, {"page.html": text})
    store = local_platform.platform.store
    store.path(sha(text), "br").write_bytes(b"truncated")
    r = httpx.get(f"{local_platform.url}/_sites/{site}/page.html", headers={"accept-encoding": "br"})
    assert r.status_code == 200 and r.content == text and "content-encoding" not in r.headers


def test_view_cache_is_bounded_by_files_and_count() -> None:
    from moai_adk.platform.views import DeployView, ViewCache

    def load(deploy_id: str) -> DeployView:
        n = int(deploy_id[1:])
        return DeployView(deploy_id, "s", {f"f{i}": ["0" * 64, 1, 0, 0] for i in range(n)}, None)

    cache = ViewCache(load, max_views=3, max_files=100)
    for deploy_id in ("a40", "b40", "c10"):
        cache.get(deploy_id)
    assert cache.peek("a40") is not None and cache.files == 90
    cache.get("d30")  # 120 files > 100: the least recently used map goes
    assert cache.peek("a40") is None and cache.files == 80
    cache.get("b40")
    cache.get("e5")  # 4 views > 3: c10, now the oldest, goes
    assert cache.peek("c10") is None and cache.peek("b40") is not None
    assert cache.get("f500").files and cache.files == 500  # one map over budget still loads
