"""SMS v3 in the lab: source servers (registered by the lab agent), migration tasks and their state machine.

Task states and the actions that move them (anything else is a 409 SMS.9002):

    READY | MIGRATE_FAIL | ABORT --start--> RUNNING       (command START queued for the agent)
    MIGRATE_FAIL | ABORT --restart--> RUNNING             (full replication again)
    MIGRATE_SUCCESS | SYNC_SUCCESS | SYNC_FAIL --restart--> SYNCING   (incremental sync: command SYNC)
    RUNNING | SYNCING --stop--> ABORT                     (command STOP)
    SYNCING --skip--> SYNC_SUCCESS                        (command SKIP)
    MIGRATE_SUCCESS | SYNC_SUCCESS --cutover--> same state, migration_cycle cutovered, source finished
    any state but RUNNING | SYNCING --clear--> source cleared (command CLEAR)
    RUNNING --progress MIGRATE_* 100--> MIGRATE_SUCCESS ; SYNCING --progress SYNC_* 100--> SYNC_SUCCESS
    RUNNING | SYNCING --command_result fail--> MIGRATE_FAIL | SYNC_FAIL

With the lab setting `instant_transfers` on, start/restart finish at once (progress 100, a clean consistency
result) and no agent is needed.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mgc_iac.lab import sms_agent
from mgc_iac.lab.context import (
    LabContext,
    LabError,
    bad_request,
    body_json,
    conflict,
    lab_of,
    new_id,
    not_found,
    reply,
)

routes = web.RouteTableDef()
# an agent that polled within the lab setting agent_timeout_seconds (default 90 s) counts as connected
ACTIVE = ("RUNNING", "SYNCING")


def _ms(ts: float) -> int:
    return int(ts * 1000)


def _source(lab: LabContext, source_id: str) -> dict[str, Any]:
    source = lab.store.get("sms_source", source_id)
    if source is None:
        raise not_found("SMS.6102", f"source server {source_id}")
    return source


def _task(lab: LabContext, task_id: str) -> dict[str, Any]:
    task = lab.store.get("sms_task", task_id)
    if task is None:
        raise not_found("SMS.1804", f"task {task_id}")
    return task


def _connected(lab: LabContext, source: dict[str, Any]) -> bool:
    return lab.clock() - source.get("last_seen", 0.0) < lab.agent_timeout()


def _source_view(lab: LabContext, s: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in s.items() if k not in ("commands", "last_seen")}
    view["connected"] = _connected(lab, s)
    return view


def _task_view(lab: LabContext, t: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in t.items() if k not in ("result_list", "configurations", "speed_limits")}
    source = lab.store.get("sms_source", t["source_server"]["id"])
    view["connected"] = bool(source) and _connected(lab, source)
    return view


def _queue(lab: LabContext, task: dict[str, Any], command: str) -> None:
    source = lab.store.get("sms_source", task["source_server"]["id"])
    if source is not None:
        source["commands"].append({"command_name": command, "command_param": {"task_id": task["id"]}})
        lab.store.put("sms_source", source)


def _set_source_state(lab: LabContext, task: dict[str, Any], state: str, cycle: str | None = None) -> None:
    source = lab.store.get("sms_source", task["source_server"]["id"])
    if source is not None:
        source["state"] = state
        if cycle:
            source["migration_cycle"] = cycle
        lab.store.put("sms_source", source)


def _subtask(task: dict[str, Any], name: str, progress: int, now: int, speed: float = 0.0) -> None:
    for sub in task["sub_tasks"]:
        if sub["name"] == name:
            break
    else:
        sub = {"id": len(task["sub_tasks"]) + 1, "name": name, "progress": 0, "start_date": now, "end_date": 0,
               "migrate_speed": 0.0}
        task["sub_tasks"].append(sub)
    sub["progress"] = progress
    sub["migrate_speed"] = speed
    if progress >= 100:
        sub["end_date"] = now


def _finish(lab: LabContext, task: dict[str, Any], phase: str) -> None:
    """Complete a full replication (phase MIGRATE) or a sync (phase SYNC)."""
    task["state"] = f"{phase}_SUCCESS"
    task["finish_date"] = _ms(lab.clock())
    task["remain_seconds"] = 0
    task["migrate_speed"] = 0.0
    task["migration_cycle"] = "syncing"   # replication done: ready to sync or to cut over
    _set_source_state(lab, task, "syncing", "syncing")


def _instant(lab: LabContext, task: dict[str, Any], phase: str) -> None:
    suffix = "WINDOWS_BLOCK" if task["os_type"] == "WINDOWS" else "LINUX_FILE"
    _subtask(task, f"{phase}_{suffix}", 100, _ms(lab.clock()))
    total = task.get("totalsize") or 0
    task["replicatesize"] = total
    task["result_list"] = [{"dir_check": "/", "num_total_files": 0, "num_different_files": 0,
                            "num_target_miss_files": 0, "num_target_more_files": 0}]
    _finish(lab, task, phase)


def _run(lab: LabContext, task: dict[str, Any], phase: str) -> None:
    task["state"] = "RUNNING" if phase == "MIGRATE" else "SYNCING"
    task["migration_cycle"] = "replicating" if phase == "MIGRATE" else "syncing"
    task["start_date"] = _ms(lab.clock())
    _set_source_state(lab, task, "replicate" if phase == "MIGRATE" else "syncing", task["migration_cycle"])
    if lab.instant_transfers():
        _instant(lab, task, phase)
    else:
        _queue(lab, task, "START" if phase == "MIGRATE" else "SYNC")


def _refuse(task: dict[str, Any], op: str) -> LabError:
    return conflict("SMS.9002", f"task {task['id']} is {task['state']} "
                                f"({task['migration_cycle']}): operation {op} is not allowed now")


def _action(lab: LabContext, task: dict[str, Any], op: str) -> None:
    state, cutover = task["state"], task["migration_cycle"] == "cutovered"
    if op in ("start", "restart") and cutover:
        raise _refuse(task, op)
    if (op == "start" and state in ("READY", "MIGRATE_FAIL", "ABORT")) or (
            op == "restart" and state in ("MIGRATE_FAIL", "ABORT")):
        _run(lab, task, "MIGRATE")
    elif op == "restart" and state in ("MIGRATE_SUCCESS", "SYNC_SUCCESS", "SYNC_FAIL"):
        _run(lab, task, "SYNC")
    elif op == "stop" and state in ACTIVE:
        task["state"] = "ABORT"
        _queue(lab, task, "STOP")
        _set_source_state(lab, task, "stopped")
    elif op == "skip" and state == "SYNCING":
        _queue(lab, task, "SKIP")
        _finish(lab, task, "SYNC")
    elif op == "cutover" and state in ("MIGRATE_SUCCESS", "SYNC_SUCCESS") and not cutover:
        task["migration_cycle"] = "cutovered"
        _set_source_state(lab, task, "finished", "cutovered")
    elif op == "clear" and state not in ACTIVE:
        _queue(lab, task, "CLEAR")
        _set_source_state(lab, task, "cleared")
    elif op in ("test", "clone_test", "network_check", "migration_test"):
        raise bad_request("SMS.9004", f"operation {op} is not supported by the lab")
    elif op not in ("start", "restart", "stop", "skip", "cutover", "clear"):
        raise bad_request("SMS.9001", f"unknown operation {op!r}")
    else:
        raise _refuse(task, op)


# ---- sources ---------------------------------------------------------------------------------------------

@routes.post("/v3/sources", name="sms.register_server")
async def register_server(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    for field_ in ("name", "ip", "os_type"):
        if not body.get(field_):
            raise bad_request("SMS.6101", f"{field_} is required")
    macs = sorted(n.get("mac", "") for n in body.get("networks") or [] if n.get("mac"))
    with lab.store.tx():
        # the same machine registering again (same first MAC, or same name without MACs) keeps its id
        same = next((s for s in lab.store.list("sms_source")
                     if (macs and s.get("macs") == macs) or (not macs and s["name"] == body["name"])), None)
        now = lab.clock()
        source = same or {"id": new_id(), "state": "waiting", "migration_cycle": "", "commands": [],
                          "add_date": _ms(now), "current_task": "", "replicatesize": 0, "totalsize": 0}
        source.update({k: v for k, v in body.items() if k not in ("id", "commands", "state")})
        source.update(macs=macs, last_seen=now, checks=body.get("checks", []))
        source["totalsize"] = sum(int(d.get("used_size") or d.get("size") or 0) for d in body.get("disks") or [])
        lab.store.put("sms_source", source)
    return reply({"id": source["id"]})


@routes.get("/v3/sources", name="sms.list_servers")
async def list_sources(request: web.Request) -> web.Response:
    lab = lab_of(request)
    q = request.query
    docs = lab.store.list("sms_source", name=q["name"]) if q.get("name") else lab.store.list("sms_source")
    sources = [_source_view(lab, s) for s in docs]
    for key in ("id", "ip", "state", "migproject"):
        if q.get(key):
            sources = [s for s in sources if str(s.get(key, "")) == q[key]]
    if q.get("connected"):
        sources = [s for s in sources if str(s["connected"]).lower() == q["connected"].lower()]
    offset, limit = int(q.get("offset", 0) or 0), int(q.get("limit", 50) or 50)
    return reply({"count": len(sources), "source_servers": sources[offset: offset + limit]})


@routes.get("/v3/sources/{source_id}", name="sms.show_server")
async def show_source(request: web.Request) -> web.Response:
    lab = lab_of(request)
    return reply(_source_view(lab, _source(lab, request.match_info["source_id"])))


@routes.put("/v3/sources/{source_id}", name="sms.update_server_name")
async def update_source(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    with lab.store.tx():
        source = _source(lab, request.match_info["source_id"])
        if "name" in body:
            if not body["name"]:
                raise bad_request("SMS.6101", "name must not be empty")
            source["name"] = body["name"]
        for disk in body.get("disks") or []:
            for have in source.get("disks") or []:
                if disk.get("id") and have.get("id") == disk["id"]:
                    have.update({k: v for k, v in disk.items() if k != "id"})
        if "volume_groups" in body:
            source["volume_groups"] = body["volume_groups"]
        lab.store.put("sms_source", source)
    return reply({})


@routes.delete("/v3/sources/{source_id}", name="sms.delete_server")
async def delete_source(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        source = _source(lab, request.match_info["source_id"])
        task = lab.store.get("sms_task", source.get("current_task", ""))
        if task is not None and task["state"] in ACTIVE:
            raise conflict("SMS.9003", f"source {source['id']} has a running task {task['id']}")
        lab.store.delete("sms_source", source["id"])
    return reply({})


@routes.get("/v3/sources/{server_id}/command", name="sms.show_command")
async def show_command(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        source = _source(lab, request.match_info["server_id"])
        source["last_seen"] = lab.clock()
        command = source["commands"].pop(0) if source["commands"] else {"command_name": "", "command_param": None}
        lab.store.put("sms_source", source)
    return reply(command)


@routes.post("/v3/sources/{server_id}/command_result", name="sms.update_command_result")
async def command_result(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    if not body.get("command_name") or body.get("result") not in ("success", "fail"):
        raise bad_request("SMS.6101", "command_name and result (success|fail) are required")
    with lab.store.tx():
        source = _source(lab, request.match_info["server_id"])
        source["last_seen"] = lab.clock()
        lab.store.put("sms_source", source)
        task = lab.store.get("sms_task", source.get("current_task", ""))
        if task is not None and body["result"] == "fail" and task["state"] in ACTIVE:
            task["state"] = "MIGRATE_FAIL" if task["state"] == "RUNNING" else "SYNC_FAIL"
            task["error_json"] = str(body.get("result_detail") or "agent reported a failure")
            lab.store.put("sms_task", task)
            _set_source_state(lab, task, "error")
    return reply({})


# ---- tasks -----------------------------------------------------------------------------------------------

@routes.post("/v3/tasks", name="sms.create_task")
async def create_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    for field_ in ("name", "type", "os_type", "source_server", "target_server", "region_name", "project_id"):
        if not body.get(field_):
            raise bad_request("SMS.1801", f"{field_} is required")
    if body["type"] not in ("MIGRATE_FILE", "MIGRATE_BLOCK") or body["os_type"] not in ("LINUX", "WINDOWS"):
        raise bad_request("SMS.1801", "type is MIGRATE_FILE|MIGRATE_BLOCK and os_type LINUX|WINDOWS")
    with lab.store.tx():
        source = _source(lab, (body["source_server"] or {}).get("id", ""))
        old = lab.store.get("sms_task", source.get("current_task", ""))
        if old is not None:
            raise conflict("SMS.1802", f"source {source['id']} already has task {old['id']}")
        now = lab.clock()
        task = {
            "id": new_id(), "name": body["name"], "type": body["type"], "os_type": body["os_type"], "state": "READY",
            "create_date": _ms(now), "start_date": 0, "finish_date": 0, "migration_cycle": "checking",
            "priority": body.get("priority", 1), "speed_limit": body.get("speed_limit", 0),
            "migrate_speed": 0.0, "remain_seconds": 0, "total_time": 0, "error_json": "",
            "syncing": bool(body.get("syncing", False)), "exist_server": bool(body.get("exist_server", False)),
            "start_target_server": bool(body.get("start_target_server", False)),
            "use_public_ip": bool(body.get("use_public_ip", True)), "migration_ip": body.get("migration_ip", ""),
            "region_name": body["region_name"], "region_id": body.get("region_id", body["region_name"]),
            "project_name": body.get("project_name", ""), "project_id": body["project_id"],
            "is_need_consistency_check": bool(body.get("is_need_consistency_check", False)),
            "source_server": {"id": source["id"], "name": source["name"], "ip": source.get("ip", ""),
                              "os_type": source.get("os_type", ""), "state": source["state"]},
            "target_server": body["target_server"], "sub_tasks": [], "replicatesize": 0,
            "totalsize": source.get("totalsize", 0), "result_list": [], "configurations": [], "speed_limits": [],
        }
        lab.store.put("sms_task", task)
        source["current_task"] = task["id"]
        lab.store.put("sms_source", source)
        if body.get("auto_start"):
            _action(lab, task, "start")
            lab.store.put("sms_task", task)
    return reply({"id": task["id"]})


@routes.get("/v3/tasks", name="sms.list_tasks")
async def list_tasks(request: web.Request) -> web.Response:
    lab = lab_of(request)
    q = request.query
    docs = lab.store.list("sms_task", name=q["name"]) if q.get("name") else lab.store.list("sms_task")
    tasks = [_task_view(lab, t) for t in docs]
    for key in ("id", "state"):
        if q.get(key):
            tasks = [t for t in tasks if t.get(key) == q[key]]
    if q.get("source_server_id"):
        tasks = [t for t in tasks if t["source_server"]["id"] == q["source_server_id"]]
    offset, limit = int(q.get("offset", 0) or 0), int(q.get("limit", 50) or 50)
    return reply({"count": len(tasks), "tasks": tasks[offset: offset + limit]})


@routes.get("/v3/tasks/{task_id}", name="sms.show_task")
async def show_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    return reply(_task_view(lab, _task(lab, request.match_info["task_id"])))


_UPDATABLE = ("name", "migration_ip", "use_public_ip", "speed_limit", "project_name", "target_server",
              "exist_server", "region_name", "region_id", "project_id")


@routes.put("/v3/tasks/{task_id}", name="sms.update_task")
async def update_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    unknown = set(body) - set(_UPDATABLE) - {"type", "enterprise_project", "use_ipv6"}
    if unknown:
        raise bad_request("SMS.1801", f"cannot update {', '.join(sorted(unknown))}")
    if "name" in body and not body["name"]:
        raise bad_request("SMS.1801", "name must not be empty")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        if task["state"] in ACTIVE:
            raise _refuse(task, "update")
        task.update({k: body[k] for k in _UPDATABLE if k in body})
        lab.store.put("sms_task", task)
    return reply({})


@routes.delete("/v3/tasks/{task_id}", name="sms.delete_task")
async def delete_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        if task["state"] in ACTIVE:
            raise _refuse(task, "delete")
        lab.store.delete("sms_task", task["id"])
        source = lab.store.get("sms_source", task["source_server"]["id"])
        if source is not None and source.get("current_task") == task["id"]:
            source["current_task"] = ""
            lab.store.put("sms_source", source)
    sms_agent.revoke_transfer_key(request, task)  # the task's transfer key leaves its target (lab/sms_agent)
    return reply({})


@routes.post("/v3/tasks/{task_id}/action", name="sms.update_task_status")
async def task_action(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    if not body.get("operation"):
        raise bad_request("SMS.9001", "operation is required")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        _action(lab, task, body["operation"])
        lab.store.put("sms_task", task)
    return reply({})


@routes.put("/v3/tasks/{task_id}/progress", name="sms.update_task_speed")
async def report_progress(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    name, progress = body.get("subtask_name"), body.get("progress")
    if not isinstance(name, str) or not isinstance(progress, int) or not 0 <= progress <= 100:
        raise bad_request("SMS.1801", "subtask_name and progress (0-100) are required")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        if task["state"] not in ACTIVE:
            raise _refuse(task, "progress")
        speed = float(body.get("migrate_speed") or 0.0)
        _subtask(task, name, progress, _ms(lab.clock()), speed)
        task["migrate_speed"] = speed
        for key in ("replicatesize", "totalsize"):
            if body.get(key) is not None:
                task[key] = int(body[key])
        left = max(task["totalsize"] - task["replicatesize"], 0)
        task["remain_seconds"] = int(left * 8 / (speed * 1_000_000)) if speed > 0 else 0
        task["total_time"] = _ms(lab.clock()) - task["start_date"] if task["start_date"] else 0
        if progress == 100 and task["state"] == "RUNNING" and name.startswith("MIGRATE_"):
            _finish(lab, task, "MIGRATE")
        elif progress == 100 and task["state"] == "SYNCING" and name.startswith("SYNC_"):
            _finish(lab, task, "SYNC")
        lab.store.put("sms_task", task)
    return reply({})


@routes.post("/v3/tasks/{task_id}/speed-limit", name="sms.update_speed")
async def set_speed_limit(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    limits = body.get("speed_limit")
    if not isinstance(limits, list):
        raise bad_request("SMS.1801", "speed_limit must be a list")
    for rule in limits:
        if not isinstance(rule, dict) or not 0 <= int(rule.get("speed", -1)) <= 1000:
            raise bad_request("SMS.1801", "each speed_limit needs start, end and speed (0-1000 Mbit/s)")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        task["speed_limits"] = limits
        lab.store.put("sms_task", task)
    return reply({})


@routes.get("/v3/tasks/{task_id}/speed-limit", name="sms.shows_speed_limits")
async def show_speed_limit(request: web.Request) -> web.Response:
    task = _task(lab_of(request), request.match_info["task_id"])
    return reply({"speed_limit": task["speed_limits"]})


@routes.get("/v3/tasks/{task_id}/consistency-result", name="sms.show_consistency_result")
async def show_consistency(request: web.Request) -> web.Response:
    task = _task(lab_of(request), request.match_info["task_id"])
    return reply({"task_id": task["id"], "result_list": task["result_list"]})


@routes.post("/v3/tasks/{task_id}/consistency-result", name="sms.update_consistency_result")
async def post_consistency(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    results = body.get("consistency_result")
    if not isinstance(results, list) or not all(isinstance(r, dict) and r.get("dir_check") for r in results):
        raise bad_request("SMS.1801", "consistency_result must be a list of {dir_check, num_* counts}")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        task["result_list"] = [{"dir_check": r["dir_check"], **{k: int(r.get(k) or 0) for k in (
            "num_total_files", "num_different_files", "num_target_miss_files", "num_target_more_files")}}
            for r in results]
        lab.store.put("sms_task", task)
    return reply({})


@routes.post("/v3/tasks/{task_id}/configuration-setting", name="sms.upload_special_configuration_setting")
async def set_configuration(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    configs = body.get("configurations")
    if not isinstance(configs, list) or not all(isinstance(c, dict) and c.get("config_key") for c in configs):
        raise bad_request("SMS.1801", "configurations must be a list of {config_key, config_value}")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        merged = {c["config_key"]: c for c in task["configurations"]}
        merged.update({c["config_key"]: {"config_key": c["config_key"], "config_value": str(c.get("config_value", "")),
                                         "config_status": ""} for c in configs})
        task["configurations"] = list(merged.values())
        lab.store.put("sms_task", task)
    return reply({})


@routes.get("/v3/tasks/{task_id}/configuration-setting", name="sms.show_config_setting")
async def show_configuration(request: web.Request) -> web.Response:
    task = _task(lab_of(request), request.match_info["task_id"])
    return reply({"task_id": task["id"], "migrate_type": task["type"], "configurations": task["configurations"]})

