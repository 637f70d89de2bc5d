"""Walk a built output folder once into a ``Snapshot``.

Order of work, each step failing before anything is uploaded:

1. walk (``os.scandir``, no per-file ``Path`` objects), refusing paths that
   escape the folder: symlinks pointing outside it, names that are not
   plain relative POSIX paths;
2. check the platform's limits (file count, file size, total size);
3. hash what the cache does not already know, reading each file once for
   every algorithm the platform needs, on a small thread pool (hashlib and
   file reads release the GIL);
4. refuse secrets (secret file names, private keys, well-known token formats:
   ``artifacts/secrets.py``) unless the caller allowed that path (or a glob matching it);
5. refuse any file holding one of ``known_secrets`` (the values of the environment's secrets
   store, looked for in the same scan), whatever ``--allow-secret-file`` says.
"""

from __future__ import annotations

import fnmatch
import os
import stat as statmod
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType

from ..errors import LimitError, SecretFileError, SnapshotError, UnsafePathError
from .exclude import PathFilter
from .hashcache import HashCache
from .hashing import hash_bytes
from .secrets import KnownValues, SecretScanner, is_text, scan_secret


# Folders never published (tool state, VCS, dependencies).
@dataclass(frozen=True)
class Limits:
    """Platform limits checked before any upload. ``None`` means no limit."""

    max_files: int | None = None
    max_file_size: int | None = None
    max_total_size: int | None = None


SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".moai", ".vercel", ".netlify", ".firebase", "node_modules", "__pycache__"})
SKIP_FILES = frozenset({".DS_Store", "Thumbs.db", "moai.toml"})

HASH_WORKERS = 2
BIG_FILE = 4 * 1024 * 1024


_NO_HASHES: Mapping[str, str] = MappingProxyType({})


class SnapshotFile:
    """One file of a snapshot. ``path`` is relative POSIX with no leading '/';
    ``hashes`` maps algorithm -> hex digest; ``secret`` says why the secret
    scan flagged it, or is ""."""

    __slots__ = ("path", "abspath", "size", "mode", "mtime_ns", "ino", "hashes", "secret")

    def __init__(self, path: str, abspath: str, size: int, mode: int, mtime_ns: int, ino: int) -> None:
        self.path = path
        self.abspath = abspath
        self.size = size
        self.mode = mode
        self.mtime_ns = mtime_ns
        self.ino = ino
        self.hashes: Mapping[str, str] = _NO_HASHES  # replaced (never mutated) once hashed
        self.secret = ""

    def __repr__(self) -> str:
        return f"SnapshotFile({self.path!r}, size={self.size})"


@dataclass
class Snapshot:
    root: Path
    files: list[SnapshotFile]
    algorithms: tuple[str, ...]
    hashed: int = 0  # files actually read (cache misses)
    cached: int = 0  # files answered by the cache

    @cached_property
    def total_bytes(self) -> int:  # the file list is not changed once the snapshot is taken
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


def _unsafe_name(rel: str, root: Path) -> UnsafePathError:
    return UnsafePathError(
        f"The output folder {root} contains a path that is not a plain relative name: {rel!r}.",
        hint="Rename the file so its name has no '..', backslash or NUL, then rebuild.",
    )


# Project files never published when the output folder is the project root itself.
PROJECT_ROOT_SKIP = frozenset({"moai.toml", "firebase.json", ".firebaserc", ".gitignore", "supabase", ".env.example"})


