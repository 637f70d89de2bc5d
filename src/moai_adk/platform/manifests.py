"""Deploy manifests: the checks on a full one, and a delta applied to its parent's file map.

A delta (``{"parent", "changes", "removed", "file_count"}``) describes a deploy
against a ready deploy of the same site; the parent's entries keep what its
finalize recorded (sizes, compressed variants), so only the changes are checked
and compressed again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .apierror import ApiError
from .store import SHA256_RE


def check_path(path: object) -> str | None:
    """Why a manifest path is unsafe, or None when it is a plain relative POSIX path."""
    if not isinstance(path, str) or not path:
        return "is empty or not a string"
    if "\x00" in path:
        return "contains a NUL byte"
    if "\\" in path:
        return "contains a backslash"
    if path.startswith("/"):
        return "is absolute"
    parts = path.split("/")
    if ".." in parts:
        return "contains a '..' segment"
    if any(p in ("", ".") for p in parts):
        return "has an empty or '.' segment"
    return None


def check_manifest(files: dict[Any, Any]) -> set[str]:
    """The hashes of a {path: sha256} manifest; ApiError 400 on an unsafe path or a bad hash."""
    hashes: set[str] = set()
    for path, sha in files.items():
        why = check_path(path)
        if why is not None:
            raise ApiError(400, "unsafe_path", f"manifest path {path!r} {why}; paths must be plain "
                           "relative POSIX names without '..', leading '/', backslashes or NUL", path=path)
        if not isinstance(sha, str) or not SHA256_RE.match(sha):
            raise ApiError(400, "bad_hash", f"manifest entry {path!r} needs a lowercase hex sha256, got {sha!r}",
                           path=path)
        hashes.add(sha)
    return hashes


def apply_delta(body: dict[str, Any], parent_files: Callable[[], dict[str, list[Any]]]
                ) -> tuple[dict[str, list[Any]], dict[Any, Any]]:
    """The parent's file map minus ``removed``, and the ``changes`` still to check (the caller
    has checked that the parent is a ready deploy of the site)."""
    parent, changes, removed, count = (body.get("parent"), body.get("changes", {}), body.get("removed", []),
                                       body.get("file_count"))
    if (not isinstance(parent, str) or not isinstance(changes, dict) or not isinstance(removed, list)
            or type(count) is not int):
        raise ApiError(400, "bad_manifest", "a delta manifest is {'parent': deploy id, 'changes': {path: sha256}, "
                       "'removed': [path], 'file_count': n}")
    files = parent_files()
    for path in removed:
        if not isinstance(path, str) or files.pop(path, None) is None:
            raise ApiError(409, "bad_parent", f"the delta removes {path!r}, which deploy {parent} does not have; "
                           "send the full manifest", parent=parent)
    total = len(files) + sum(1 for p in changes if p not in files)
    if total != count or total == 0:
        raise ApiError(409, "bad_parent", f"the delta against deploy {parent} gives {total} files, not the "
                       f"{count} announced; send the full manifest", parent=parent)
    return files, changes
