"""Example sites shipped inside the package (``moai-adk init --example NAME``)."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from ..errors import UsageError
from .plan import FileChange, change_for, read_bytes


def _examples_root() -> Traversable:
    return resources.files("moai_adk").joinpath("examples")


def available() -> list[str]:
    root = _examples_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def example_dir(name: str) -> Traversable:
    """The packaged folder of example ``name``; a ``UsageError`` listing the examples otherwise."""
    names = available()
    if name not in names:
        raise UsageError(
            f"Unknown example '{name}' (--example). Examples shipped with moai-adk: {', '.join(names) or 'none'}.",
            hint=f"Run `moai-adk init --example {names[0] if names else 'hello-site'}`.",
        )
    return _examples_root().joinpath(name)


def example_files(name: str) -> dict[str, bytes]:
    """Relative POSIX path -> bytes of every file of the example."""
    files: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name in ("__pycache__", ".DS_Store"):
                continue
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
            else:
                files[rel] = child.read_bytes()

    walk(example_dir(name), "")
    return files


def plan_example(root: Path, name: str, *, force: bool) -> list[FileChange]:
    """Copy the example into ``root``: new files are created, different ones kept (or overwritten with force)."""
    changes: list[FileChange] = []
    for rel, data in example_files(name).items():
        old = read_bytes(root / rel)
        wanted = data if (old is None or force) else None
        change = change_for(root, rel, wanted, old, force=force)
        if change.action == "kept" and old != data:
            change.note = "differs from the example; kept yours (--force replaces it)"
        changes.append(change)
    return changes


def detection_root(name: str) -> Path:
    """A real folder to run ``detect`` on (the installed example itself)."""
    node = example_dir(name)
    return Path(str(node))
