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


def test_view_cache_is_bounded_by_memory() -> None:
    from moai_adk.platform.indexes import FILE_BYTES, VIEW_BYTES, ViewCache, index_bytes
    from moai_adk.platform.views import DeployView

    def load(deploy_id: str) -> DeployView:
        n = int(deploy_id[1:])
        return DeployView(deploy_id, "s", {f"f{i:04d}": ["0" * 64, 1, 0, 0] for i in range(n)}, None)

    def cost(n: int) -> int:
        return VIEW_BYTES + n * (FILE_BYTES + 5)

    cache = ViewCache(load, budget=cost(40) + cost(40) + cost(10))
    for deploy_id in ("a40", "b40", "c10"):
        cache.get(deploy_id)
    assert index_bytes(load("c10")) == cost(10)
    assert cache.peek("a40") is not None and cache.used == cost(40) * 2 + cost(10)
    cache.get("d30")  # over the budget: the least recently used index goes
    assert cache.peek("a40") is None and cache.used == cost(40) + cost(10) + cost(30)
    cache.get("b40")
    cache.get("e99")  # b40 was used last: c10 and d30 go first
    assert cache.peek("c10") is None and cache.peek("d30") is None and cache.peek("b40") is not None
    assert len(cache.get("f5000").files) == 5000 and len(cache) == 1  # one index over budget still loads
