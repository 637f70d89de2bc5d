"""Walk a built output folder once into a ``Snapshot``.

Order of work, each step failing before anything is uploaded:

1. walk (``os.scandir``, no per-file ``Path`` objects), refusing paths that
   escape the folder: symlinks pointing outside it, names that are not
   plain relative POSIX paths;
2. check the platform's limits (file count, file size, total size);
3. hash what the cache does not already know, reading each file once for
   every algorithm the platform needs, on a small thread pool (hashlib and
   file reads release the GIL);
4. refuse secrets (private keys, ``.env`` files, cloud tokens) unless the
   caller allowed that exact path.
"""

from __future__ import annotations

import os
import re
import stat as statmod
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LimitError, SecretFileError, SnapshotError, UnsafePathError
from ..providers.base import Limits
from .hashcache import HashCache
from .hashing import hash_bytes

# Folders never published (tool state, VCS, dependencies).
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".moai", ".vercel", ".netlify", ".firebase", "node_modules", "__pycache__"})
SKIP_FILES = frozenset({".DS_Store", "Thumbs.db", "moai.toml"})

_SECRET_NAME = re.compile(
    r"(^|/)(\.env(\.[A-Za-z0-9_.-]+)?|id_(rsa|dsa|ecdsa|ed25519)|.*\.(pem|key|p12|pfx)|\.npmrc|\.pypirc|credentials\.json|service[-_]account.*\.json)$"
)
_SECRET_NAME_OK = re.compile(r"(^|/)\.env\.(example|sample|template|defaults)$")
_SECRET_CONTENT = re.compile(
    rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
    rb"|\bAKIA[0-9A-Z]{16}\b"
    rb"|\bgh[pousr]_[A-Za-z0-9]{36,}\b"
    rb"|\bsk_live_[0-9A-Za-z]{24,}\b"
    rb"|\bxox[baprs]-[0-9A-Za-z-]{10,}"
    rb'|"private_key"\s*:\s*"-----BEGIN'
)
_SECRET_LABELS = (
    (b"PRIVATE KEY", "a private key"),
    (b"AKIA", "an AWS access key"),
    (b"gh", "a GitHub token"),
    (b"sk_live_", "a Stripe live key"),
    (b"xox", "a Slack token"),
)

HASH_WORKERS = 4


@dataclass(slots=True)
class SnapshotFile:
    path: str  # relative POSIX path, no leading '/'
    abspath: str
    size: int
    mode: int
    mtime_ns: int
    ino: int
    hashes: dict[str, str] = field(default_factory=dict)
    secret: str = ""  # why the secret scan flagged it, or ""


@dataclass
class Snapshot:
    root: Path
    files: list[SnapshotFile]
    algorithms: tuple[str, ...]
    hashed: int = 0  # files actually read (cache misses)
    cached: int = 0  # files answered by the cache

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def manifest(self, algo: str) -> dict[str, str]:
        return {f.path: f.hashes[algo] for f in self.files}

    def by_hash(self, algo: str) -> dict[str, SnapshotFile]:
        out: dict[str, SnapshotFile] = {}
        for f in self.files:
            out.setdefault(f.hashes[algo], f)
        return out

    def read(self, f: SnapshotFile) -> bytes:
        with open(f.abspath, "rb") as fh:
            return fh.read()


def _check_name(rel: str, root: Path) -> None:
    if "\x00" in rel or "\\" in rel or rel.startswith("/") or any(p in ("", ".", "..") for p in rel.split("/")):
        raise UnsafePathError(
            f"The output folder {root} contains a path that is not a plain relative name: {rel!r}.",
            hint="Rename the file so its name has no '..', backslash or NUL, then rebuild.",
        )


def walk(root: Path) -> list[SnapshotFile]:
    """List every publishable file under ``root`` (sorted by path)."""
    if not root.exists():
        raise SnapshotError(
            f"The output folder {root} does not exist.",
            hint="Run your build first, or set [build] output in moai.toml to the folder your build writes.",
        )
    if not root.is_dir():
        raise SnapshotError(f"The output path {root} is not a folder.", hint="Set [build] output in moai.toml to a folder.")
    real_root = os.path.realpath(root)
    prefix = real_root.rstrip("/") + "/"
    out: list[SnapshotFile] = []
    seen_dirs = {real_root}
    stack: list[tuple[str, str]] = [(real_root, "")]
    while stack:
        folder, rel_prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise SnapshotError(f"Cannot read folder {folder}: {exc.strerror}.", hint="Check its permissions.") from exc
        for entry in entries:
            name = entry.name
            rel = rel_prefix + name
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if target != real_root and not target.startswith(prefix):
                    raise UnsafePathError(
                        f"{os.path.join(root, rel)} is a symlink pointing outside the output folder (to {target}).",
                        hint="Replace the link with a copy of the file inside the output folder, or delete it, then rebuild.",
                    )
                try:
                    st = os.stat(target)
                except FileNotFoundError:
                    raise UnsafePathError(
                        f"{os.path.join(root, rel)} is a broken symlink (to {target}).",
                        hint="Delete the link or make it point at a file inside the output folder.",
                    ) from None
                if statmod.S_ISDIR(st.st_mode):
                    if name in SKIP_DIRS or target in seen_dirs:
                        continue
                    seen_dirs.add(target)
                    stack.append((target, rel + "/"))
                    continue
                if not statmod.S_ISREG(st.st_mode):
                    continue
                _check_name(rel, root)
                out.append(SnapshotFile(rel, target, st.st_size, st.st_mode & 0o777, st.st_mtime_ns, st.st_ino))
                continue
            if entry.is_dir(follow_symlinks=False):
                if name in SKIP_DIRS:
                    continue
                stack.append((entry.path, rel + "/"))
                continue
            if name in SKIP_FILES and not rel_prefix:
                continue
            if name in (".DS_Store", "Thumbs.db"):
                continue
            st = entry.stat(follow_symlinks=False)
            if not statmod.S_ISREG(st.st_mode):
                continue
            _check_name(rel, root)
            out.append(SnapshotFile(rel, entry.path, st.st_size, st.st_mode & 0o777, st.st_mtime_ns, st.st_ino))
    out.sort(key=lambda f: f.path)
    return out


