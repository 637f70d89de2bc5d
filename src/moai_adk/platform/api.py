"""The deploy API under ``/_api/v1`` (Starlette). See docs/platform.md for the routes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from .auth import ADMIN, CHANGE, READ, Rule
from .environments import ALIAS_LABEL, PATH_PREFIX
from .faults import truncated
from .guard import error_response, make_endpoint, scoped_entries
from .meta import DeployRow
from .service import ApiError, Platform

PREFIX = "/_api/v1"
MAX_JSON = 64 << 20  # a JSON request body (a 20,000-file manifest is about 2 MB)
Handler = Callable[[Request], Awaitable[Response]]


__all__ = ["PREFIX", "build_api", "deploy_json", "error_response"]


def _port_and_host(request: Request) -> tuple[str, str]:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
    return host, port


def deploy_json(platform: Platform, row: DeployRow, request: Request) -> dict[str, Any]:
    host, port = _port_and_host(request)
    scheme = request.url.scheme
    suffix = f".{platform.domain}" + (f":{port}" if port else "")
    state = platform.sites.get(row.site)
    return {
        "id": row.id, "site": row.site, "state": row.state, "environment": row.environment,
        "created_at": row.created_at, "ready_at": row.ready_at, "meta": row.meta,
        "file_count": row.file_count, "total_bytes": row.total_bytes,
        "production": bool(state and state.production == row.id),
        "url": f"{scheme}://{row.id}.{row.site}{suffix}/",
        "production_url": f"{scheme}://{row.site}{suffix}/",
        "path_url": f"{scheme}://{host}/_deploys/{row.id}/",
        "site_path_url": f"{scheme}://{host}/_sites/{row.site}/",
    }


def environment_urls(platform: Platform, request: Request, site: str, environment: str) -> dict[str, str]:
    """Where an environment of ``site`` is served: its host form and its path form (environments.py)."""
    host, port = _port_and_host(request)
    scheme = request.url.scheme
    suffix = f".{platform.domain}" + (f":{port}" if port else "")
    if environment == "production":
        return {"url": f"{scheme}://{site}{suffix}/", "path_url": f"{scheme}://{host}/_sites/{site}/"}
    return {"url": f"{scheme}://{environment}.{ALIAS_LABEL}.{site}{suffix}/",
            "path_url": f"{scheme}://{host}{PATH_PREFIX}{site}/{environment}/"}


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body, read once (the access check may read it before the route)."""
    held = getattr(request.state, "json_body", None)
    if held is not None:
        return dict(held)
    body = await _read_json(request)
    request.state.json_body = body
    return dict(body)


async def _read_json(request: Request) -> dict[str, Any]:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_JSON:
                raise ApiError(413, "too_large", f"a JSON request body may be at most {MAX_JSON} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise truncated(size) from exc
    raw = b"".join(chunks)
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) != len(raw):
        raise truncated(len(raw), int(announced))
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # also numbers past Python's digit limit, deep nesting
        raise ApiError(400, "bad_json", f"request body is not valid JSON ({str(exc)[:200]})") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "request body must be a JSON object")
    return body