def walk(root: Path, skip_top: frozenset[str] = frozenset(), exclude: PathFilter | None = None) -> list[SnapshotFile]:
    """List every publishable file under ``root`` (sorted by path).

    Names come from ``scandir`` (never '.', '..', '/' or NUL), so only a
    backslash can make one ambiguous; symlinks are resolved and must stay
    inside ``root``. ``exclude`` leaves out what it matches (see ``artifacts.exclude``).
    """
    if not root.exists():
        raise SnapshotError(
            f"The output folder {root} does not exist.",
            hint="Run your build first, or set [build] output in moai.toml to the folder your build writes.",
        )
    if not root.is_dir():
        raise SnapshotError(f"The output path {root} is not a folder.", hint="Set [build] output in moai.toml to a folder.")
    fx_always, fx_names, fx_paths, fx_heads = (exclude.file_prefilter() if exclude is not None
                                                else (False, frozenset(), frozenset(), frozenset()))
    real_root = os.path.realpath(root)
    prefix = real_root.rstrip("/") + "/"
    out: list[SnapshotFile] = []
    append = out.append
    seen_dirs = {real_root}
    stack: list[tuple[str, str]] = [(real_root, "")]
    S_ISREG = statmod.S_ISREG
    while stack:
        folder, rel_prefix = stack.pop()
        try:
            it = os.scandir(folder)
        except OSError as exc:
            raise SnapshotError(f"Cannot read folder {folder}: {exc.strerror}.", hint="Check its permissions.") from exc
        with it:
            for entry in it:
                name = entry.name
                if not rel_prefix and name in skip_top:
                    continue
                rel = rel_prefix + name
                if entry.is_file(follow_symlinks=False):  # the common case: a regular file, not a link
                    if name in SKIP_FILES and (not rel_prefix or name != "moai.toml"):
                        continue
                    if (fx_always or name in fx_names or name[0] in fx_heads or rel in fx_paths) \
                            and exclude is not None and exclude(rel, name, False):
                        continue
                    if "\\" in name:
                        raise _unsafe_name(rel, root)
                    st = entry.stat(follow_symlinks=False)
                    append(SnapshotFile(rel, entry.path, st.st_size, st.st_mode & 0o777, st.st_mtime_ns, st.st_ino))
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if name not in SKIP_DIRS and (exclude is None or not exclude(rel, name, True)):
                        stack.append((entry.path, rel + "/"))
                    continue
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
                        if exclude is not None and exclude(rel, name, True):
                            continue
                        if name not in SKIP_DIRS and target not in seen_dirs:
                            seen_dirs.add(target)
                            stack.append((target, rel + "/"))
                        continue
                    path = target
                else:  # sockets, FIFOs, devices: never published
                    continue
                if not S_ISREG(st.st_mode) or (exclude is not None and exclude(rel, name, False)):
                    continue
                if "\\" in name:
                    raise _unsafe_name(rel, root)
                append(SnapshotFile(rel, path, st.st_size, st.st_mode & 0o777, st.st_mtime_ns, st.st_ino))
    out.sort(key=attrgetter("path"))
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


