"""Every ``docs/...`` page that a file written by ``init`` mentions exists in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moai_adk.project import scaffold
from moai_adk.project.platforms import INIT_PLATFORMS

REPO = Path(__file__).resolve().parents[2]
# a repository path, not the tail of a URL such as https://firebase.google.com/docs/hosting/...
DOC_REF = re.compile(r"(?<![\w/.:-])docs/[\w./-]*[\w/]")


def doc_refs(root: Path) -> dict[str, set[str]]:
    """``docs/...`` path -> the generated files that mention it."""
    refs: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            for ref in DOC_REF.findall(path.read_text(encoding="utf-8", errors="replace")):
                refs.setdefault(ref.rstrip("/"), set()).add(str(path.relative_to(root)))
    return refs


@pytest.mark.parametrize("platforms", [[name] for name in INIT_PLATFORMS] + [list(INIT_PLATFORMS)],
                         ids=[*INIT_PLATFORMS, "all"])
def test_every_docs_path_in_generated_files_exists(tmp_path: Path, platforms: list[str]) -> None:
    scaffold.run_init(tmp_path, platforms, example="hello-site")
    refs = doc_refs(tmp_path)
    assert "docs/init.md" in refs  # the walk does find references
    text = (tmp_path / "moai.toml").read_text()
    for name in platforms:
        assert f"settings read by the {name} provider (see docs/" in text
    missing = {ref: files for ref, files in refs.items() if not (REPO / ref).exists()}
    assert missing == {}


def test_a_platform_without_its_own_page_points_to_the_config_reference(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hi")
    (tmp_path / "moai.toml").write_text('[project]\nname = "x"\n\n[deploy]\nplatforms = ["cloudflare"]\n')
    scaffold.run_init(tmp_path, [])
    text = (tmp_path / "moai.toml").read_text()
    assert "settings read by the cloudflare provider (see docs/config.md)" in text
    assert {ref for ref in doc_refs(tmp_path) if not (REPO / ref).exists()} == set()
