"""The lab's aiohttp application: Huawei-style errors, loopback only, signature check, faults, routes.

Every request, the control API included, must carry a valid SDK-HMAC-SHA256 signature from the lab's
credentials. Errors are {"error_code", "error_msg"} bodies with an X-Request-Id header, as Huawei answers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from mgc_iac.lab import control, sms_agent
from mgc_iac.lab.context import LAB, LabContext, LabError
from mgc_iac.lab.services import ecs, evs, kms, smn, sms, vpc
from mgc_iac.lab.signature import SignatureError, verify

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str, request_id: str) -> web.Response:
    resp = web.json_response({"error_code": code, "error_msg": message, "request_id": request_id}, status=status)
    resp.headers["X-Request-Id"] = request_id
    return resp


@web.middleware
async def huawei_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = uuid.uuid4().hex
    try:
        resp = await handler(request)
    except LabError as exc:
        return _error(exc.status, exc.code, str(exc), request_id)
    except web.HTTPNotFound:
        return _error(404, "APIGW.0101", "The API does not exist or has not been published", request_id)
    except web.HTTPMethodNotAllowed:
        return _error(405, "APIGW.0101", "The method is not allowed for this API", request_id)
    except (KeyError, TypeError, ValueError) as exc:
        # a body with the right keys but wrong types: the caller's fault, not the lab's
        return _error(400, "Common.0400", f"bad request body: {type(exc).__name__}: {exc}", request_id)
    except Exception as exc:  # noqa: BLE001 - a lab bug still answers in the Huawei shape, never a bare 500 page
        return _error(500, "SYS.0500", f"lab internal error: {type(exc).__name__}", request_id)
    resp.headers["X-Request-Id"] = request_id
    return resp


@web.middleware
async def loopback_and_signature(request: web.Request, handler: Handler) -> web.StreamResponse:
    remote = request.remote or ""
    try:
        loopback = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LabError(403, "APIGW.0302", "the lab answers loopback callers only")
    if request.path.startswith(sms_agent.DOWNLOAD_PREFIX):
        return await handler(request)  # the agent package's download location is public, as Huawei's is
    lab = request.app[LAB]
    body = await request.read()
    raw_path, _, raw_query = request.raw_path.partition("?")
    try:
        verify(method=request.method, raw_path=raw_path, raw_query=raw_query, headers=request.headers, body=body,
               keys=lab.keys)
    except SignatureError as exc:
        raise LabError(401, exc.code, str(exc)) from None
    return await handler(request)


@web.middleware
async def injected_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route.name or ""
    service, _, operation = route.partition(".")
    if not operation or service == "lab":
        return await handler(request)
    decision = request.app[LAB].faults.decide(service, operation)
    if decision.latency_ms:
        await asyncio.sleep(decision.latency_ms / 1000)
    if decision.outcome == "error":
        raise LabError(500, "SYS.0500", "injected fault: internal error")
    if decision.outcome == "throttle":
        raise LabError(429, "APIGW.0308", "injected fault: the throttling threshold has been reached")
    if decision.outcome == "drop":
        _abort(request)
    response = await handler(request)
    if decision.outcome == "lost_answer":
        _abort(request)              # the change is committed; only the answer is lost (a crash, a cut link)
    return response


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


def build_app(lab: LabContext) -> web.Application:
    app = web.Application(middlewares=[huawei_errors, loopback_and_signature, injected_faults],
                          client_max_size=4 * 1024 * 1024)
    app[LAB] = lab
    for module in (control, ecs, evs, kms, smn, vpc, sms, sms_agent):
        app.router.add_routes(module.routes)
    return app