def check_limits(files: list[SnapshotFile], limits: Limits, platform: str, root: Path) -> None:
    if limits.max_files is not None and len(files) > limits.max_files:
        raise LimitError(
            f"{root} has {len(files):,} files; {platform} accepts at most {limits.max_files:,} per deployment.",
            hint="Remove files from the build output (source maps, unused assets), or deploy to a platform with a higher limit.",
        )
    if limits.max_file_size is not None:
        for f in files:
            if f.size > limits.max_file_size:
                raise LimitError(
                    f"{os.path.join(root, f.path)} is {f.size:,} bytes; {platform} accepts files of at most {limits.max_file_size:,} bytes.",
                    hint="Shrink or split the file, or host it elsewhere (object storage) and link to it.",
                )
    if limits.max_total_size is not None:
        total = sum(f.size for f in files)
        if total > limits.max_total_size:
            raise LimitError(
                f"{root} holds {total:,} bytes; {platform} accepts at most {limits.max_total_size:,} per deployment.",
                hint="Remove large files from the build output.",
            )


def scan_secret(rel: str, data: bytes) -> str:
    """Why ``rel`` looks like a secret, or ""."""
    if _SECRET_NAME.search(rel) and not _SECRET_NAME_OK.search(rel):
        if rel.endswith((".pem", ".key")) and b"PRIVATE KEY" not in data:
            pass  # a public certificate or an unrelated .key file
        else:
            return "its name marks it as a secrets file"
    m = _SECRET_CONTENT.search(data)
    if m:
        text = m.group(0)
        for needle, label in _SECRET_LABELS:
            if needle in text:
                return f"it contains {label}"
        return "it contains a credential"
    return ""


def _hash_one(f: SnapshotFile, algorithms: tuple[str, ...]) -> None:
    with open(f.abspath, "rb") as fh:
        data = fh.read()
    f.hashes = hash_bytes(data, f.path, algorithms)
    f.secret = scan_secret(f.path, data)


def take_snapshot(
    root: Path,
    algorithms: Iterable[str] = ("sha256",),
    *,
    cache: HashCache | None = None,
    limits: Limits | None = None,
    platform: str = "the platform",
    allow_secret_files: Iterable[str] = (),
    on_hashed: Callable[[int, int], None] | None = None,
    workers: int = HASH_WORKERS,
) -> Snapshot:
    """Walk, check limits, hash (through the cache) and scan ``root``."""
    algos = tuple(dict.fromkeys(algorithms))
    files = walk(root)
    if not files:
        raise SnapshotError(
            f"The output folder {root} is empty: there is nothing to deploy.",
            hint="Run your build (see [build] command in moai.toml), or point [build] output at the folder it writes.",
        )
    check_limits(files, limits or Limits(), platform, root)

    todo: list[SnapshotFile] = []
    if cache is not None:
        get = cache.get
        for f in files:
            hit = get(f.path, f.size, f.mtime_ns, f.ino, algos)
            if hit is None:
                todo.append(f)
            else:
                f.hashes, f.secret = hit
    else:
        todo = files

    if todo:
        if workers <= 1 or len(todo) < 64:
            for f in todo:
                _hash_one(f, algos)
                if on_hashed:
                    on_hashed(1, f.size)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for f, _ in zip(todo, pool.map(lambda x: _hash_one(x, algos), todo, chunksize=32), strict=True):
                    if on_hashed:
                        on_hashed(1, f.size)
        if cache is not None:
            put = cache.put
            for f in todo:
                put(f.path, f.size, f.mtime_ns, f.ino, f.hashes, f.secret)
    if cache is not None:
        if len(cache.entries) > len(files):
            cache.prune({f.path for f in files})
        cache.save()

    allowed = {str(p).replace(os.sep, "/").lstrip("./") for p in allow_secret_files}
    for f in files:
        if f.secret and f.path not in allowed:
            raise SecretFileError(
                f"{os.path.join(root, f.path)} would be published, but {f.secret}.",
                hint=f"Remove it from the build output; if it is meant to be public, pass --allow-secret-file {f.path}.",
            )
    return Snapshot(root=Path(root), files=files, algorithms=algos, hashed=len(todo), cached=len(files) - len(todo))
