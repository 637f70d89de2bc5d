"""Translate a ``firebase.json`` hosting entry into the Hosting API's ``ServingConfig``,
and the small naming rules of the deploy (ignore globs, channel ids, TTLs).

Mapping (discovery doc ``ServingConfig``): ``source``/``glob`` -> ``glob``,
``regex`` -> ``regex``; rewrite ``destination`` -> ``path``; redirect
``destination`` -> ``location`` and ``type`` -> ``statusCode``; header lists
``[{key, value}]`` -> a map; ``trailingSlash`` true/false -> ``ADD``/``REMOVE``;
``cleanUrls``, ``appAssociation`` and ``i18n`` are copied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ...errors import ConfigError, UsageError

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
MAX_TTL_SECONDS = 30 * 24 * 3600
RUN_DEFAULT_REGION = "us-central1"


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


def _rewrite(rule: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = _pattern("rewrite", rule, where)
    if "destination" in rule:
        out["path"] = rule["destination"]
    elif "function" in rule:
        fn = rule["function"]
        if isinstance(fn, dict):
            out["function"] = fn["functionId"]
            region = fn.get("region")
        else:
            out["function"] = fn
            region = rule.get("region")
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


def serving_config(hosting: dict[str, Any], prefix: str = "hosting") -> dict[str, Any]:
    """The ``ServingConfig`` for one hosting entry (keys absent from firebase.json stay absent)."""
    config: dict[str, Any] = {}
    if "rewrites" in hosting:
        config["rewrites"] = [_rewrite(r, f"{prefix}.rewrites[{i}]") for i, r in enumerate(hosting["rewrites"])]
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


class IgnoreMatcher:
    """``hosting.ignore`` globs: matching files are left out of the version."""

    def __init__(self, patterns: Iterable[str] | None) -> None:
        self.patterns = list(patterns or ())
        self._regexes = [glob_regex(p) for p in self.patterns]

    def __call__(self, rel_path: str) -> bool:
        return any(r.match(rel_path) for r in self._regexes)


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
