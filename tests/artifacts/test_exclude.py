"""What is never published: moai-adk's own files, each platform client's defaults, [deploy] exclude."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_adk.artifacts.exclude import PathFilter, deploy_filter
from moai_adk.artifacts.snapshot import take_snapshot, walk
from moai_adk.errors import ConfigError
from moai_adk.providers.netlify import NetlifyProvider
from moai_adk.providers.vercel import VercelProvider


def tree(root: Path, paths: list[str]) -> Path:
    for rel in paths:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    return root


def published(root: Path, f: PathFilter | None) -> list[str]:
    return [x.path for x in walk(root, exclude=f)]


def test_pattern_kinds(tmp_path: Path) -> None:
    root = tree(tmp_path, ["index.html", "a.map", "js/app.js", "js/app.js.map", "drafts/x.html", "docs/drafts/y.html",
                           "cache/z", "assets/cache", "assets/img/raw.psd", "assets/top.psd", "robots.txt",
                           "sub/robots.txt"])
    f = PathFilter(["*.map", "drafts", "cache/", "assets/**/*.psd", "/robots.txt"])
    assert published(root, f) == ["assets/cache", "index.html", "js/app.js", "sub/robots.txt"]
    assert published(root, PathFilter(["assets/*"])) == [p for p in published(root, None) if not p.startswith("assets/")]
    assert "assets/img/raw.psd" in published(root, PathFilter(["assets/*.psd"]))  # * stays in one folder


def test_keep_reincludes_a_name(tmp_path: Path) -> None:
    root = tree(tmp_path, [".well-known/security.txt", ".hidden", ".cfg/x", "index.html", "node_modules/m.js"])
    f = PathFilter(NetlifyProvider.default_ignores)
    assert published(root, f) == [".well-known/security.txt", "index.html"]


@pytest.mark.parametrize("bad", ["", "!", "/", "../secret", "a/../../b"])
def test_unusable_patterns_name_the_key(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        PathFilter([bad])
    assert "[deploy] exclude" in info.value.message and "assets/**/*.psd" in (info.value.hint or "")


def test_files_moai_adk_writes_are_never_published(tmp_path: Path) -> None:
    """`env pull` writes .env.<env>.local next to moai.toml; with output "." a deploy must not see it."""
    root = tree(tmp_path, ["moai.toml", "index.html", ".env.development.local", ".env.local", ".moai/history.jsonl",
                           ".vercel/project.json", "sub/moai.toml"])
    snap = take_snapshot(root, exclude=deploy_filter(), project_root=True)
    assert [f.path for f in snap.files] == ["index.html", "sub/moai.toml"]
    assert not any(f.secret for f in snap.files)


def test_vercel_defaults_match_its_client(tmp_path: Path) -> None:
    root = tree(tmp_path, ["index.html", ".git/HEAD", ".next/x", "node_modules/a.js", ".page.swp", "venv/bin",
                           ".env.production.local", "CVS/Entries", ".well-known/x"])
    f = deploy_filter(VercelProvider.default_ignores, ["*.html"])
    assert published(root, f) == [".well-known/x"]


@pytest.mark.parametrize("patterns", [[], ["*.map"], ["drafts/"], ["/robots.txt", ".env.*.local"],
                                      list(VercelProvider.default_ignores), list(NetlifyProvider.default_ignores),
                                      ["assets/**/*.psd", "!keep.map", "*.map"]])
def test_the_walks_prefilter_never_hides_a_match(patterns: list[str]) -> None:
    f = deploy_filter((), patterns)
    always, names, paths, heads = f.file_prefilter()
    for rel in ["robots.txt", "sub/robots.txt", "a.map", "keep.map", ".env.staging.local", ".env.local", "moai.toml",
                "x/moai.toml", "assets/a/b.psd", ".page.swp", "index.html", ".well-known/x", "CVS", "x/.hidden"]:
        name = rel.rsplit("/", 1)[-1]
        if f(rel, name, False):
            assert always or name in names or name[0] in heads or rel in paths, (patterns, rel)
