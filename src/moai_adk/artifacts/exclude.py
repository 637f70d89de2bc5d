"""Which files of the output folder are never published.

Three lists meet here, in this order:

1. what moai-adk itself writes (``moai.toml`` at the top of the project, the platforms' link
   folders ``.moai/ .vercel/ .netlify/ .firebase/``, and the ``.env.<env>.local`` files that
   ``moai-adk env pull`` writes): never published, whatever the platform;
2. the platform's own client's default ignore list (``Hosting.default_ignores``: what the Vercel
   CLI, the Netlify CLI or firebase-tools leave out when they deploy a folder);
3. ``[deploy] exclude`` globs from moai.toml.

Pattern syntax, a small subset of .gitignore that every list above fits in:

=================  ==========================================================================
``name``           a file or folder named ``name`` at any depth (``*``, ``?``, ``[...]`` work)
``name/``          a folder only
``a/b``, ``/a``    a path from the top of the output folder; ``*`` stays inside one folder,
                   ``**`` crosses folders (``drafts/**``, ``assets/*.map``, ``**/*.map``)
``!name``          keep files or folders named ``name`` that an earlier name pattern left out
=================  ==========================================================================

Matching is a few set lookups per file (``file_prefilter``) and one precompiled regex only for names
that can match a glob, so a 20,000-file walk stays close to a bare ``scandir``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from ..errors import ConfigError

# 1. what moai-adk writes into a project
OWN_FILES = (".moai/", ".vercel/", ".netlify/", ".firebase/", ".env.local", ".env.*.local", "/moai.toml")
_GLOB = re.compile(r"[*?\[]")


def _path_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


class PathFilter:
    """``excluded(rel, name, is_dir)`` for the walk; build it once per deploy."""

    def __init__(self, patterns: Iterable[str] = (), *, source: str = "[deploy] exclude") -> None:
        self.patterns = tuple(patterns)
        names: set[str] = set()
        dir_names: set[str] = set()
        keep: set[str] = set()
        name_globs: list[str] = []
        dir_globs: list[str] = []
        paths: list[str] = []
        exact_paths: set[str] = set()
        heads: set[str] | None = set()  # first characters of every name glob (None: one starts with a wildcard)
        for raw in self.patterns:
            pattern = raw.strip()
            if not pattern or pattern in ("/", "!") or "\x00" in pattern or pattern.startswith("../") \
                    or "/../" in pattern:
                raise ConfigError(f"{source}: {raw!r} is not a usable exclude pattern.",
                                  hint="Use a file or folder name (`*.map`, `drafts/`) or a path from the output "
                                       "folder's top (`assets/**/*.psd`).")
            if pattern.startswith("!"):
                keep.add(pattern[1:].strip("/"))
                continue
            only_dirs = pattern.endswith("/")
            body = pattern.strip("/") if only_dirs else pattern
            if "/" in body or pattern.startswith("/"):
                body = body.lstrip("/")
                if not _GLOB.search(body) and not only_dirs:
                    exact_paths.add(body)  # folders are pruned when they match, so their files never come
                    continue
                paths.append(_path_regex(body) + ("" if only_dirs else "(?:/.*)?"))
                continue
            if _GLOB.search(body):
                (dir_globs if only_dirs else name_globs).append(fnmatch.translate(body))
                if heads is not None:
                    heads = None if body[0] in "*?[" else heads | {body[0]}
            else:
                (dir_names if only_dirs else names).add(body)
        self._names = frozenset(names)
        self._dir_names = frozenset(dir_names)
        self._keep = frozenset(keep)
        self._name_re = re.compile("|".join(f"(?:{g})" for g in name_globs)) if name_globs else None
        self._dir_re = re.compile("|".join(f"(?:{g})" for g in dir_globs)) if dir_globs else None
        self._path_re = re.compile("(?:" + "|".join(paths) + r")\Z") if paths else None
        self._exact_paths = frozenset(exact_paths)
        self._heads = frozenset(heads) if heads is not None else None

    def file_prefilter(self) -> tuple[bool, frozenset[str], frozenset[str], frozenset[str]]:
        """What a file name or path must have for ``__call__`` to be worth calling, so the walk's hot
        loop skips the call for almost every file: (always call, names, exact paths, first characters
        of name globs)."""
        always = self._path_re is not None or (self._name_re is not None and self._heads is None)
        return always, self._names, self._exact_paths, self._heads or frozenset()

    def __call__(self, rel: str, name: str, is_dir: bool) -> bool:
        if name in self._keep:
            return False
        if name in self._names or (is_dir and name in self._dir_names) or rel in self._exact_paths:
            return True
        if self._name_re is not None and (self._heads is None or name[:1] in self._heads) \
                and self._name_re.match(name):
            return True
        if is_dir and self._dir_re is not None and self._dir_re.match(name):
            return True
        return self._path_re is not None and self._path_re.match(rel) is not None


def deploy_filter(platform_ignores: Iterable[str] = (), user_excludes: Iterable[str] = (), *,
                  source: str = "[deploy] exclude") -> PathFilter:
    """moai-adk's own files, then the platform client's defaults, then ``[deploy] exclude``
    (``source`` names where those come from in errors)."""
    PathFilter(user_excludes, source=source)  # a bad user pattern is reported as theirs
    return PathFilter([*OWN_FILES, *platform_ignores, *user_excludes], source=source)
