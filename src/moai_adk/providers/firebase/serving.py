"""Translate a ``firebase.json`` hosting entry into the Hosting API's ``ServingConfig``,
and the small naming rules of the deploy (ignore globs, channel ids, TTLs).

Mapping (discovery doc ``ServingConfig``): ``source``/``glob`` -> ``glob``,
``regex`` -> ``regex``; rewrite ``destination`` -> ``path``; redirect
``destination`` -> ``location`` and ``type`` -> ``statusCode``; header lists
``[{key, value}]`` -> a map; ``trailingSlash`` true/false -> ``ADD``/``REMOVE``;
``cleanUrls``, ``appAssociation`` and ``i18n`` are copied. A ``function``
rewrite goes through ``resolve`` (see ``functions.RewriteResolver``: a
2nd-gen function becomes ``run: {serviceId, region}``); without it, it stays
``function`` + ``functionRegion``.

The files of the public folder are filtered as firebase-tools lists them:
its built-in ignores (``DEFAULT_IGNORES``) plus ``hosting.ignore``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from ...errors import ConfigError, ProviderError, UsageError

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
MAX_TTL_SECONDS = 30 * 24 * 3600
RUN_DEFAULT_REGION = "us-central1"
# What firebase-tools leaves out of every Hosting upload, whatever hosting.ignore says (src/listFiles.ts).
DEFAULT_IGNORES = ("**/firebase-debug.log", "**/firebase-debug.*.log", ".firebase/*")
Resolve = Callable[[str, "str | None", str], dict[str, Any]]


def _pattern(kind: str, rule: dict[str, Any], where: str) -> dict[str, str]:
    glob = rule.get("glob", rule.get("source"))
    regex = rule.get("regex")
    if glob is not None and regex is not None:
        raise ConfigError(f"firebase.json: `{where}` has both a glob and a regex.", hint=f"Keep one pattern in the {kind}.")
    if glob is not None:
        return {"glob": str(glob)}
    if regex is not None:
        return {"regex": str(regex)}
    raise ConfigError(f"firebase.json: `{where}` has no pattern.", hint=f'Add "source": "<glob>" to the {kind}.')


def _rewrite(rule: dict[str, Any], where: str, resolve: Resolve | None) -> dict[str, Any]:
    out: dict[str, Any] = _pattern("rewrite", rule, where)
    if "destination" in rule:
        out["path"] = rule["destination"]
    elif "function" in rule:
        fn = rule["function"]
        fid, region = (fn["functionId"], fn.get("region")) if isinstance(fn, dict) else (fn, rule.get("region"))
        if resolve is not None:
            out.update(resolve(str(fid), str(region) if region else None, f"{where}.function"))
        else:
            out["function"] = fid
            if region:
                out["functionRegion"] = region
    elif "run" in rule:
        run = rule["run"]
        out["run"] = {"serviceId": run["serviceId"], "region": run.get("region") or RUN_DEFAULT_REGION}
    elif "dynamicLinks" in rule:
        if rule["dynamicLinks"] is not True:
            raise ConfigError(f"firebase.json: `{where}.dynamicLinks` can only be true.", hint="Set it to true or remove the rewrite.")
        out["dynamicLinks"] = True
    else:
        raise ConfigError(f"firebase.json: `{where}` has no destination, function, run or dynamicLinks.",
                          hint='Add "destination": "/index.html" (or a function/run target) to the rewrite.')
    return out


def serving_config(hosting: dict[str, Any], prefix: str = "hosting", resolve: Resolve | None = None) -> dict[str, Any]:
    """The ``ServingConfig`` for one hosting entry (keys absent from firebase.json stay absent)."""
    config: dict[str, Any] = {}
    if "rewrites" in hosting:
        config["rewrites"] = [_rewrite(r, f"{prefix}.rewrites[{i}]", resolve)
                              for i, r in enumerate(hosting["rewrites"])]
    if "redirects" in hosting:
        redirects = []
        for i, r in enumerate(hosting["redirects"]):
            item: dict[str, Any] = {**_pattern("redirect", r, f"{prefix}.redirects[{i}]"), "location": r["destination"]}
            if r.get("type"):
                item["statusCode"] = int(r["type"])
            redirects.append(item)
        config["redirects"] = redirects
    if "headers" in hosting:
        config["headers"] = [
            {**_pattern("header", h, f"{prefix}.headers[{i}]"), "headers": {kv["key"]: kv["value"] for kv in h.get("headers", [])}}
            for i, h in enumerate(hosting["headers"])
        ]
    for key in ("cleanUrls", "appAssociation", "i18n"):
        if key in hosting:
            config[key] = hosting[key]
    if "trailingSlash" in hosting:
        config["trailingSlashBehavior"] = "ADD" if hosting["trailingSlash"] else "REMOVE"
    return config


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A gitignore-like glob (``*``, ``**``, ``?``) as a regex over relative POSIX paths."""
    pat = pattern.lstrip("/")
    out = ""
    i = 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pat.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(f"^{out}(?:/.*)?$")


