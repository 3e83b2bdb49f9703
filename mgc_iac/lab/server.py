"""The lab's aiohttp application: Huawei-style errors, loopback only, signature check, faults, routes.

Every request, the control API included, must carry a valid SDK-HMAC-SHA256 signature from the lab's
credentials. Errors are {"error_code", "error_msg"} bodies with an X-Request-Id header, as Huawei answers.
As Huawei's API gateway: bodies over 12 MB are answered 413; X-Project-Id must name the path's project
(and is required on SMS, whose paths carry none); a temporary AK must send its X-Security-Token; a body
signed as UNSIGNED-PAYLOAD is accepted. Every answer is checked against its SDK response model (contract.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from mgc_iac.lab import control, sms_agent
from mgc_iac.lab.context import ANSWER, LAB, LabContext, LabError
from mgc_iac.lab.contract import STATS, ContractStats, check_answer
from mgc_iac.lab.services import bss, ecs, evs, iam, kms, smn, sms, vpc
from mgc_iac.lab.signature import SignatureError, verify

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger("mgc_iac.lab")
MAX_BODY = 12 * 1024 * 1024       # the API gateway's request body limit (12 MB), answered 413


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
        refused = _error(exc.status, exc.code, str(exc), request_id)
        if exc.retry_after is not None:
            refused.headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 413:
            refused.force_close()          # the rest of an oversized body is never read
        return refused
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
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise LabError(413, "APIGW.0201", "Request entity too large: the body is over 12 MB") from None
    raw_path, _, raw_query = request.raw_path.partition("?")
    try:
        verify(method=request.method, raw_path=raw_path, raw_query=raw_query, headers=request.headers, body=body,
               keys=lab.all_keys(), tokens=lab.security_tokens())
    except SignatureError as exc:
        raise LabError(401, exc.code, str(exc)) from None
    _check_project_header(request, lab)
    return await handler(request)


def _check_project_header(request: web.Request, lab: LabContext) -> None:
    """X-Project-Id (BasicCredentials sends it) names the project the call acts in: the path's project when the
    path has one; on SMS, whose paths have none, it is required and must be a project of the account. BSS, a
    global service, is called with X-Domain-Id (GlobalCredentials), which must be the account's."""
    header = request.headers.get("X-Project-Id")
    path_project = request.match_info.get("project_id")
    if path_project is not None and header is not None and header != path_project:
        raise LabError(403, "APIGW.0302", f"X-Project-Id {header} is not the project of the path ({path_project})")
    route = request.match_info.route.name or ""
    if route.startswith("bss."):
        # a global service: GlobalCredentials sign with X-Domain-Id (the account), never a project
        domain = request.headers.get("X-Domain-Id")
        if not domain:
            raise LabError(401, "APIGW.0301", "Incorrect IAM authentication information: BSS needs X-Domain-Id")
        if domain != lab.seed.domain_id:
            raise LabError(403, "APIGW.0302", f"X-Domain-Id {domain} is not this account")
    # IAM too signs with X-Domain-Id (GlobalCredentials), except the call that tells the account id
    if route.startswith("iam.") and route != "iam.keystone_list_auth_domains" and \
            request.headers.get("X-Domain-Id") != lab.domain_id:
        raise LabError(401, "APIGW.0301", "Incorrect IAM authentication information: IAM needs this account's "
                                          "X-Domain-Id")
    if route.startswith("sms."):
        if not header:
            raise LabError(401, "APIGW.0301", "Incorrect IAM authentication information: SMS needs X-Project-Id")
        if header != lab.project_id:
            raise LabError(403, "APIGW.0302", f"X-Project-Id {header} is not a project of this account")


@web.middleware
async def sdk_contract(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check a successful answer against its SDK response model; one that leaves it is a lab bug (500)."""
    stats = request.app[STATS]
    started = time.perf_counter()
    resp = await handler(request)
    route = request.match_info.route.name or ""
    if isinstance(resp, web.Response) and resp.status < 300 and ANSWER in resp:
        checked = time.perf_counter()
        wrong = check_answer(route, request.match_info.route.resource.canonical if request.match_info.route.resource
                             else request.path, resp[ANSWER])
        stats.checks += 1
        stats.seconds += time.perf_counter() - checked
        if wrong:
            log.error("answer of %s leaves the SDK model: %s", route, "; ".join(wrong))
            raise LabError(500, "SYS.0500", f"lab answer of {route} leaves the SDK model: {'; '.join(wrong[:5])}")
    stats.handler_seconds += time.perf_counter() - started
    return resp


@web.middleware
async def gateway_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The API gateway's flow control per account (mgc_iac/lab/gateway.py): over the limit, 429 APIGW.0308."""
    route = request.match_info.route.name or ""
    service, _, operation = route.partition(".")
    if not operation or service in ("lab", "agent"):   # the control API and the public package download
        return await handler(request)
    stats = request.app[STATS]
    stats.calls[route] += 1
    gateway = request.app[LAB].gateway
    if gateway is not None and not gateway.admit(service, operation):
        stats.throttled[route] += 1
        raise LabError(429, "APIGW.0308", gateway.message())
    return await handler(request)


@web.middleware
async def injected_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route.name or ""
    service, _, operation = route.partition(".")
    if not operation or service == "lab":
        return await handler(request)
    faults = request.app[LAB].faults
    decision = faults.decide(service, operation)
    if decision.latency_ms:
        await asyncio.sleep(decision.latency_ms / 1000)
    if decision.outcome == "error":
        raise LabError(500, "SYS.0500", "injected fault: internal error")
    if decision.outcome == "throttle":
        raise LabError(429, "APIGW.0308", "injected fault: the throttling threshold has been reached",
                       retry_after=decision.retry_after)
    if decision.outcome == "drop":
        _abort(request)
    response = await handler(request)
    if decision.outcome == "lost_answer" or (isinstance(response, web.Response) and faults.lose_answer(
            service, operation, response.text or "")):
        _abort(request)              # the change is committed; only the answer is lost (a crash, a cut link)
    return response


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


PREINSTALLED: web.AppKey[list[object]] = web.AppKey("preinstalled", list)


def build_app(lab: LabContext) -> web.Application:
    app = web.Application(middlewares=[huawei_errors, loopback_and_signature, gateway_limit, injected_faults,
                                       sdk_contract],
                          client_max_size=MAX_BODY)
    app[LAB] = lab
    app[STATS] = ContractStats()
    for module in (control, ecs, evs, iam, kms, smn, vpc, sms, bss, sms_agent):
        app.router.add_routes(module.routes)
    app[PREINSTALLED] = []  # sources whose agent a user installed (a lab model): started once the lab answers

    async def stop_preinstalled(app: web.Application) -> None:
        for agents in app[PREINSTALLED]:
            await asyncio.to_thread(agents.stop)  # type: ignore[attr-defined]

    app.on_cleanup.append(stop_preinstalled)
    return app
