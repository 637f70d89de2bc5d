"""``.gitignore`` entries moai-adk needs, appended when missing (the user's lines are kept as they are)."""

from __future__ import annotations

from pathlib import Path

from .plan import FileChange, change_for, read_bytes

GITIGNORE = ".gitignore"
BASE_ENTRIES = (".vercel", ".netlify", ".env*.local", ".moai/cache")
PLATFORM_ENTRIES: dict[str, tuple[str, ...]] = {
    "firebase": (".firebase",),
    "supabase": ("supabase/.branches", "supabase/.temp"),
}
SECTION = "# moai-adk"


def entries_for(platforms: list[str]) -> list[str]:
    entries = list(BASE_ENTRIES)
    for name in platforms:
        entries += [e for e in PLATFORM_ENTRIES.get(name, ()) if e not in entries]
    return entries


def _normal(line: str) -> str:
    """``/.vercel/`` and ``.vercel`` ignore the same thing at the root."""
    return line.strip().removeprefix("/").rstrip("/")


def missing_entries(text: str, entries: list[str]) -> list[str]:
    present = {_normal(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")}
    return [e for e in entries if _normal(e) not in present]


def updated_text(text: str, entries: list[str]) -> str | None:
    """``text`` with the missing ``entries`` appended, or None when none is missing."""
    missing = missing_entries(text, entries)
    if not missing:
        return None
    block = ""
    if text and not text.endswith("\n"):
        block += "\n"
    if text.strip():
        block += "\n"
    if SECTION not in text.splitlines():
        block += SECTION + "\n"
    return text + block + "\n".join(missing) + "\n"


def plan_gitignore(root: Path, platforms: list[str]) -> FileChange:
    old = read_bytes(root / GITIGNORE)
    text = old.decode("utf-8", errors="surrogateescape") if old is not None else ""
    new = updated_text(text, entries_for(platforms))
    data = new.encode("utf-8", errors="surrogateescape") if new is not None else None
    change = change_for(root, GITIGNORE, data, old, force=False)
    if change.action == "updated":
        change.note = "added " + ", ".join(missing_entries(text, entries_for(platforms)))
    return change