def has_function_rewrite(hosting: dict[str, Any]) -> bool:
    return any(isinstance(r, dict) and "function" in r for r in hosting.get("rewrites") or [])


class IgnoreMatcher:
    """Ignore globs (a path under a matching folder matches too): matching files are left out of the version."""

    def __init__(self, patterns: Iterable[str] | None) -> None:
        self.patterns = list(patterns or ())
        self._regexes = [glob_regex(p) for p in self.patterns]

    def __call__(self, rel_path: str) -> bool:
        return any(r.match(rel_path) for r in self._regexes)


def hosting_ignores(hosting: dict[str, Any]) -> IgnoreMatcher:
    """firebase-tools' built-in ignores plus firebase.json ``hosting.ignore``."""
    return IgnoreMatcher([*DEFAULT_IGNORES, *(hosting.get("ignore") or [])])


def ttl_seconds(ttl: str) -> int:
    """``"604800s"`` -> 604800."""
    return int(float(ttl.rstrip("s")))


def channel_id(name: str) -> str:
    """A preview channel id from a branch or environment name (``feature/x`` -> ``feature-x``)."""
    cid = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    cid = re.sub(r"-{2,}", "-", cid)[:40].strip("-")
    if not cid:
        raise UsageError(f"Cannot make a Firebase preview channel name from '{name}'.",
                         hint="Pass --branch or --env with letters or digits in it.")
    if cid == "live":
        raise UsageError("A preview cannot go to the Firebase channel 'live': that is production.",
                         hint="Deploy with --prod, or pass another --branch/--env for the preview.")
    return cid


def parse_ttl(expires: str | None) -> tuple[str, bool]:
    """``"7d"`` -> ``("604800s", True)``; ``None`` -> the 7-day default and False (not explicit)."""
    if not expires:
        return f"{DEFAULT_TTL_SECONDS}s", False
    m = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", expires)
    if not m:
        raise UsageError(f"--expires '{expires}' is not a duration.", hint="Use a number and a unit: 12h, 7d, 30d.")
    seconds = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if seconds <= 0 or seconds > MAX_TTL_SECONDS:
        raise UsageError(f"--expires '{expires}' is outside what Firebase allows for preview channels (1 s to 30 days).",
                         hint="Use a value such as 7d (the default) or at most 30d.")
    return f"{seconds}s", True


def rfc3339_seconds(text: str) -> float:
    """Epoch seconds of an RFC 3339 time as Google APIs write it (up to 9 fraction digits, ``Z``)."""
    m = re.fullmatch(r"(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text.strip())
    if not m:
        raise ProviderError(f"Firebase Hosting answered a time moai-adk cannot read: {text!r}.",
                            hint="Re-run the deploy; if it repeats, report it.")
    when = dt.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    return when.timestamp() + float("0." + (m.group(2) or "0"))
