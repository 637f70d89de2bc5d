"""The per-request check and audit of the deploy API: ``make_endpoint`` wraps every route.

For a route with a ``Rule`` (``auth.py``) the wrapper

1. finds the caller: the token's row from the lookup cache on the event loop (no I/O), else one
   indexed read on the thread pool; 401 when missing, unknown, revoked or expired;
2. finds where the request acts: the site (``{site}``, the site of ``{deploy}``, or the ``name``
   of a site being created) and the environment (an ``{environment}`` path parameter on any route,
   else what the rule says: the body's ``environment``, the deployment's, or a fixed one such as
   ``production``);
3. checks the grant against the role matrix (``moai_adk.roles``): 403 naming what is missing;
4. runs the route, then appends an entry to the audit log for every change (``Rule.audit``) and
   every refusal, on the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .apierror import ApiError
from .auth import CHANGE, READ, Rule, identify, identify_cached, permit
from .faults import api_error, log
from .service import Platform
from .tokens import TokenRow

Handler = Callable[[Request], Awaitable[Response]]
BodyReader = Callable[[Request], Awaitable[dict[str, Any]]]
_LEGACY = {"viewer": READ, "developer": CHANGE, "deployer": CHANGE, "admin": "admin"}


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse({"error": {"code": exc.code, "message": exc.message, **exc.extra}}, status_code=exc.status)


def as_rule(rule: Rule | str | None) -> Rule | None:
    """A role name (the older way routes were declared) as a Rule: reads need a viewer, anything
    else is a change, audited under the route's method and path."""
    if rule is None or isinstance(rule, Rule):
        return rule
    kind = _LEGACY[rule]
    return Rule(kind, "read this" if kind == READ else "make this change", audit=None if kind == READ else "")


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def where(platform: Platform, request: Request, rule: Rule, body: BodyReader) -> tuple[str | None, str | None]:
    """(site, environment) the request acts on."""
    pp = request.path_params
    site: str | None = pp.get("site")
    environment: str | None = pp.get("environment")
    row = None
    if "deploy" in pp and (site is None or rule.env == "deploy"):
        try:
            row = await run_in_threadpool(platform.deploy, pp["deploy"])
        except ApiError:
            row = None  # the route answers 404 itself; the check goes on without a site
        site = row.site if row is not None else site
    if rule.env == "site-body":  # creating a site: the site is the body's name
        name = (await body(request)).get("name")
        site = name if isinstance(name, str) else None
    if environment is None:
        if rule.env == "body":
            value = (await body(request)).get("environment") or "preview"
            environment = value if isinstance(value, str) else None
        elif rule.env == "deploy":
            environment = row.environment if row is not None else None
        elif rule.env not in (None, "site-body"):
            environment = rule.env
    return site, environment


def _target(request: Request, result: Any) -> str | None:
    held = getattr(request.state, "target", None)
    if isinstance(held, str):
        return held
    pp = request.path_params
    for key in ("key", "ref", "deploy"):
        if key in pp:
            return str(pp[key])
    if isinstance(result, dict):
        for key in ("id", "name"):
            if isinstance(result.get(key), str):
                return str(result[key])
    return None


def make_endpoint(platform: Platform, body: BodyReader) -> Callable[..., Handler]:
    P = platform

    def record(rule: Rule, request: Request, caller: TokenRow | None, site: str | None, environment: str | None,
               *, result: str, status: int, code: str | None = None, target: str | None = None,
               token_id: str | None = None) -> None:
        """Append the entry; a failure to write it (a full disk) is logged and does not change the answer."""
        try:
            if caller is not None and P.tokens.touch_due(caller.grant.id):
                P.tokens.touch(caller.grant.id)
            action = rule.audit or f"{request.method} {request.url.path}"
            P.audit.record(action=action, result=result, status=status, code=code,
                           who=caller.grant.name if caller else None,
                           token=caller.grant.id if caller else token_id, site=site, environment=environment,
                           target=target, client=_client(request))
        except Exception as exc:  # noqa: BLE001 - the change is made (or refused) either way
            log.error("could not write the platform audit log entry", exc_info=exc)

    def touch(caller: TokenRow) -> None:
        try:
            P.tokens.touch(caller.grant.id)
        except Exception as exc:  # noqa: BLE001 - last_used is a courtesy
            log.error("could not record a token's last use", exc_info=exc)

    def endpoint(rule_or_role: Rule | str | None, fn: Callable[[Request], Awaitable[Any]],
                 status: int = 200) -> Handler:
        rule = as_rule(rule_or_role)

        async def handler(request: Request) -> Response:
            caller: TokenRow | None = None
            site, environment = request.path_params.get("site"), request.path_params.get("environment")
            try:
                if rule is not None:
                    header = request.headers.get("authorization", "")
                    found = identify_cached(P.tokens, header)
                    if found is None:
                        found = await run_in_threadpool(identify, P.tokens, header)
                    caller = found
                    site, environment = await where(P, request, rule, body)
                    permit(found.grant, rule, site, environment)
                    request.state.caller = caller
                result = await fn(request)
            except Exception as exc:  # noqa: BLE001 - every failure answers JSON (faults.py)
                err = api_error(exc)
                if rule is not None and (rule.audit is not None or err.status in (401, 403)):
                    await run_in_threadpool(record, rule, request, caller, site, environment,
                                            result="refused" if err.status in (401, 403) else "failed",
                                            status=err.status, code=err.code, target=_target(request, None),
                                            token_id=err.extra.get("token_id"))
                return error_response(err)
            code = result.status_code if isinstance(result, Response) else status
            if rule is not None and rule.audit is not None:
                await run_in_threadpool(record, rule, request, caller, site, environment, result="ok",
                                        status=code, target=_target(request, result))
            elif caller is not None and P.tokens.touch_due(caller.grant.id):
                await run_in_threadpool(touch, caller)
            if isinstance(result, Response):
                return result
            return JSONResponse(result, status_code=status)
        return handler

    return endpoint


def scoped_entries(entries: list[dict[str, Any]], caller: TokenRow) -> list[dict[str, Any]]:
    """The audit entries a caller's scope reaches (an admin for some sites sees those sites' entries)."""
    g = caller.grant
    return [e for e in entries
            if (g.sites is None or e.get("site") in g.sites)
            and (g.environments is None or e.get("environment") in g.environments)]
