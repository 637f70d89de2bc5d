"""The Firebase backend of an environment (``[backend.firebase]`` in moai.toml, docs/backends.md#firebase).

Managed, as the Firebase CLI deploys them:

* Firestore rules and Storage rules (kind ``rules``): compared by content with the ruleset the release
  ``cloud.firestore`` / ``firebase.storage/<bucket>`` points at. Applying compiles them first
  (``projects:test``; an issue is shown as ``file:line:column: message`` and nothing is applied), then
  creates a ruleset and points the release at it;
* Firestore composite indexes (``firestore_index``, managed as a whole; a removal is destructive) and
  field overrides (``firestore_field``, managed as a whole) from ``firestore.indexes.json``;
* Auth authorized domains (``auth_domain``, managed as a whole when ``authorized_domains`` is set): the
  project's own (localhost, <project>.firebaseapp.com, <project>.web.app) are always kept, and so are
  preview channels' domains (``<site>--<channel>-<hash>.web.app``) and the preview domains recorded in
  ``.moai/backend/previews.json``, which deploy and cleanup own (``backend/previews.py``).

Reads run concurrently: releases, indexes, field overrides and the Auth config at once, then the
released rulesets: 6 requests at most.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..errors import ConfigError, UsageError
from ..providers._http import run_concurrently
from ..providers.firebase.auth import Credential, resolve_credential
from .engine import Backend, BackendError
from .firebase_api import FirebaseApis
from .firebase_files import live_fields, live_indexes, override_indexes, read_indexes, read_text
from .plan import Change, State
from .preview_record import recorded

DEFAULTS = {"firestore_rules": "firestore.rules", "firestore_indexes": "firestore.indexes.json",
            "storage_rules": "storage.rules"}
FIRESTORE_RELEASE = "cloud.firestore"
PREVIEW_DOMAIN = re.compile(r"^[a-z0-9-]+--[a-z0-9-]+\.(web\.app|firebaseapp\.com)$")
WRITE_CONCURRENCY = 4


def settings_of(cfg: Any, environment: str) -> dict[str, Any]:
    """[backend.firebase] with [backend.firebase.environments.<env>] laid over it."""
    table = dict((cfg.backend or {}).get("firebase") or {})
    envs = table.pop("environments", {}) or {}
    return {**table, **(envs.get(environment) or {})}


def project_of(cfg: Any, environment: str) -> tuple[str | None, str]:
    """The Firebase project of ``environment``, and where that came from."""
    settings = settings_of(cfg, environment)
    if settings.get("project"):
        envs = ((cfg.backend or {}).get("firebase") or {}).get("environments") or {}
        where = (f"[backend.firebase.environments.{environment}] project"
                 if (envs.get(environment) or {}).get("project") else "[backend.firebase] project")
        return str(settings["project"]), where
    hosting = cfg.settings_for("firebase").get("project")
    if hosting:
        return str(hosting), "[platforms.firebase] project"
    rc = Path(cfg.root) / ".firebaserc"
    try:
        projects = json.loads(rc.read_text(encoding="utf-8")).get("projects") or {}
    except (OSError, ValueError, AttributeError):
        projects = {}
    if isinstance(projects, dict) and (projects.get(environment) or projects.get("default")):
        alias = environment if projects.get(environment) else "default"
        return str(projects[alias]), f".firebaserc projects.{alias}"
    return None, ""


class FirebaseBackend(Backend):
    name = "firebase"
    managed_kinds: ClassVar[frozenset[str]] = frozenset({"firestore_index", "firestore_field", "auth_domain"})
    destructive_kinds: ClassVar[frozenset[str]] = frozenset({"firestore_index"})

    def __init__(self, cfg: Any, environment: str, environ: Mapping[str, str],
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(Path(cfg.root), environment)
        self.cfg = cfg
        self.environ = environ
        self.transport = transport
        self.settings = settings_of(cfg, environment)
        project, self.project_source = project_of(cfg, environment)
        if not project:
            raise UsageError(
                f"No Firebase project for the {environment} backend: neither [backend.firebase] project, "
                f"[backend.firebase.environments.{environment}] project, [platforms.firebase] project nor "
                ".firebaserc names one.",
                hint=f'Add `project = "<project-id>"` under [backend.firebase] (or [backend.firebase.environments.'
                     f'{environment}]) in {cfg.path or "moai.toml"}.')
        self.project = project
        self._apis: FirebaseApis | None = None
        self._credential: Credential | None = None
        self._index_names: dict[str, str] = {}
        self._releases: set[str] = set()
        self._live_domains: list[str] = []

    # -- configuration ---------------------------------------------------------
    @property
    def target(self) -> str:
        return self.project

    @property
    def bucket(self) -> str:
        return str(self.settings.get("storage_bucket") or f"{self.project}.appspot.com")

    def _file(self, key: str) -> str | None:
        """The file moai.toml names for ``key`` (None: not managed; the default only when it exists)."""
        if key in self.settings:
            return str(self.settings[key]) or None
        return DEFAULTS[key] if (self.root / DEFAULTS[key]).is_file() else None

    def _rules_files(self) -> dict[str, tuple[str, str]]:
        """rules state name -> (release, file)."""
        out: dict[str, tuple[str, str]] = {}
        if (rel := self._file("firestore_rules")) is not None:
            out["firestore"] = (FIRESTORE_RELEASE, rel)
        if (rel := self._file("storage_rules")) is not None:
            out[f"storage/{self.bucket}"] = (f"firebase.storage/{self.bucket}", rel)
        return out

    def desired(self) -> State:
        state: State = {}
        for name, (_, rel) in self._rules_files().items():
            state[("rules", name)] = read_text(self.root, rel, "The rules")
        if (indexes_file := self._file("firestore_indexes")) is not None:
            state.update(read_indexes(self.root, indexes_file))
        domains = self.settings.get("authorized_domains")
        if domains is not None:
            # preview deploys' domains on other hosts (a channel's domain is left out of the live state instead)
            previews = [d for d in recorded(self.root, self.name, self.project) if not PREVIEW_DOMAIN.match(d)]
            for d in [*self._own_domains(), *domains, *previews]:
                state[("auth_domain", d)] = True
        return state

    def _own_domains(self) -> list[str]:
        return ["localhost", f"{self.project}.firebaseapp.com", f"{self.project}.web.app"]

    # -- the APIs ------------------------------------------------------------------
    @property
    def apis(self) -> FirebaseApis:
        if self._apis is None:
            if self._credential is None:
                self._credential = resolve_credential(self.environ, self.transport)
            self._apis = FirebaseApis(self.project, self._credential, self.environ, self.transport)
        return self._apis

    def _count(self, before: int) -> None:
        self.round_trips += self.apis.request_count - before

    def close(self) -> None:
        if self._apis is not None:
            self._apis.close()
            self._apis = None

    # -- reading -----------------------------------------------------------------------
    def read(self) -> State:
        apis = self.apis
        before = apis.request_count
        rules = self._rules_files()
        tasks: dict[str, Callable[[], Any]] = {}
        if rules:
            tasks["rules"] = lambda: self._read_rules(rules)
        if self._file("firestore_indexes") is not None:
            tasks["indexes"] = apis.list_indexes
            tasks["fields"] = apis.list_fields
        if self.settings.get("authorized_domains") is not None:
            tasks["auth"] = apis.get_auth_config
        try:
            with ThreadPoolExecutor(max_workers=max(1, len(tasks))) as pool:
                futures = {k: pool.submit(fn) for k, fn in tasks.items()}
                results = {k: f.result() for k, f in futures.items()}
        finally:
            self._count(before)
        state: State = {}
        state.update(results.get("rules") or {})
        if "indexes" in results:
            indexes, self._index_names = live_indexes(results["indexes"])
            state.update(indexes)
            state.update(live_fields(results["fields"]))
        if "auth" in results:
            self._live_domains = [str(d) for d in results["auth"].get("authorizedDomains") or []]
            # preview channels' domains belong to deploy and cleanup: not part of the managed set
            state.update({("auth_domain", d): True for d in self._live_domains if not PREVIEW_DOMAIN.match(d)})
        return state

    def _read_rules(self, rules: dict[str, tuple[str, str]]) -> State:
        releases = {str(r["name"]).split("/releases/", 1)[-1]: str(r.get("rulesetName", ""))
                    for r in self.apis.list_releases()}
        self._releases = set(releases)
        wanted = {name: releases[release] for name, (release, _) in rules.items() if releases.get(release)}
        if not wanted:
            return {}
        with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
            got = dict(zip(wanted, pool.map(self.apis.get_ruleset, wanted.values()), strict=True))
        state: State = {}
        for name, ruleset in got.items():
            files = ((ruleset.get("source") or {}).get("files")) or []
            state[("rules", name)] = "".join(str(f.get("content", "")) for f in files)
        return state

    # -- applying -----------------------------------------------------------------------
    def apply(self, changes: list[Change]) -> None:
        before = self.apis.request_count
        try:
            self._apply(changes)
        finally:
            self._count(before)

    def _apply(self, changes: list[Change]) -> None:
        by_kind: dict[str, list[Change]] = {}
        for c in changes:
            by_kind.setdefault(c.kind, []).append(c)
        rules = [c for c in by_kind.get("rules", []) if c.action != "remove"]
        self._compile(rules)  # every rules file compiles, or nothing is applied
        files = self._rules_files()
        for c in rules:
            release, rel = files[c.name]
            ruleset = self.apis.create_ruleset([{"name": rel, "content": str(c.after)}])
            self.apis.release(release, ruleset, exists=release in self._releases)
            self._releases.add(release)
        index_changes = by_kind.get("firestore_index", [])
        adds = [c.after for c in index_changes if c.action == "add"]
        run_concurrently(adds, lambda ix: self.apis.create_index(ix["collectionGroup"], ix["queryScope"], ix["fields"]),
                         concurrency=WRITE_CONCURRENCY)
        removes = [self._index_names[c.name] for c in index_changes if c.action == "remove" and c.name in self._index_names]
        run_concurrently(removes, self.apis.delete_index, concurrency=WRITE_CONCURRENCY)

        def set_field(c: Change) -> None:
            group, _, path = c.name.partition(".")
            value = c.after if c.action != "remove" else None
            self.apis.patch_field(group, path, override_indexes(path, value) if value else None,
                                  bool(value and value.get("ttl")))

        run_concurrently(by_kind.get("firestore_field", []), set_field, concurrency=WRITE_CONCURRENCY)
        domains = by_kind.get("auth_domain", [])
        if domains:
            gone = {c.name for c in domains if c.action == "remove"}
            new = [c.name for c in domains if c.action == "add" and c.name not in self._live_domains]
            self.apis.set_authorized_domains([d for d in self._live_domains if d not in gone] + new)

    def _compile(self, rules: list[Change]) -> None:
        files = self._rules_files()
        problems: list[str] = []
        for c in rules:
            rel = files[c.name][1]
            for issue in self.apis.test_rules([{"name": rel, "content": str(c.after)}]):
                if issue.get("severity", "ERROR") != "ERROR":
                    continue
                pos = issue.get("sourcePosition") or {}
                problems.append(f"{pos.get('fileName') or rel}:{pos.get('line', '?')}:{pos.get('column', '?')}: "
                                f"{issue.get('description', 'error')}")
        if problems:
            raise ConfigError(
                f"The Firebase Rules API refused the rules of project '{self.project}' (they do not compile), so "
                "nothing was applied:\n  " + "\n  ".join(problems),
                hint="Fix the rules at the line and column shown, then run `moai-adk backend apply` again.")

    # -- notes and confirmation ------------------------------------------------------------
    def _sharing(self) -> list[str]:
        declared = set(self.cfg.environments) | set(((self.cfg.backend or {}).get("firebase") or {}).get("environments") or {})
        return sorted(e for e in declared - {self.environment} if project_of(self.cfg, e)[0] == self.project)

    def notes(self) -> list[str]:
        notes = []
        shared = self._sharing()
        if shared:
            notes.append(f"Environment(s) {', '.join(shared)} use the same Firebase project '{self.project}' "
                         f"({self.project_source}): applying here changes their backend too; apply asks for --yes.")
        return notes

    def confirmations(self) -> list[str]:
        shared = self._sharing()
        return [f"the Firebase project '{self.project}' is also the backend of {', '.join(shared)}"] if shared else []

    # -- the web app config -----------------------------------------------------------------
    def web_config(self) -> dict[str, Any]:
        """The web app config (apiKey, authDomain, projectId, ...) of ``web_app`` (or the project's only one)."""
        wanted = self.settings.get("web_app")
        before = self.apis.request_count
        try:
            if wanted and re.match(r"^\d+:\d+:web:[0-9a-f]+$", str(wanted)):
                return self.apis.web_app_config(str(wanted))
            apps = [a for a in self.apis.list_web_apps() if a.get("state", "ACTIVE") == "ACTIVE"]
            found = [a for a in apps if not wanted or a.get("displayName") == wanted]
            if len(found) != 1:
                names = ", ".join(f"{a.get('displayName')} ({a.get('appId')})" for a in apps) or "none"
                raise BackendError(
                    f"Firebase project '{self.project}' has {len(found)} web app(s) "
                    + (f"named '{wanted}'" if wanted else "") + f"; its web apps: {names}.",
                    hint="Set [backend.firebase] web_app to one app id or display name (Firebase console > Project "
                         "settings > Your apps).")
            return self.apis.web_app_config(str(found[0]["appId"]))
        finally:
            self._count(before)
