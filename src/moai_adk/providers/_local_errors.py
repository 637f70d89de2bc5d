"""How the local provider turns the platform's error answers into the errors tree: every message names
what the user tried (never an API route) and the fix."""

from __future__ import annotations

import re
from typing import Any

import httpx

from ..errors import DeployFailed, IntegrityError, MoaiError, NotFoundError, ProviderError, UnsafePathError

_REFUSAL_HINTS = {
    "no_previous": "Run `moai-adk deployments` to see the deployments, then `moai-adk rollback ID` or "
                   "`moai-adk promote ID`.",
    "not_ready": "Pick a deployment whose state is ready (`moai-adk deployments`), or deploy again.",
    "missing_blobs": "Run the deploy again: it uploads only what is still missing.",
    "bad_rules": "Fix _redirects, _headers or vercel.json (output folder or project root), then deploy again.",
    "bad_weights": "Give each deployment a whole-number weight; the weights must add up to 100.",
    "no_space": "Free disk space where the platform keeps its data (`moai-adk platform serve --data`), then "
                "run the command again; the platform kept nothing half-written.",
    "too_large": "Leave the file out of the output folder ([deploy] exclude in moai.toml), or start the platform "
                 "with a larger MOAI_PLATFORM_MAX_UPLOAD_MB.",
    "truncated": "The connection broke while sending; run the command again.",
    "bad_json": "This is a bug in the client that sent the request; re-run with --debug and report it.",
}


# What a request does, in the words messages use (users never see API routes).
_ACTIONS: tuple[tuple[str, str, str], ...] = (
    (r"/sites", "list the sites", "create the site"),
    (r"/sites/[^/]+", "read the site", "change the site"),
    (r"/sites/[^/]+/deploys", "list the deployments", "create a deployment"),
    (r"/sites/[^/]+/promote", "read the site", "promote a deployment"),
    (r"/sites/[^/]+/rollback", "read the site", "roll production back"),
    (r"/sites/[^/]+/traffic", "read the traffic split", "change the traffic split"),
    (r"/sites/[^/]+/env/.*", "read environment variables", "change environment variables"),
    (r"/deploys/[^/]+/finalize", "read the deployment", "finalize the deployment"),
    (r"/deploys/[^/]+", "read the deployment", "change the deployment"),
    (r"/blobs(/.*)?", "check uploaded files", "upload files"),
    (r"/tokens", "list tokens", "mint a token"),
    (r"/cleanup", "list what cleanup removes", "clean up"),
)


def _rules_folder(file: Any) -> str:
    if file == "vercel.json":
        return "(in the output folder, or at the project root when the output folder has none)"
    return "in the output folder"


def action(method: str, path: str) -> str:
    """``"upload files"`` for ``PUT /blobs/<sha>``: what a request to the platform API does."""
    for pattern, read, write in _ACTIONS:
        if re.fullmatch(pattern, path):
            return read if method in ("GET", "HEAD") else write
    return "do this" if method in ("GET", "HEAD") else "make this change"


def detail(response: httpx.Response, key: str) -> str:
    """A field of the platform's error object (``""`` when absent)."""
    try:
        err = response.json().get("error", {})
    except (ValueError, AttributeError):
        return ""
    return str(err.get(key) or "") if isinstance(err, dict) else ""

def error_of(response: httpx.Response) -> tuple[str, str]:
    """The platform's error ``(code, message)`` (its messages name no API routes)."""
    try:
        err = response.json().get("error", {})
    except (ValueError, AttributeError):
        err = {}
    err = err if isinstance(err, dict) else {}
    return str(err.get("code") or ""), str(err.get("message") or response.text[:200].strip() or "not found")

def missing(response: httpx.Response, url: str, site: str) -> NotFoundError:
    code, message = error_of(response)
    if code == "no_site":
        hint = (f"Run `moai-adk deploy` to create the site, or check the site name ('site' in "
                f"[platforms.local] of moai.toml, now {site!r}).")
    elif code == "no_deploy":
        wanted = detail(response, "deploy_id")
        named = f"No deployment of site {site!r} has the ID {wanted!r}" if wanted else "Check the ID"
        hint = f"{named}: `moai-adk deployments` lists the IDs (first column); pass one of them."
    else:  # a route this platform lacks, or something else listens at that URL
        hint = f"Check that MOAI_PLATFORM_URL ({url}) points at a moai-adk platform (`moai-adk platform status`)."
    return NotFoundError(f"The local platform at {url} answered: {message}.", hint=hint, status=404)


def refusal(response: httpx.Response, method: str, path: str) -> MoaiError:
    try:
        err = response.json().get("error", {})
    except ValueError:
        err = {}
    code, message = err.get("code", ""), err.get("message") or response.text[:200]
    if code == "unsafe_path":
        return UnsafePathError(f"The local platform refused the deploy: {message}.",
                               hint="Rename the file in the output folder, then rebuild and deploy again.")
    if code == "bad_rules":
        file, line = err.get("file"), err.get("line")
        where = f"line {line} of {file}" if file and line else (file or "_redirects, _headers or vercel.json")
        return DeployFailed(f"The local platform refused the deployment's routing rules: {message}.",
                            hint=f"Fix {where} {_rules_folder(file)}, then deploy again "
                            "(docs/platform.md, 'Rules', lists what rules may not do).",
                            status=response.status_code)
    if code == "hash_mismatch":
        return IntegrityError(f"The local platform rejected an upload: {message}.",
                              hint="Re-run the deploy; it re-hashes changed files and uploads only what is missing.",
                              status=response.status_code)
    hint = _REFUSAL_HINTS.get(code, "Re-run with --debug for the full response.")
    if code == "no_space":
        return ProviderError(f"The local platform ran out of disk space and could not {action(method, path)} "
                             f"({response.status_code} {code}: {message}).", hint=hint, status=response.status_code)
    return ProviderError(f"The local platform refused to {action(method, path)} ({response.status_code} "
                         f"{code or 'error'}: {message}).", hint=hint, status=response.status_code)

