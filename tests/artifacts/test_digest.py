"""The snapshot digest names one artifact: independent of manifest order, changed by any path or hash."""

from __future__ import annotations

import hashlib

from moai_adk.artifacts.digest import snapshot_digest


def test_digest_is_order_free_and_sensitive() -> None:
    a = {"index.html": "aa", "css/a.css": "bb"}
    d = snapshot_digest(a, "sha256")
    expected = hashlib.sha256(b"css/a.css\0bb\nindex.html\0aa\n").hexdigest()
    assert d == f"sha256:{expected}"
    assert snapshot_digest(dict(reversed(list(a.items()))), "sha256") == d
    assert snapshot_digest({**a, "index.html": "ab"}, "sha256") != d
    assert snapshot_digest({"index.htm": "aa", "css/a.css": "bb"}, "sha256") != d
    assert snapshot_digest(a, "sha1").startswith("sha1:")
