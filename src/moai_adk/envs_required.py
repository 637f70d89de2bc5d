"""The check of ``[env.required]`` before a deploy builds anything.

Each variable that applies to the environment is looked up in two places:

* the build environment: the shell's variables over the merged ``.env`` files (``envs_files``),
  which is what the build command runs with;
* the platform: the environment's variables there, through the ``EnvStore`` capability
  (platforms without it, e.g. Firebase Hosting, are not asked).

A variable found in neither is missing; a value found that does not match the ``pattern`` is a
mismatch (every source holding a value is checked). A platform secret cannot be read, so its
pattern is not checked there; the report says so. ``deploy`` stops before the build on any
missing or mismatching variable, listing them all; ``deploy --dry-run`` reports the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .envs_files import LocalEnv, read_local_env
from .errors import ConfigError, MoaiError
from .providers.base import EnvVar
from .providers.capabilities import EnvStore


class RequiredEnvError(ConfigError):
    """Variables ``[env.required]`` asks for are missing or do not match their pattern."""


@dataclass
class Check:
    name: str
    status: str  # "ok", "missing" or "mismatch"
    sources: list[str] = field(default_factory=list)  # where a value was found
    mismatched: list[str] = field(default_factory=list)  # sources whose value does not match
    unverified: list[str] = field(default_factory=list)  # sources that hold it as an unreadable secret
    pattern: str | None = None
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "sources": self.sources, "mismatched": self.mismatched,
                "pattern_not_checked": self.unverified, "pattern": self.pattern}

    def sentence(self) -> str:
        what = f" ({self.description})" if self.description else ""
        if self.status == "missing":
            return f"{self.name}{what} is missing"
        if self.status == "mismatch":
            return f"{self.name}{what} does not match {self.pattern!r} in {', '.join(self.mismatched)}"
        text = f"{self.name} is set ({', '.join(self.sources)})"
        if self.unverified:
            text += f"; a secret in {', '.join(self.unverified)}, so its pattern was not checked there"
        return text


@dataclass
class RequiredReport:
    environment: str
    checks: list[Check] = field(default_factory=list)
    local_files: list[str] = field(default_factory=list)
    platform: str | None = None  # "local (production)" when the platform's variables were read
    platform_note: str | None = None  # why the platform was not read

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status != "ok"]

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "ok": not self.failures, "local_files": self.local_files,
                "platform": self.platform, "platform_note": self.platform_note,
                "checks": [c.to_json() for c in self.checks]}

    def sources_sentence(self) -> str:
        files = ", ".join(self.local_files) if self.local_files else "no .env files"
        where = f"the shell environment, {files}"
        if self.platform:
            return f"{where} and the variables on {self.platform}"
        return f"{where} ({self.platform_note or 'the platform keeps no variables'})"


def _platform_values(store: EnvStore, environment: str) -> dict[str, EnvVar]:
    return {v.key: v for v in store.env_list(environment)}


def check_required(cfg: Config, environment: str, *, shell: Mapping[str, str], local: LocalEnv,
                   store: EnvStore | None, tolerate_platform_errors: bool = False) -> RequiredReport:
    """Check every ``[env.required]`` variable of ``environment``; raise nothing about the variables."""
    report = RequiredReport(environment=environment, local_files=list(local.files))
    wanted = [var for var in cfg.required_env if var.applies_to(environment)]
    if not wanted:
        return report
    remote: dict[str, EnvVar] = {}
    if store is None:
        report.platform_note = "the platform keeps no environment variables"
    else:
        try:
            remote = _platform_values(store, environment)
            report.platform = f"{store.name} ({environment})"
        except MoaiError as exc:
            if not tolerate_platform_errors:
                raise
            report.platform_note = f"{store.name} was not asked: {exc.message}"
    build = local.build_environ(shell)
    for var in wanted:
        check = Check(name=var.name, status="ok", pattern=var.pattern, description=var.description)
        values: list[tuple[str, str]] = []
        source = local.source_of(var.name, shell)
        if source is not None:
            check.sources.append(source)
            values.append((source, build[var.name]))
        if var.name in remote and report.platform:
            check.sources.append(report.platform)
            value = remote[var.name].value
            if value is None:
                check.unverified.append(report.platform)
            else:
                values.append((report.platform, value))
        if not check.sources:
            check.status = "missing"
        elif var.pattern is not None:
            regex = re.compile(var.pattern)
            check.mismatched = [where for where, value in values if not regex.search(value)]
            if check.mismatched:
                check.status = "mismatch"
        report.checks.append(check)
    return report


def raise_failures(report: RequiredReport, config_path: str) -> None:
    """``RequiredEnvError`` listing every missing or mismatching variable of ``report`` (if any)."""
    failures = report.failures
    if not failures:
        return
    env = report.environment
    listed = "; ".join(c.sentence() for c in failures)
    fix = f"moai-adk env set {failures[0].name} <value> --env {env}"
    raise RequiredEnvError(
        f"{len(failures)} required variable(s) of the {env} environment are not right, so nothing was built "
        f"or deployed: {listed}. Looked in {report.sources_sentence()}.",
        hint=f"Set them on the platform (`{fix}`) or in .env.{env}.local, or change [env.required] in "
             f"{config_path}.",
    )


def preflight(cfg: Config, environment: str, provider: object, shell: Mapping[str, str], *,
              dry_run: bool, info: Callable[[str], None]) -> tuple[RequiredReport, dict[str, str]]:
    """What ``deploy`` does before its build: the report and the build's environment.

    A real deploy raises ``RequiredEnvError`` on any failure; a dry run prints the report instead
    (and needs no platform credentials: a platform that does not answer is noted, not fatal)."""
    local = read_local_env(cfg.root, environment)
    store = provider if isinstance(provider, EnvStore) else None
    report = check_required(cfg, environment, shell=shell, local=local, store=store,
                            tolerate_platform_errors=dry_run)
    if report.checks:
        info(f"Required variables ({environment}): looked in {report.sources_sentence()}.")
        if dry_run:
            for check in report.checks:
                info(f"  {'ok' if check.status == 'ok' else check.status.upper()}: {check.sentence()}")
            if report.failures:
                info(f"A deploy would stop before the build: {len(report.failures)} required variable(s) "
                     "missing or not matching.")
    if not dry_run:
        raise_failures(report, str(cfg.path or "moai.toml"))
    return report, local.build_environ(shell)
