from __future__ import annotations

import json
from pathlib import Path

import pytest

from moai_adk.project.detect import detect, run_script


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def pkg(deps: dict[str, str] | None = None, dev: dict[str, str] | None = None, build: bool = True) -> str:
    data: dict[str, object] = {"name": "app", "dependencies": deps or {}, "devDependencies": dev or {}}
    if build:
        data["scripts"] = {"build": "x"}
    return json.dumps(data)


CASES = [
    ("static-root", {"index.html": "<h1>hi</h1>"}, "static", None, "."),
    ("static-public", {"public/index.html": "<h1>hi</h1>"}, "static", None, "public"),
    ("vite-config", {"vite.config.ts": "export default {}", "index.html": "", "package.json": pkg()},
     "vite", "npm run build", "dist"),
    ("vite-dep-only", {"package.json": pkg(dev={"vite": "^5"}), "index.html": ""}, "vite", "npm run build", "dist"),
    ("next-export", {"next.config.mjs": "const c = { output: 'export' };\nexport default c;",
                     "package.json": pkg({"next": "14"}), "public/index.html": ""},
     "nextjs", "npm run build", "out"),
    ("astro", {"astro.config.mjs": "export default defineConfig({})", "package.json": pkg({"astro": "4"})},
     "astro", "npm run build", "dist"),
    ("sveltekit-static", {"svelte.config.js": "import adapter from '@sveltejs/adapter-static';\n"
                                              "export default { kit: { adapter: adapter() } };",
                          "vite.config.ts": "", "package.json": pkg(dev={"@sveltejs/kit": "2"})},
     "sveltekit", "npm run build", "build"),
    ("hugo-toml", {"hugo.toml": "baseURL = 'https://example.org/'\ntitle = 'x'\n"}, "hugo", "hugo", "public"),
    ("hugo-legacy-config", {"config.toml": "baseURL = 'https://example.org/'\n", "content/_index.md": "",
                            "layouts/index.html": ""}, "hugo", "hugo", "public"),
    ("jekyll", {"_config.yml": "title: x\n", "Gemfile": "source 'https://rubygems.org'\ngem \"jekyll\"\n",
                "index.html": ""}, "jekyll", "bundle exec jekyll build", "_site"),
]


@pytest.mark.parametrize(("label", "files", "framework", "command", "output"), CASES, ids=[c[0] for c in CASES])
def test_each_framework(tmp_path: Path, label: str, files: dict[str, str], framework: str,
                        command: str | None, output: str) -> None:
    found = detect(write(tmp_path, files))
    assert (found.framework, found.build_command, found.output) == (framework, command, output)
    assert found.evidence


def test_empty_folder_detects_nothing_and_says_so(tmp_path: Path) -> None:
    found = detect(tmp_path)
    assert found.framework is None and found.output == "." and found.build_command is None
    assert any("No framework recognised" in n for n in found.notes)


def test_nextjs_without_export_explains_what_to_do(tmp_path: Path) -> None:
    write(tmp_path, {"next.config.js": "module.exports = { reactStrictMode: true }", "package.json": pkg({"next": "14"})})
    found = detect(tmp_path)
    assert found.framework == "nextjs" and found.output == "out"
    assert any("output: 'export'" in n and "--baas vercel" in n for n in found.notes)


def test_nextjs_with_export_has_no_warning(tmp_path: Path) -> None:
    write(tmp_path, {"next.config.js": 'module.exports = { output: "export" }', "package.json": pkg({"next": "14"})})
    assert detect(tmp_path).notes == ()


def test_sveltekit_without_adapter_static_is_flagged(tmp_path: Path) -> None:
    write(tmp_path, {"svelte.config.js": "import adapter from '@sveltejs/adapter-auto';",
                     "package.json": pkg(dev={"@sveltejs/kit": "2"})})
    found = detect(tmp_path)
    assert found.framework == "sveltekit"
    assert any("adapter-static" in n for n in found.notes)


def test_plain_svelte_vite_app_is_vite(tmp_path: Path) -> None:
    write(tmp_path, {"svelte.config.js": "export default { preprocess: [] }", "vite.config.js": "",
                     "package.json": pkg(dev={"vite": "5", "svelte": "4"})})
    assert detect(tmp_path).framework == "vite"


def test_output_folder_from_framework_config_wins(tmp_path: Path) -> None:
    write(tmp_path, {"vite.config.js": "export default { build: { outDir: './site-out/' } }", "package.json": pkg()})
    assert detect(tmp_path).output == "site-out"


def test_outdir_escaping_the_project_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, {"vite.config.js": "export default { build: { outDir: '../elsewhere' } }"})
    assert detect(tmp_path).output == "dist"


def test_hugo_publish_dir_and_jekyll_destination(tmp_path: Path) -> None:
    hugo = write(tmp_path / "h", {"hugo.toml": "baseURL = '/'\npublishDir = 'www'\n"})
    assert detect(hugo).output == "www"
    jekyll = write(tmp_path / "j", {"_config.yml": "destination: build-site\n", "Gemfile": "gem 'jekyll'"})
    assert detect(jekyll).output == "build-site"


def test_config_toml_without_hugo_markers_is_not_hugo(tmp_path: Path) -> None:
    write(tmp_path, {"config.toml": "[tool]\nx = 1\n", "index.html": ""})
    assert detect(tmp_path).framework == "static"


def test_jekyll_needs_jekyll_in_gemfile(tmp_path: Path) -> None:
    write(tmp_path, {"_config.yml": "title: x\n", "Gemfile": "gem 'rails'", "index.html": ""})
    assert detect(tmp_path).framework == "static"


def test_missing_build_script_is_noted(tmp_path: Path) -> None:
    write(tmp_path, {"vite.config.js": "", "package.json": pkg(build=False)})
    assert any('no "build" script' in n for n in detect(tmp_path).notes)


@pytest.mark.parametrize(("lock", "command"), [
    ("pnpm-lock.yaml", "pnpm run build"), ("yarn.lock", "yarn build"), ("bun.lockb", "bun run build"),
    (None, "npm run build"),
])
def test_package_manager_from_lock_file(tmp_path: Path, lock: str | None, command: str) -> None:
    if lock:
        (tmp_path / lock).write_text("")
    assert run_script(tmp_path) == command


def test_detection_changes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"vite.config.ts": "", "package.json": pkg()})
    before = sorted(p.name for p in tmp_path.iterdir())
    detect(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_broken_package_json_does_not_crash(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": "{not json", "index.html": ""})
    assert detect(tmp_path).framework == "static"
