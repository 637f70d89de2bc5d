from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.errors import UsageError
from moai_adk.project.detect import detect
from moai_adk.project.examples import available, detection_root, example_files, plan_example


def test_hello_site_is_shipped_with_the_required_files() -> None:
    assert "hello-site" in available()
    files = example_files("hello-site")
    for rel in ("index.html", "about.html", "404.html", "css/style.css", "_redirects", "_headers"):
        assert rel in files, rel
    redirects = [line.split() for line in files["_redirects"].decode().splitlines()
                 if line.strip() and not line.startswith("#")]
    assert redirects == [["/old-about", "/about", "301"]]
    headers = files["_headers"].decode().splitlines()
    assert headers[0] == "/*" and headers[1].startswith("  ") and ":" in headers[1]
    assert not any(rel.endswith((".png", ".jpg", ".gif", ".webp")) for rel in files)


def test_hello_site_is_a_plain_static_site() -> None:
    found = detect(detection_root("hello-site"))
    assert (found.framework, found.build_command, found.output) == ("static", None, ".")


def test_plan_example_keeps_user_files_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("mine")
    changes = {c.path: c for c in plan_example(tmp_path, "hello-site", force=False)}
    assert changes["index.html"].action == "kept" and changes["index.html"].note
    assert changes["about.html"].action == "created"
    forced = {c.path: c for c in plan_example(tmp_path, "hello-site", force=True)}
    assert forced["index.html"].action == "overwritten"


def test_unknown_example_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        example_files("nope")
    assert "hello-site" in info.value.message and "--example" in info.value.message
