"""Deployment indexes: derived from production's index on a redeploy, equal to one built whole."""

from __future__ import annotations

import dataclasses

from moai_adk.platform.indexes import build_view
from moai_adk.platform.views import DeployView


def test_an_index_built_on_a_base_equals_one_built_whole() -> None:
    files = {f"d{i % 9}/p{i}.html": [f"{i:064x}", 100 + i, 40 + i, 30 + i] for i in range(2000)}
    files["logo.png"] = ["f" * 64, 5000, 0, 0]
    base = DeployView("aaaaaaaaaa", "s", files, None)
    changed = dict(files)
    changed["d3/p3.html"] = ["e" * 64, 7, 0, 0]  # new bytes
    changed["d4/p4.html"] = [files["d4/p4.html"][0], 104, 0, 0]  # same blob, no variants recorded now
    del changed["d5/p5.html"]
    changed["new.css"] = ["d" * 64, 9, 0, 0]
    changed["_redirects"] = ["c" * 64, 20, 0, 0]  # a rule file is never served
    rules = {"netlify": [], "warnings": []}
    derived = build_view("bbbbbbbbbb", "s", changed, rules, base)
    whole = DeployView("bbbbbbbbbb", "s", changed, rules)
    assert derived.files.keys() == whole.files.keys() and "_redirects" not in derived.files
    for path, entry in whole.files.items():
        assert dataclasses.asdict(derived.files[path]) == dataclasses.asdict(entry), path
    assert derived.files["d1/p1.html"] is base.files["d1/p1.html"]  # taken as it was
    assert derived.files["d3/p3.html"] is not base.files["d3/p3.html"]
    assert derived.files["d4/p4.html"].gz == 0
    for path in ("/d1/p1.html", "/d3/p3.html", "/new.css", "/d5/p5.html", "/"):
        a, b = derived.resolve(path), whole.resolve(path)
        assert (a.kind, a.status, a.entry and a.entry.sha) == (b.kind, b.status, b.entry and b.entry.sha), path
    assert build_view("cccccccccc", "s", files, None).files.keys() == base.files.keys()