def build_api(platform: Platform) -> Starlette:
    P = platform

    endpoint = make_endpoint(P, _json_body)

    async def health(_: Request) -> Any:
        return {"ok": True, "version": __version__, "service": "moai-adk platform"}

    async def whoami(request: Request) -> Any:
        row = request.state.caller
        return row.public()

    async def create_site(request: Request) -> Any:
        body = await _json_body(request)
        info, created = await run_in_threadpool(P.create_site, body.get("name"))
        request.state.target = info["name"]
        return JSONResponse({**info, "created": created}, status_code=201 if created else 200)

    async def list_sites(_: Request) -> Any:
        return {"sites": await run_in_threadpool(P.meta.sites)}

    async def get_site(request: Request) -> Any:
        return await run_in_threadpool(P.site, request.path_params["site"])

    async def create_deploy(request: Request) -> Any:
        body = await _json_body(request)
        row, missing = await run_in_threadpool(P.create_deploy, request.path_params["site"], body)
        request.state.target = row.id
        return JSONResponse({**deploy_json(P, row, request), "required": missing}, status_code=201)

    async def list_deploys(request: Request) -> Any:
        try:
            limit = int(request.query_params.get("limit", "20"))
        except ValueError as exc:
            raise ApiError(400, "bad_request", "'limit' must be an integer") from exc
        rows = await run_in_threadpool(P.deploys, request.path_params["site"], limit)
        return {"deploys": [deploy_json(P, r, request) for r in rows]}

    async def get_deploy(request: Request) -> Any:
        row = await run_in_threadpool(P.deploy, request.path_params["deploy"])
        return deploy_json(P, row, request)

    async def finalize(request: Request) -> Any:
        deploy_id = request.path_params["deploy"]
        row = await run_in_threadpool(P.finalize, deploy_id)
        warnings = await run_in_threadpool(P.rules_warnings, deploy_id)
        return {**deploy_json(P, row, request), "warnings": warnings}

    async def head_blob(request: Request) -> Any:
        sha = request.path_params["sha"]
        exists = await run_in_threadpool(P.store.exists, sha) if len(sha) == 64 else False
        return Response(status_code=200 if exists else 404)

    async def promote(request: Request) -> Any:
        body = await _json_body(request)
        row = await run_in_threadpool(P.promote, request.path_params["site"], body.get("deploy_id"))
        return deploy_json(P, row, request)

    async def rollback(request: Request) -> Any:
        body = await _json_body(request)
        row = await run_in_threadpool(P.rollback, request.path_params["site"], body.get("deploy_id"))
        return deploy_json(P, row, request)

    async def rollback_target(request: Request) -> Any:
        site = request.path_params["site"]
        target = await run_in_threadpool(P.rollback_target, site)
        return deploy_json(P, await run_in_threadpool(P.deploy, target), request)

    async def cleanup(request: Request) -> Any:
        body = await _json_body(request)
        return await run_in_threadpool(P.cleanup, bool(body.get("dry_run", False)))

    async def get_traffic(request: Request) -> Any:
        info = await run_in_threadpool(P.site, request.path_params["site"])
        return {"production": info["production"], "weights": info["traffic"]}

    async def put_traffic(request: Request) -> Any:
        body = await _json_body(request)
        site = request.path_params["site"]
        weights = await run_in_threadpool(P.set_traffic, site, body.get("weights"))
        return {"production": P.sites[site].production, "weights": weights}

    async def env_list(request: Request) -> Any:
        pp = request.path_params
        return {"vars": await run_in_threadpool(P.env_list, pp["site"], pp["environment"])}

    async def env_set(request: Request) -> Any:
        pp = request.path_params
        body = await _json_body(request)
        return await run_in_threadpool(P.env_set, pp["site"], pp["environment"], pp["key"], body)

    async def env_unset(request: Request) -> Any:
        pp = request.path_params
        await run_in_threadpool(P.env_unset, pp["site"], pp["environment"], pp["key"])
        return Response(status_code=204)

    async def list_environments(request: Request) -> Any:
        site = request.path_params["site"]
        rows = await run_in_threadpool(P.envs.list, site)
        return {"environments": [{**r, **environment_urls(P, request, site, r["environment"])} for r in rows]}

    async def put_environment(request: Request) -> Any:
        pp = request.path_params
        body = await _json_body(request)
        row = await run_in_threadpool(P.envs.assign, pp["site"], pp["environment"], body.get("deploy_id"))
        urls = environment_urls(P, request, pp["site"], pp["environment"])
        return {**deploy_json(P, row, request), "alias": pp["environment"], "alias_url": urls["url"],
                "alias_path_url": urls["path_url"]}

    async def create_token(request: Request) -> Any:
        body = await _json_body(request)
        role = str(body.get("role", "deployer"))
        name = body.get("name") or body.get("label") or f"{role} token"
        token, row = await run_in_threadpool(
            lambda: P.tokens.mint(role, name, sites=body.get("sites"), environments=body.get("environments"),
                                  expires_in=body.get("expires_in"), minter=request.state.caller.grant))
        request.state.target = row.grant.id
        return JSONResponse({**row.public(), "token": token}, status_code=201)

    async def list_tokens(request: Request) -> Any:
        mine = request.state.caller.grant
        rows = await run_in_threadpool(P.tokens.rows)
        return {"tokens": [r.public() for r in rows if mine.covers(r.grant)]}

    async def revoke_token(request: Request) -> Any:
        mine = request.state.caller.grant
        found = await run_in_threadpool(P.tokens.find, request.path_params["ref"])
        request.state.target = found.grant.id
        if not mine.covers(found.grant):
            raise ApiError(403, "forbidden", f"{mine.name!r} ({mine.describe()}) cannot revoke {found.grant.name!r} "
                           f"({found.grant.describe()}): it reaches further than this token")
        return (await run_in_threadpool(P.tokens.revoke, found.grant.id)).public()

    async def audit_log(request: Request) -> Any:
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError as exc:
            raise ApiError(400, "bad_request", "'limit' must be an integer") from exc
        entries = await run_in_threadpool(P.audit.tail, limit)
        return {"entries": scoped_entries(entries, request.state.caller)}

    async def audit_verify(request: Request) -> Any:
        from ..audit import AuditIntegrityError

        try:
            return await run_in_threadpool(P.audit.verify)
        except AuditIntegrityError as exc:
            raise ApiError(409, "audit_broken", exc.message, report=exc.report) from exc

    async def not_found(request: Request) -> Any:
        raise ApiError(404, "no_route", f"no API route {request.method} {request.url.path}")

    v = Rule(READ, "read this")
    site_v = Rule(READ, "read this site")
    prod = "production"  # the local platform's promote, rollback and traffic act on production
    routes = [
        Route(f"{PREFIX}/health", endpoint(None, health), methods=["GET"]),
        Route(f"{PREFIX}/whoami", endpoint(v, whoami), methods=["GET"]),
        Route(f"{PREFIX}/tokens", endpoint(Rule(ADMIN, "mint a token", audit="token mint"), create_token),
              methods=["POST"]),
        Route(f"{PREFIX}/tokens", endpoint(Rule(ADMIN, "list tokens"), list_tokens), methods=["GET"]),
        Route(f"{PREFIX}/tokens/{{ref}}", endpoint(Rule(ADMIN, "revoke a token", audit="token revoke"), revoke_token),
              methods=["DELETE"]),
        Route(f"{PREFIX}/audit", endpoint(Rule(ADMIN, "read the audit log"), audit_log), methods=["GET"]),
        Route(f"{PREFIX}/audit/verify", endpoint(Rule(ADMIN, "verify the audit log"), audit_verify),
              methods=["GET"]),
        Route(f"{PREFIX}/sites", endpoint(Rule(CHANGE, "create a site", env="site-body", audit="site create"),
                                          create_site), methods=["POST"]),
        Route(f"{PREFIX}/sites", endpoint(v, list_sites), methods=["GET"]),
        Route(f"{PREFIX}/sites/{{site}}", endpoint(site_v, get_site), methods=["GET"]),
        Route(f"{PREFIX}/sites/{{site}}/deploys",
              endpoint(Rule(CHANGE, "create a deployment", env="body", audit="deploy create"), create_deploy),
              methods=["POST"]),
        Route(f"{PREFIX}/sites/{{site}}/deploys", endpoint(site_v, list_deploys), methods=["GET"]),
        Route(f"{PREFIX}/sites/{{site}}/promote",
              endpoint(Rule(CHANGE, "promote a deployment", env=prod, audit="promote"), promote), methods=["POST"]),
        Route(f"{PREFIX}/sites/{{site}}/rollback",
              endpoint(Rule(CHANGE, "roll back", env=prod, audit="rollback"), rollback), methods=["POST"]),
        Route(f"{PREFIX}/sites/{{site}}/rollback", endpoint(site_v, rollback_target), methods=["GET"]),
        Route(f"{PREFIX}/cleanup", endpoint(Rule(CHANGE, "clean up", all_sites=True, audit="cleanup"), cleanup),
              methods=["POST"]),
        Route(f"{PREFIX}/sites/{{site}}/traffic", endpoint(site_v, get_traffic), methods=["GET"]),
        Route(f"{PREFIX}/sites/{{site}}/traffic",
              endpoint(Rule(CHANGE, "split production traffic", env=prod, audit="traffic"), put_traffic),
              methods=["PUT"]),
        Route(f"{PREFIX}/sites/{{site}}/env/{{environment}}", endpoint(Rule(READ, "read env vars"), env_list),
              methods=["GET"]),
        Route(f"{PREFIX}/sites/{{site}}/env/{{environment}}/{{key}}",
              endpoint(Rule(CHANGE, "change env vars", audit="env set"), env_set), methods=["PUT"]),
        Route(f"{PREFIX}/sites/{{site}}/env/{{environment}}/{{key}}",
              endpoint(Rule(CHANGE, "change env vars", audit="env unset"), env_unset), methods=["DELETE"]),
        Route(f"{PREFIX}/sites/{{site}}/environments", endpoint(site_v, list_environments), methods=["GET"]),
        Route(f"{PREFIX}/sites/{{site}}/environments/{{environment}}",
              endpoint(Rule(CHANGE, "point an environment at a deployment", audit="environment set"),
                       put_environment), methods=["PUT"]),
        Route(f"{PREFIX}/deploys/{{deploy}}", endpoint(Rule(READ, "read this deployment"), get_deploy),
              methods=["GET"]),
        Route(f"{PREFIX}/deploys/{{deploy}}/finalize",
              endpoint(Rule(CHANGE, "finalize a deployment", env="deploy", audit="deploy finalize"), finalize),
              methods=["POST"]),
        # PUT /blobs/{sha} is served by uploads.put_blob before this router is reached
        Route(f"{PREFIX}/blobs/{{sha}}", endpoint(v, head_blob), methods=["HEAD"]),
        Route(f"{PREFIX}/{{rest:path}}", endpoint(None, not_found),
              methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    ]
    return Starlette(routes=routes)
