from __future__ import annotations

from pathlib import Path

from moai_adk.project.gitignore import (
    BASE_ENTRIES,
    entries_for,
    missing_entries,
    plan_gitignore,
    updated_text,
)


def test_new_gitignore_gets_every_entry(tmp_path: Path) -> None:
    change = plan_gitignore(tmp_path, ["vercel"])
    assert change.action == "created"
    lines = (change.content or b"").decode().splitlines()
    for entry in BASE_ENTRIES:
        assert entry in lines


def test_appends_only_missing_and_keeps_user_content(tmp_path: Path) -> None:
    user = "node_modules\n/.vercel/\n# my comment\ndist"  # no trailing newline
    (tmp_path / ".gitignore").write_text(user)
    change = plan_gitignore(tmp_path, ["local"])
    text = (change.content or b"").decode()
    assert change.action == "updated"
    assert text.startswith(user + "\n")
    assert text.count(".vercel") == 1  # "/.vercel/" already ignores it
    assert ".netlify" in text.splitlines() and ".moai/cache" in text.splitlines()
    assert change.note and ".netlify" in change.note


def test_complete_gitignore_is_kept(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("\n".join(entries_for(["firebase"])) + "\n")
    assert plan_gitignore(tmp_path, ["firebase"]).action == "kept"


def test_platform_specific_entries() -> None:
    assert ".firebase" in entries_for(["firebase"])
    assert "supabase/.temp" in entries_for(["supabase"])
    assert ".firebase" not in entries_for(["vercel"])


def test_commented_entry_does_not_count() -> None:
    assert missing_entries("# .vercel\n", [".vercel"]) == [".vercel"]
    assert updated_text(".vercel\n.netlify\n.env*.local\n.moai/cache\n", list(BASE_ENTRIES)) is None
