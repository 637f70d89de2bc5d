"""Framework detection: a pure function of the project folder.

``detect(root)`` looks at config files only (never runs anything) and says how
the site is built and which folder holds the result::

    framework   evidence                                   build command           output
    nextjs      next.config.* with output: 'export'        npm run build           out
    astro       astro.config.*                             npm run build           dist
    sveltekit   svelte.config.* + @sveltejs/adapter-static npm run build           build
    vite        vite.config.* or "vite" in package.json    npm run build           dist
    hugo        hugo.toml/yaml/json, or config.toml with   hugo                    public
                Hugo keys (baseURL, theme...) + content/
    jekyll      _config.yml + Gemfile naming jekyll        bundle exec jekyll build _site
    static      index.html at the root, or in public/      (none)                  . or public

``npm`` becomes ``pnpm``/``yarn``/``bun`` when that tool's lock file is present.
Folders set in the framework's own config (Vite/Astro ``outDir``, adapter-static
``pages``, Hugo ``publishDir``, Jekyll ``destination``) win over the defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# moai framework name -> Vercel's framework slug (vercel.json "framework").
VERCEL_FRAMEWORKS: dict[str, str] = {
    "nextjs": "nextjs", "astro": "astro", "sveltekit": "sveltekit-1", "vite": "vite",
    "hugo": "hugo", "jekyll": "jekyll",
}
FRAMEWORK_TITLES: dict[str, str] = {
    "nextjs": "Next.js", "astro": "Astro", "sveltekit": "SvelteKit", "vite": "Vite",
    "hugo": "Hugo", "jekyll": "Jekyll", "static": "Plain static site",
}

_JS_EXTS = ("js", "mjs", "cjs", "ts", "mts", "cts")


@dataclass(frozen=True)
class Detection:
    """What ``detect`` found. ``framework`` is None when nothing was recognised."""

    framework: str | None
    build_command: str | None
    output: str
    evidence: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        return FRAMEWORK_TITLES.get(self.framework or "", "Unknown")

    @property
    def vercel_framework(self) -> str | None:
        return VERCEL_FRAMEWORKS.get(self.framework or "")


def _read(path: Path, limit: int = 256_000) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return ""


def _first(root: Path, stem: str, exts: tuple[str, ...] = _JS_EXTS) -> Path | None:
    for ext in exts:
        candidate = root / f"{stem}.{ext}"
        if candidate.is_file():
            return candidate
    return None


def _package_json(root: Path) -> dict[str, Any]:
    path = root / "package.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(_read(path))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _deps(pkg: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in ("dependencies", "devDependencies", "peerDependencies"):
        section = pkg.get(key)
        if isinstance(section, dict):
            names.update(str(k) for k in section)
    return names


def run_script(root: Path, script: str = "build") -> str:
    """The command that runs ``script`` with the package manager whose lock file is present."""
    if (root / "pnpm-lock.yaml").is_file():
        return f"pnpm run {script}"
    if (root / "yarn.lock").is_file():
        return f"yarn {script}"
    if (root / "bun.lockb").is_file() or (root / "bun.lock").is_file():
        return f"bun run {script}"
    return f"npm run {script}"


def _string_option(text: str, key: str) -> str | None:
    m = re.search(rf"""\b{key}\s*:\s*['"]([^'"]+)['"]""", text)
    return m.group(1) if m else None


def _clean_output(value: str | None, default: str) -> str:
    if not value:
        return default
    value = value.strip().removeprefix("./").rstrip("/")
    if not value or Path(value).is_absolute() or ".." in Path(value).parts:
        return default
    return value


def _npm_notes(root: Path, pkg: dict[str, Any]) -> tuple[str, ...]:
    scripts = pkg.get("scripts")
    if pkg and not (isinstance(scripts, dict) and "build" in scripts):
        return ('package.json has no "build" script; add one or edit [build] command in moai.toml.',)
    return ()


def _nextjs(root: Path, pkg: dict[str, Any]) -> Detection | None:
    config = _first(root, "next.config")
    if config is None and "next" not in _deps(pkg):
        return None
    text = _read(config) if config else ""
    evidence = config.name if config else 'package.json ("next")'
    notes = _npm_notes(root, pkg)
    if not re.search(r"""\boutput\s*:\s*['"]export['"]""", text):
        where = config.name if config else "next.config.js"
        notes += (
            f"{where} has no `output: 'export'`, so `next build` writes no static site. For static "
            f"hosting add `output: 'export'` to {where}, or deploy with `--baas vercel`, which runs Next.js itself.",
        )
    return Detection("nextjs", run_script(root), "out", evidence, notes)


