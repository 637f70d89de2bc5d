"""``firebase.json`` and ``.firebaserc``: reading, validation, site selection, hooks.

Validation runs before anything else a deploy does. It uses the JSON Schema of
``firebase.json`` that firebase-tools publishes, shipped inside this package
(``firebase-config.schema.json`` beside this module; ``MOAI_FIREBASE_SCHEMA``
names another file). When that override names no file, a smaller built-in
structural check of the ``hosting`` section runs. Either way an error names
the file and the JSON path of the offending key, e.g.
``firebase.json: hosting.rewrites[1].destination``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ...errors import BuildError, ConfigError

FIREBASE_JSON = "firebase.json"
FIREBASERC = ".firebaserc"
SCHEMA_ENV = "MOAI_FIREBASE_SCHEMA"
SCHEMA_NAME = "firebase-config.schema.json"

# Keys of one hosting entry (firebase-config.schema.json, definitions.HostingSingle).
HOSTING_KEYS: dict[str, tuple[type, ...]] = {
    "public": (str,), "site": (str,), "target": (str,), "source": (str,), "ignore": (list,),
    "cleanUrls": (bool,), "trailingSlash": (bool,), "appAssociation": (str,), "i18n": (dict,),
    "predeploy": (str, list), "postdeploy": (str, list), "rewrites": (list,), "redirects": (list,),
    "headers": (list,), "frameworksBackend": (dict,),
}
_PATTERN_KEYS = ("source", "glob", "regex")


@dataclass
class FirebaseProject:
    """What moai-adk uses from ``firebase.json`` / ``.firebaserc`` and moai.toml settings."""

    root: Path
    site: str
    project: str | None
    hosting: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # firebase.json, when present
    checked_with: str = "none"  # "schema" | "built-in" | "none"

    def hooks(self, phase: str) -> list[str]:
        value = self.hosting.get(phase)
        if value is None:
            return []
        return [value] if isinstance(value, str) else [str(v) for v in value]


def json_path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def packaged_schema() -> dict[str, Any]:
    """The firebase.json JSON Schema shipped in this package (package data)."""
    return dict(_packaged_schema())


@cache
def _packaged_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMA_NAME).read_text(encoding="utf-8")
    return dict(json.loads(text))


def find_schema(environ: Mapping[str, str]) -> Path | None:
    """The schema file ``MOAI_FIREBASE_SCHEMA`` names, or None for the packaged one."""
    override = environ.get(SCHEMA_ENV)
    return Path(override) if override else None


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}.", hint="Check the file's permissions and encoding (UTF-8).") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}).",
            hint=f"Fix the syntax at line {exc.lineno} of {path.name}.",
        ) from exc


_RANK = {"additionalProperties": 4, "enum": 3, "const": 3, "required": 2, "type": 1}


def _weight(error: Any) -> int:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        return max(1, sum(1 for k in error.instance if k not in allowed))
    return 1


def _branch_score(errors: list[Any]) -> tuple[int, int]:
    """Lower is closer: a branch whose whole shape is wrong (root type) loses, then fewer problems win."""
    wrong_shape = any(e.validator == "type" and not e.relative_path for e in errors)
    return (int(wrong_shape), sum(_weight(e) for e in errors))


def _best_error(errors: list[Any]) -> Any:
    """The error a person should fix: inside anyOf/oneOf, follow the branch that almost matched."""
    err = max(errors, key=lambda e: (len(e.absolute_path), _RANK.get(e.validator, 2)))
    while err.context:
        branches: dict[Any, list[Any]] = {}
        for sub in err.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        closest = min(branches.values(), key=_branch_score)
        err = max(closest, key=lambda e: (len(e.absolute_path), _RANK.get(e.validator, 2)))
    return err


@cache
def _packaged_validator() -> Any:
    import jsonschema

    return jsonschema.Draft7Validator(_packaged_schema())


def validate_with_schema(data: Any, path: Path, schema_path: Path | None = None) -> None:
    """Check against ``schema_path``, or the packaged schema when None."""
    import jsonschema

    if schema_path is None:
        validator, schema_name = _packaged_validator(), SCHEMA_NAME
    else:
        validator, schema_name = jsonschema.Draft7Validator(_read_json(schema_path)), schema_path.name
    errors = list(validator.iter_errors(data))
    if not errors:
        return
    err = _best_error(errors)
    parts = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        if extra:
            parts.append(extra[0])
            where = json_path(parts)
            raise ConfigError(
                f"{path}: `{where}` is not a known key here (checked against {schema_name}).",
                hint=f"Remove or rename `{extra[0]}` in {path.name}; allowed keys here: {', '.join(sorted(allowed))}.",
            )
    where = json_path(parts)
    raise ConfigError(
        f"{path}: `{where}` is invalid: {err.message} (checked against {schema_name}).",
        hint=f"Edit `{where}` in {path.name} (see https://firebase.google.com/docs/hosting/full-config).",
    )


def validate_builtin(data: Any, path: Path) -> None:
    """Structural check of the ``hosting`` section, used when the schema file named by the override is absent."""

    def fail(parts: list[Any], what: str, fix: str) -> ConfigError:
        return ConfigError(f"{path}: `{json_path(parts)}` {what} (built-in check; the JSON Schema was not found).", hint=fix)

    if not isinstance(data, dict):
        raise fail([], "must be a JSON object", f"Write {path.name} as {{\"hosting\": {{...}}}}.")
    hosting = data.get("hosting")
    if hosting is None:
        return
    entries = hosting if isinstance(hosting, list) else [hosting]
    for i, entry in enumerate(entries):
        base: list[Any] = ["hosting", i] if isinstance(hosting, list) else ["hosting"]
        if not isinstance(entry, dict):
            raise fail(base, "must be an object", "Write each hosting entry as {\"public\": \"dist\", ...}.")
        for key, value in entry.items():
            if key not in HOSTING_KEYS:
                raise fail(base + [key], "is not a known key here", f"Remove or rename `{key}`; known keys: {', '.join(HOSTING_KEYS)}.")
            if not isinstance(value, HOSTING_KEYS[key]):
                raise fail(base + [key], f"has the wrong type ({type(value).__name__})", f"See the Firebase docs for `{key}`.")
        for section in ("rewrites", "redirects", "headers"):
            for j, rule in enumerate(entry.get(section, [])):
                at = base + [section, j]
                if not isinstance(rule, dict):
                    raise fail(at, "must be an object", "Write each rule as {\"source\": \"...\", ...}.")
                if sum(k in rule for k in _PATTERN_KEYS) != 1:
                    raise fail(at, "needs exactly one of source, glob or regex", "Add a \"source\" glob to the rule.")
                if section == "redirects" and not isinstance(rule.get("destination"), str):
                    raise fail(at + ["destination"], "must be a string", "Add the redirect's \"destination\".")
                if section == "headers" and not isinstance(rule.get("headers"), list):
                    raise fail(at + ["headers"], "must be a list of {key, value}", "Write \"headers\": [{\"key\": ..., \"value\": ...}].")


def validate(data: Any, path: Path, environ: Mapping[str, str]) -> str:
    """Validate ``firebase.json`` data; returns which check ran."""
    schema = find_schema(environ)
    if schema is None:
        validate_with_schema(data, path)
        return "schema"
    if schema.is_file():
        validate_with_schema(data, path, schema)
        return "schema"
    validate_builtin(data, path)
    return "built-in"


def _pick_hosting(hosting: Any, path: Path, site: str | None, target: str | None) -> dict[str, Any]:
    if hosting is None:
        return {}
    if isinstance(hosting, dict):
        return hosting
    entries: list[dict[str, Any]] = list(hosting)
    if len(entries) == 1:
        return entries[0]
    for entry in entries:
        if (site and entry.get("site") == site) or (target and entry.get("target") == target):
            return entry
    names = ", ".join(str(e.get("site") or e.get("target")) for e in entries)
    raise ConfigError(
        f"{path}: `hosting` lists {len(entries)} sites ({names}) and moai.toml does not say which one to deploy.",
        hint='Add `site = "<site-id>"` (or `target = "<target>"`) under [platforms.firebase] in moai.toml.',
    )


def load_project(root: Path, settings: Mapping[str, Any], environ: Mapping[str, str]) -> FirebaseProject:
    """Read and validate firebase.json/.firebaserc under ``root`` and settle the site id."""
    fb_path = root / FIREBASE_JSON
    data: Any = {}
    checked = "none"
    if fb_path.is_file():
        data = _read_json(fb_path)
        checked = validate(data, fb_path, environ)
    rc_path = root / FIREBASERC
    rc: Any = _read_json(rc_path) if rc_path.is_file() else {}
    if not isinstance(rc, dict):
        raise ConfigError(f"{rc_path}: must be a JSON object.", hint='Write it as {"projects": {"default": "<project-id>"}}.')
    want_site = settings.get("site")
    want_target = settings.get("target")
    hosting = _pick_hosting(data.get("hosting") if isinstance(data, dict) else None, fb_path, want_site, want_target)
    project = settings.get("project") or (rc.get("projects") or {}).get("default")
    site = want_site or hosting.get("site")
    target = want_target or hosting.get("target")
    if not site and target and project:
        sites = (((rc.get("targets") or {}).get(project) or {}).get("hosting") or {}).get(target) or []
        if len(sites) == 1:
            site = sites[0]
        elif target:
            raise ConfigError(
                f"{rc_path}: hosting target '{target}' of project '{project}' maps to {len(sites)} sites, not one.",
                hint=f"Run `firebase target:apply hosting {target} <site-id>`, or set `site` under [platforms.firebase] in moai.toml.",
            )
    site = site or project
    if not site:
        raise ConfigError(
            f"No Firebase Hosting site is set: neither moai.toml [platforms.firebase] site/project, "
            f"{fb_path.name} hosting.site nor {rc_path.name} projects.default names one.",
            hint='Add `site = "<site-id>"` under [platforms.firebase] in moai.toml.',
        )
    return FirebaseProject(root=root, site=str(site), project=str(project) if project else None,
                           hosting=hosting, path=fb_path if fb_path.is_file() else None, checked_with=checked)


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def run_hooks(project: FirebaseProject, phase: str, environ: Mapping[str, str],
              echo: Callable[[str], None] | None = None) -> list[str]:
    """Run ``hosting.<phase>`` commands in the project root; a failure is a ``BuildError``."""
    commands = project.hooks(phase)
    env = dict(environ)
    env.setdefault("PROJECT_DIR", str(project.root))
    if project.project:
        env.setdefault("GCLOUD_PROJECT", project.project)
    for cmd in commands:
        if echo:
            echo(f"Running {phase} hook: {cmd}")
        try:  # its output goes through ``echo`` (the CLI's stderr and its redaction filter), never straight out
            proc = subprocess.Popen(cmd, shell=True, cwd=project.root, env=env, stdin=subprocess.DEVNULL,  # noqa: S602
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        except OSError as exc:
            raise BuildError(f"The firebase.json hosting.{phase} hook `{cmd}` could not start: {exc}.",
                             hint=f"Fix or remove hosting.{phase} in {FIREBASE_JSON}.") from exc
        assert proc.stdout is not None
        for line in proc.stdout:
            (echo or _to_stderr)(line.rstrip("\n"))
        if proc.wait() != 0:
            raise BuildError(
                f"The firebase.json hosting.{phase} hook `{cmd}` failed with exit code {proc.returncode}"
                + ("; nothing was deployed." if phase == "predeploy" else "; the deployment itself is done."),
                hint=f"Run `{cmd}` in {project.root} to see the error, then fix it or remove it from hosting.{phase}.",
            )
    return commands
