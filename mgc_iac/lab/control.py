"""The lab control API under /_lab/ (signed like every call, loopback only): settings, faults, messages, reset.

    GET    /_lab/health                 {"project_id", "region", "pid"}
    GET    /_lab/stats                  {checks, check_seconds, handler_seconds, cpu_seconds, calls, throttled}: the
                                        SDK-model check, and the calls answered / refused 429 per operation
    GET    /_lab/settings               {"job_seconds": 2.0, "instant_transfers": false, "transfer_seconds": 0,
                                        "rate_limit": {"requests_per_second": 50, "per": "api"}, ...}
    PUT    /_lab/settings               same keys, any subset; job_seconds 0 = jobs finish at once; rate_limit
                                        null = no API gateway limit
    GET    /_lab/faults                 {"seed": 0, "rules": [FaultRule...]}
    PUT    /_lab/faults                 {"seed", "rules": [{service, operation, latency_ms, error_rate,
                                        throttle_rate, drop_rate, lost_answer_rate}]}: replaces and reseeds
    DELETE /_lab/faults                 no faults
    GET    /_lab/messages               {"messages": [{message_id, topic_urn, topic, subject, message, time}]}
    POST   /_lab/reset                  forget everything and load the seed again
    POST   /_lab/sms/fail               {"source_id", "at": "now" | "cutover" | "clear"}: the source goes to
                                        state error now, or its next cutover ends in error / clear in clearfailed

`instant_transfers` is a lab-only setting: an SMS task start/sync completes at once with progress 100 and a
clean consistency result, no agent needed (used by the 1,000-server benchmark); with `transfer_seconds` the
simulated copy stays RUNNING (or SYNCING) that long first.
"""

from __future__ import annotations

import os

from aiohttp import web

from mgc_iac.lab.context import DEFAULT_SETTINGS, bad_request, body_json, lab_of, reply
from mgc_iac.lab.faults import Faults
from mgc_iac.lab.gateway import check_rate_limit

routes = web.RouteTableDef()


@routes.get("/_lab/health", name="lab.health")
async def health(request: web.Request) -> web.Response:
    lab = lab_of(request)
    return reply({"project_id": lab.project_id, "region": lab.region, "pid": os.getpid()})


@routes.get("/_lab/stats", name="lab.stats")
async def stats(request: web.Request) -> web.Response:
    """What checking every answer against its SDK model cost this lab process (mgc_iac.lab.contract)."""
    from mgc_iac.lab.contract import STATS

    return reply(request.app[STATS].to_dict())


@routes.get("/_lab/settings", name="lab.settings")
async def get_settings(request: web.Request) -> web.Response:
    return reply(lab_of(request).settings())


@routes.put("/_lab/settings", name="lab.set_settings")
async def put_settings(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    unknown = set(body) - set(DEFAULT_SETTINGS)
    if unknown:
        raise bad_request("LAB.0001", f"unknown settings: {', '.join(sorted(unknown))}")
    if "job_seconds" in body and (not isinstance(body["job_seconds"], int | float) or body["job_seconds"] < 0):
        raise bad_request("LAB.0001", "job_seconds is a number >= 0")
    if "instant_transfers" in body and not isinstance(body["instant_transfers"], bool):
        raise bad_request("LAB.0001", "instant_transfers is true or false")
    interval = body.get("sync_interval_seconds", 1)
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 0:
        raise bad_request("LAB.0001", "sync_interval_seconds is a number >= 0")
    timeout = body.get("agent_timeout_seconds", 1)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise bad_request("LAB.0001", "agent_timeout_seconds is a number > 0")
    transfer = body.get("transfer_seconds", 0)
    if not isinstance(transfer, int | float) or isinstance(transfer, bool) or transfer < 0:
        raise bad_request("LAB.0001", "transfer_seconds is a number >= 0")
    if "rate_limit" in body:
        try:
            body["rate_limit"] = check_rate_limit(body["rate_limit"])
        except ValueError as exc:
            raise bad_request("LAB.0001", str(exc)) from None
    with lab.store.tx():
        for key, value in body.items():
            lab.store.set_setting(key, value)
    lab.refresh_gateway()
    return reply(lab.settings())


@routes.get("/_lab/faults", name="lab.faults")
async def get_faults(request: web.Request) -> web.Response:
    return reply(lab_of(request).faults.to_dict())


@routes.put("/_lab/faults", name="lab.set_faults")
async def put_faults(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    try:
        faults = Faults.from_dict(body)
    except (TypeError, ValueError) as exc:
        raise bad_request("LAB.0002", f"bad fault rules: {exc}") from None
    lab.store.set_setting("faults", faults.to_dict())
    lab.faults = faults
    return reply(faults.to_dict())


@routes.delete("/_lab/faults", name="lab.clear_faults")
async def clear_faults(request: web.Request) -> web.Response:
    lab = lab_of(request)
    lab.faults = Faults()
    lab.store.set_setting("faults", lab.faults.to_dict())
    return reply(lab.faults.to_dict())


@routes.get("/_lab/messages", name="lab.messages")
async def messages(request: web.Request) -> web.Response:
    return reply({"messages": lab_of(request).store.messages()})


@routes.post("/_lab/sms/fail", name="lab.sms_fail")
async def sms_fail(request: web.Request) -> web.Response:
    """Fault injection for SMS's failure states (a source's `error`, a clear's `clearfailed`): Huawei reaches
    them on its own (a target that does not launch, snapshots that cannot be cleared); the lab on request."""
    from mgc_iac.lab.services import sms_machine

    lab = lab_of(request)
    body = await body_json(request)
    with lab.store.tx():
        source = lab.store.get("sms_source", str(body.get("source_id") or ""))
        if source is None:
            raise bad_request("LAB.0003", f"no source {body.get('source_id')!r}")
        task = lab.store.get("sms_task", source.get("current_task") or "")
        if task is None:
            raise bad_request("LAB.0003", f"source {source['id']} has no task")
        sms_machine.inject(lab, task, source, str(body.get("at") or ""))
        lab.store.put("sms_task", task)
    return reply({})


@routes.post("/_lab/reset", name="lab.reset")
async def reset(request: web.Request) -> web.Response:
    lab_of(request).reset()
    return reply({})