def _normalize_rel(path: str) -> str:
    path = path.replace(os.sep, "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _read(f: SnapshotFile) -> bytes:
    fd = os.open(f.abspath, os.O_RDONLY)
    try:
        data = os.read(fd, f.size + 1)
        if len(data) > f.size:  # grew since the walk: read the rest
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data
    finally:
        os.close(fd)


def _hash_one(f: SnapshotFile, algorithms: tuple[str, ...], scanner: SecretScanner | None = None) -> None:
    data = _read(f)
    if len(data) != f.size:
        f.size = len(data)
    f.hashes = hash_bytes(data, f.path, algorithms)
    if scanner is None:
        f.secret = scan_secret(f.path, data)
    else:
        scanner.add(f, data)


def _scan_cached(files: list[SnapshotFile], todo: list[SnapshotFile], scanner: SecretScanner) -> None:
    """Read the files the hash cache answered for (no hashing) so the known values are looked for in them too."""
    fresh = {id(f) for f in todo}
    try:
        for f in files:
            if id(f) not in fresh and is_text(f.path):
                scanner.add(f, _read(f), cached=True)
    finally:
        scanner.finish()


def allowed_secret(path: str, allowed: Iterable[str]) -> bool:
    """Whether ``--allow-secret-file`` entries (paths, or globs with ``*``, ``?``, ``[``) allow ``path``."""
    for pattern in allowed:
        if pattern == path or (any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(path, pattern)):
            return True
    return False


def take_snapshot(
    root: Path,
    algorithms: Iterable[str] = ("sha256",),
    *,
    cache: HashCache | None = None,
    limits: Limits | None = None,
    platform: str = "the platform",
    allow_secret_files: Iterable[str] = (),
    on_hashed: Callable[[int, int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    workers: int = HASH_WORKERS,
    project_root: bool = False,
    exclude: PathFilter | None = None,
    known_secrets: Mapping[str, str] | None = None,
) -> Snapshot:
    """Walk, check limits, hash (through the cache) and scan ``root``.

    ``project_root`` says ``root`` is the project folder itself (output "."),
    so the project's own config files at its top are left out; ``exclude`` leaves out what it
    matches (``artifacts.exclude.deploy_filter``: moai-adk's own files, the platform's defaults,
    ``[deploy] exclude``). ``known_secrets`` maps a name (said in the error, e.g.
    "API_TOKEN of .moai/secrets/production.age") to a value that must not be published; files
    the hash cache knows are read again for them (not hashed).
    """
    algos = tuple(dict.fromkeys(algorithms))
    files = walk(root, PROJECT_ROOT_SKIP if project_root else frozenset(), exclude)
    if not files:
        raise SnapshotError(
            f"The output folder {root} is empty: there is nothing to deploy.",
            hint="Run your build (see [build] command in moai.toml), or point [build] output at the folder it writes.",
        )
    check_limits(files, limits or Limits(), platform, root)

    todo: list[SnapshotFile] = []
    if cache is not None:
        # Inlined cache check: this loop is most of a redeploy's snapshot cost.
        entries = cache.entries.get
        get = cache.get
        single = algos[0] if len(algos) == 1 else None
        for f in files:
            e = entries(f.path)
            if e is not None and e[0] == f.size and e[1] == f.mtime_ns and e[2] == f.ino:
                if single is not None and len(e) == 6 and e[4] == single:
                    f.hashes = {single: e[5]}
                    f.secret = e[3]
                    continue
                hit = get(f.path, f.size, f.mtime_ns, f.ino, algos)
                if hit is not None:
                    f.hashes, f.secret = hit
                    continue
            todo.append(f)
    else:
        todo = files

    if on_total is not None:
        on_total(len(todo))
    known = KnownValues.of(known_secrets) if known_secrets else None
    scanner = SecretScanner(known)  # contents are scanned in batches, beside the hashing
    if todo:
        # Small files hash fastest on one thread (SHA extensions make the
        # per-file Python overhead dominate; threads only add GIL hand-offs).
        # Large files go to a pool, where hashlib releases the GIL.
        big = [f for f in todo if f.size >= BIG_FILE] if workers > 1 else []
        pool = ThreadPoolExecutor(max_workers=workers) if big else None
        try:
            futures = [pool.submit(_hash_one, f, algos, scanner) for f in big] if pool else []
            for f in todo:
                if f.size < BIG_FILE or pool is None:
                    _hash_one(f, algos, scanner)
                    if on_hashed:
                        on_hashed(1, f.size)
            for fut, f in zip(futures, big, strict=True):
                fut.result()
                if on_hashed:
                    on_hashed(1, f.size)
        finally:
            if pool is not None:
                pool.shutdown()
            scanner.finish()
        if cache is not None:
            put = cache.put
            for f in todo:
                put(f.path, f.size, f.mtime_ns, f.ino, f.hashes, f.secret)
    if scanner.known is not None and len(todo) < len(files):
        _scan_cached(files, todo, scanner)
    if cache is not None:
        if len(cache.entries) > len(files):
            cache.prune({f.path for f in files})
        cache.save()

    for f in files:
        label = scanner.leaks.get(f.path)
        if label is not None:
            raise SecretFileError(
                f"{os.path.join(root, f.path)} would be published, but it contains the value of the secret {label}.",
                hint="A build step put the value into the output (a bundler inlines environment variables "
                     "named for the client, e.g. NEXT_PUBLIC_*, VITE_*): read it on the server instead, rebuild, "
                     "and deploy again. --allow-secret-file does not publish a known secret.",
            )
    allowed = [_normalize_rel(str(p)) for p in allow_secret_files]
    for f in files:
        if f.secret and not allowed_secret(f.path, allowed):
            raise SecretFileError(
                f"{os.path.join(root, f.path)} would be published, but {f.secret}.",
                hint=f"Remove it from the build output; if it is meant to be public, pass --allow-secret-file {f.path}.",
            )
    return Snapshot(root=Path(root), files=files, algorithms=algos, hashed=len(todo), cached=len(files) - len(todo))