def _astro(root: Path, pkg: dict[str, Any]) -> Detection | None:
    config = _first(root, "astro.config")
    if config is None:
        return None
    text = _read(config)
    notes = _npm_notes(root, pkg)
    if re.search(r"""\boutput\s*:\s*['"]server['"]""", text):
        notes += (f"{config.name} sets output: 'server'; only the static part in the output folder is deployed.",)
    return Detection("astro", run_script(root), _clean_output(_string_option(text, "outDir"), "dist"),
                     config.name, notes)


def _sveltekit(root: Path, pkg: dict[str, Any]) -> Detection | None:
    config = _first(root, "svelte.config")
    if config is None:
        return None
    text = _read(config)
    notes = _npm_notes(root, pkg)
    if "@sveltejs/adapter-static" not in text and "@sveltejs/adapter-static" not in _deps(pkg):
        if "@sveltejs/kit" not in text and "@sveltejs/kit" not in _deps(pkg):
            return None  # a plain Svelte + Vite app: let the Vite rule handle it
        notes += (
            f"{config.name} does not use @sveltejs/adapter-static; install it and set "
            "`adapter: adapter()` from '@sveltejs/adapter-static' for static hosting.",
        )
    output = _clean_output(_string_option(text, "pages"), "build")
    return Detection("sveltekit", run_script(root), output, config.name, notes)


def _vite(root: Path, pkg: dict[str, Any]) -> Detection | None:
    config = _first(root, "vite.config")
    if config is None and "vite" not in _deps(pkg):
        return None
    text = _read(config) if config else ""
    evidence = config.name if config else 'package.json ("vite")'
    return Detection("vite", run_script(root), _clean_output(_string_option(text, "outDir"), "dist"),
                     evidence, _npm_notes(root, pkg))


_HUGO_KEYS = re.compile(r"""^\s*(baseURL|languageCode|theme|publishDir|contentDir|disableKinds)\s*[=:]""", re.M)


def _hugo(root: Path, _pkg: dict[str, Any]) -> Detection | None:
    config = _first(root, "hugo", ("toml", "yaml", "yml", "json"))
    if config is None:
        legacy = _first(root, "config", ("toml", "yaml", "yml"))
        has_layout = any((root / d).is_dir() for d in ("archetypes", "layouts", "themes"))
        if legacy is None or not (_HUGO_KEYS.search(_read(legacy)) and (has_layout or (root / "content").is_dir())):
            return None
        config = legacy
    text = _read(config)
    m = re.search(r"""^\s*publishDir\s*[=:]\s*['"]?([^'"\n]+?)['"]?\s*$""", text, re.M)
    return Detection("hugo", "hugo", _clean_output(m.group(1) if m else None, "public"), config.name)


def _jekyll(root: Path, _pkg: dict[str, Any]) -> Detection | None:
    config = root / "_config.yml"
    gemfile = root / "Gemfile"
    if not (config.is_file() and gemfile.is_file() and "jekyll" in _read(gemfile).lower()):
        return None
    m = re.search(r"""^destination\s*:\s*['"]?([^'"\n#]+?)['"]?\s*(#.*)?$""", _read(config), re.M)
    return Detection("jekyll", "bundle exec jekyll build", _clean_output(m.group(1) if m else None, "_site"),
                     "_config.yml + Gemfile")


def _static(root: Path, _pkg: dict[str, Any]) -> Detection | None:
    if (root / "index.html").is_file():
        return Detection("static", None, ".", "index.html")
    if (root / "public" / "index.html").is_file():
        return Detection("static", None, "public", "public/index.html")
    return None


# Most specific first: SvelteKit and Astro projects also use Vite; a Vite app has index.html at the root.
RULES: tuple[Callable[[Path, dict[str, Any]], Detection | None], ...] = (
    _nextjs, _astro, _sveltekit, _vite, _hugo, _jekyll, _static,
)


def detect(root: Path) -> Detection:
    """Recognise the framework of the project in ``root`` (reads files, changes nothing)."""
    pkg = _package_json(root)
    for rule in RULES:
        found = rule(root, pkg)
        if found is not None:
            return found
    return Detection(
        None, None, ".", None,
        ("No framework recognised and no index.html found; moai.toml deploys the project folder as it is. "
         "Set [build] command and [build] output in moai.toml if your site is built.",),
    )
