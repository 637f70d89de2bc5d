"""Synthetic site generator shared by the benchmarks.

``make_site(root, files=20_000, total_mb=200)``: a deterministic tree of
mixed sizes (many small HTML/CSS/JS files, some medium images, a few large
bundles) spread over nested folders, like a real build output.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

EXTS = [(".html", 0.35), (".js", 0.25), (".css", 0.15), (".json", 0.05), (".png", 0.15), (".woff2", 0.05)]


def _sizes(n: int, total: int, rng: random.Random) -> list[int]:
    # log-uniform sizes between 200 B and 2 MB, then scaled to hit ``total``
    raw = [int(10 ** rng.uniform(2.3, 6.3)) for _ in range(n)]
    scale = total / sum(raw)
    return [max(16, int(s * scale)) for s in raw]


def make_site(root: Path, files: int = 20_000, total_mb: int = 200, seed: int = 7) -> Path:
    marker = root / ".complete"
    want = f"{files}:{total_mb}:{seed}"
    if marker.exists() and marker.read_text() == want:
        return root
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    sizes = _sizes(files, total_mb * 1024 * 1024, rng)
    names = [e for e, _ in EXTS]
    weights = [w for _, w in EXTS]
    block = os.urandom(1 << 20)
    text = (b"<div class=\"item\">lorem ipsum dolor sit amet</div>\n" * 40000)
    for i, size in enumerate(sizes):
        ext = rng.choices(names, weights)[0]
        folder = root / f"d{i % 50:02d}" / f"s{(i // 50) % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        src = block if ext in (".png", ".woff2") else text
        off = rng.randrange(0, max(1, len(src) - size)) if size < len(src) else 0
        body = (src * (size // len(src) + 1))[off:off + size]
        (folder / f"f{i:05d}{ext}").write_bytes(f"{i}\n".encode() + body)
    (root / "index.html").write_text("<!doctype html><h1>bench</h1>")
    marker.write_text(want)
    return root


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, fnames in os.walk(root):
        for f in fnames:
            total += os.stat(os.path.join(dirpath, f)).st_size
    return total
