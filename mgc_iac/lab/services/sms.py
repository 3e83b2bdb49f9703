"""SMS v3 in the lab: source servers (registered by the agent), migration tasks and their state machines.

States, actions and transitions follow Huawei's SMS API reference (ListTasks / ListServers state lists,
UpdateTaskStatus operations); the slow ones pass through their intermediate state and finish
`transition_seconds` later (a lab setting), as the real service does asynchronously:

    READY | MIGRATE_FAIL | ABORT --start--> RUNNING                    (command START queued for the agent)
    MIGRATE_FAIL | ABORT --restart--> RUNNING ; MIGRATE_SUCCESS | SYNC_SUCCESS | SYNC_FAIL --restart--> SYNCING
    RUNNING | SYNCING --stop--> ABORTING ... ABORT                    (source stopping ... stopped; command STOP)
    SYNCING --skip--> SKIPPING ... SYNC_SUCCESS                       (source skipping ... syncing; command SKIP)
    MIGRATE_SUCCESS | SYNC_SUCCESS --cutover--> cycle cutovering ... cutovered (source cutovering ... finished)
    not RUNNING/SYNCING/ABORTING --clear--> source clearing ... cleared (command CLEAR)
    not RUNNING/SYNCING/ABORTING --DELETE--> DELETING ... gone        (source deleting ... its earlier state)
    MIGRATE_SUCCESS | SYNC_SUCCESS --test--> target launched for a test, source stopped (sync paused) until restart
    MIGRATE_SUCCESS | SYNC_SUCCESS | SYNCING --clone_test--> source cloning ... clone_server FINISHED, a server
    of its own in ECS (and a lab host copied from the target's) ; --network_check--> network_check_info ;
    READY --migration_test--> need_migration_test ;
    RUNNING --progress MIGRATE_* 100--> MIGRATE_SUCCESS ; SYNCING --SYNC_* 100--> SYNC_SUCCESS

Error codes come from Huawei's published SMS error-code table (SMS API reference, "Error Codes":
https://support.huaweicloud.com/en-us/api-sms/sms_api_0047.html): SMS.1038 (only created or monitored tasks
can be paused: a refused stop), SMS.1039 (only paused tasks can be resumed: a refused start), SMS.1040 (only
tasks that failed can be restarted), SMS.2009 (a command result that is not the command sent), SMS.2015 (an
in-progress or stopping task cannot be deleted), SMS.2216 (create_task for a source that does not exist),
SMS.2252 (no migration task is associated with the source). Codes the table does not name are in
mgc_iac/lab/parity_allowlist.py with their reasons.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from mgc_iac.lab import sms_agent
from mgc_iac.lab.context import (
    LabContext,
    LabError,
    bad_request,
    body_json,
    lab_of,
    new_id,
    not_found,
    reply,
)
from mgc_iac.lab.host_requests import host_request
from mgc_iac.lab.services import sms_views as views

routes = web.RouteTableDef()
ACTIVE = ("RUNNING", "SYNCING", "ABORTING", "SKIPPING")
OPERATIONS = ("start", "stop", "restart", "test", "cutover", "clone_test", "network_check", "skip", "clear",
              "migration_test", "error_for_overspeed")
NAME_LENGTH = (4, 20)     # task names: 4-20 characters (huaweicloud-api.md, Huawei's SMS notes)


def _ms(ts: float) -> int:
    return int(ts * 1000)


def _refused(code: str, message: str) -> LabError:
    return LabError(400, code, message)


# ---- asynchronous transitions -----------------------------------------------------------------------------

def _later(lab: LabContext, task: dict[str, Any], to: str, **extra: Any) -> None:
    task["pending"] = {"at": lab.clock() + lab.transition_seconds(), "to": to, **extra}
    lab.store.put("sms_task", task)
    _settle(lab, task)


def _settle(lab: LabContext, task: dict[str, Any]) -> dict[str, Any] | None:
    """Finish a pending transition whose time has come; None when that deleted the task."""
    pending = task.get("pending")
    if not pending or lab.clock() < pending["at"]:
        return task
    task["pending"] = None
    to = pending["to"]
    if to == "ABORT":
        task["state"] = "ABORT"
        _set_source(lab, task, state="stopped")
    elif to == "SKIPPED":
        _finish(lab, task, "SYNC")
    elif to == "cutovered":
        _set_source(lab, task, state="finished", cycle="cutovered")
    elif to == "cleared":
        _set_source(lab, task, state="cleared")
    elif to == "cloned":
        task["clone_server"] = {**task["clone_server"], "clone_state": "FINISHED"}
        _set_source(lab, task, state=pending.get("source_state") or "syncing")
    elif to == "DELETED":
        lab.store.delete("sms_task", task["id"])
        source = lab.store.get("sms_source", task["source_server"]["id"])
        if source is not None and source.get("current_task") == task["id"]:
            source.update(current_task="", state=pending.get("source_state") or "waiting")
            lab.store.put("sms_source", source)
        return None
    lab.store.put("sms_task", task)
    return task


# ---- lookups ------------------------------------------------------------------------------------------------

def _source(lab: LabContext, source_id: str) -> dict[str, Any]:
    source = lab.store.get("sms_source", source_id)
    if source is None:
        raise not_found("SMS.2216", f"source server {source_id}")   # allowlisted: see parity_allowlist.py
    task = lab.store.get("sms_task", source.get("current_task") or "")
    if task is not None and task.get("pending"):
        _settle(lab, task)
        source = lab.store.get("sms_source", source_id) or source
    return source


def _settled_source(lab: LabContext, source: dict[str, Any]) -> dict[str, Any]:
    """A listed source, after its task's pending transition (if any) has been given its chance to finish."""
    task = lab.store.get("sms_task", source.get("current_task") or "") if source.get("current_task") else None
    if task is not None and task.get("pending"):
        _settle(lab, task)
        return lab.store.get("sms_source", source["id"]) or source
    return source


def _task(lab: LabContext, task_id: str) -> dict[str, Any]:
    task = lab.store.get("sms_task", task_id)
    task = _settle(lab, task) if task is not None else None
    if task is None:
        raise not_found("SMS.2252", f"migration task {task_id}")    # allowlisted: see parity_allowlist.py
    return task


def _set_source(lab: LabContext, task: dict[str, Any], state: str | None = None, cycle: str | None = None) -> None:
    source = lab.store.get("sms_source", task["source_server"]["id"])
    if source is not None:
        if state:
            source["state"] = state
        if cycle:
            source["migration_cycle"] = cycle
        lab.store.put("sms_source", source)


def _queue(lab: LabContext, task: dict[str, Any], command: str) -> None:
    source = lab.store.get("sms_source", task["source_server"]["id"])
    if source is not None:
        source["commands"].append({"command_name": command, "command_param": {"task_id": task["id"]}})
        lab.store.put("sms_source", source)


def _cycle(lab: LabContext, task: dict[str, Any]) -> str:
    source = lab.store.get("sms_source", task["source_server"]["id"]) or {}
    return str(source.get("migration_cycle") or "")


# ---- the copy phases ----------------------------------------------------------------------------------------

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
    _set_source(lab, task, state="syncing", cycle="syncing")   # replicated: ready to sync or to cut over


def _instant(lab: LabContext, task: dict[str, Any], phase: str) -> None:
    suffix = "WINDOWS_BLOCK" if task["os_type"] == "WINDOWS" else "LINUX_FILE"
    _subtask(task, f"{phase}_{suffix}", 100, _ms(lab.clock()))
    source = lab.store.get("sms_source", task["source_server"]["id"])
    if source is not None:
        source["replicatesize"] = source["totalsize"]
        lab.store.put("sms_source", source)
    # no file moves in this simulation: it counts each source disk as one compared item, so a simulated run is
    # clean (0 files compared reads "nothing compared", never clean); a copy by the agent posts real counts
    disks = max(1, len((source or {}).get("disks") or ()))
    task["result_list"] = [{"finished_time": _ms(lab.clock()), "check_result": "success", "consistency_result": [
        {"dir_check": "/", "num_total_files": disks, "num_different_files": 0, "num_target_miss_files": 0,
         "num_target_more_files": 0}]}]
    _finish(lab, task, phase)


def _run(lab: LabContext, task: dict[str, Any], phase: str) -> None:
    task["state"] = "RUNNING" if phase == "MIGRATE" else "SYNCING"
    task["start_date"] = _ms(lab.clock())
    task["error_json"] = ""
    _set_source(lab, task, state="replicate" if phase == "MIGRATE" else "syncing",
                cycle="replicating" if phase == "MIGRATE" else "syncing")
    if lab.instant_transfers():
        _instant(lab, task, phase)
    else:
        _queue(lab, task, "START" if phase == "MIGRATE" else "SYNC")


def _clone_test(lab: LabContext, task: dict[str, Any], state: str, cycle: str, body: dict[str, Any]) -> None:
    """clone_test (mgc_iac/engine/runners/test_launch.py cites the sources): a server of its own from the target's
    disks, made while the source waits in `cloning`; FINISHED after the ECS job time, the source back in sync.
    `template_id` (UpdateTaskStatusReq) is optional in the API: without it the clone takes the target's own
    flavor and network (the lab has no server templates: a template id given is recorded, not applied)."""
    from mgc_iac.lab.services.ecs import clone_server

    if state not in ("MIGRATE_SUCCESS", "SYNC_SUCCESS", "SYNCING") or cycle in ("cutovering", "cutovered"):
        raise _refused("SMS.1038", f"task {task['id']} is {state} ({cycle}): only a replicated task that is not cut "
                                   "over can be cloned")
    old = task.get("clone_server")
    if old and old.get("clone_state") != "ERROR" and lab.store.get("ecs_server", old["vm_id"]) is not None:
        raise _refused("SMS.1038", f"task {task['id']} has a clone already ({old['name']}): delete it first")
    target = lab.store.get("ecs_server", task["target_server"]["vm_id"])
    if target is None:
        raise _refused("SMS.1038", f"task {task['id']}: its target server no longer exists")
    clone = clone_server(lab, target, f"{target['name']}-clone")
    task["clone_server"] = {"vm_id": clone["id"], "name": clone["name"], "clone_state": "CREATING",
                            "clone_error": "", "error_msg": ""}
    task["clone_template_id"] = body.get("template_id") or ""
    source = lab.store.get("sms_source", task["source_server"]["id"]) or {}
    _set_source(lab, task, state="cloning")
    _later(lab, task, "cloned", source_state=source.get("state") or "syncing")


def _action(lab: LabContext, task: dict[str, Any], op: str, body: dict[str, Any] | None = None) -> None:
    state, cycle = task["state"], _cycle(lab, task)
    done = state in ("MIGRATE_SUCCESS", "SYNC_SUCCESS")
    if op not in OPERATIONS:
        raise bad_request("SMS.2009", f"unknown operation {op!r}: one of {', '.join(OPERATIONS)}")
    if op in ("start", "restart") and cycle in ("cutovering", "cutovered"):
        raise _refused("SMS.1039" if op == "start" else "SMS.1040", f"task {task['id']} is cut over ({cycle})")
    if op == "start":
        if state not in ("READY", "MIGRATE_FAIL", "ABORT"):
            raise _refused("SMS.1039", f"task {task['id']} is {state}: only a ready, failed or stopped task starts")
        _run(lab, task, "MIGRATE")
    elif op == "restart":
        task.pop("tested", None)  # a test of the target ends when its synchronization resumes
        if state in ("MIGRATE_FAIL", "ABORT"):
            _run(lab, task, "MIGRATE")
        elif state in ("MIGRATE_SUCCESS", "SYNC_SUCCESS", "SYNC_FAIL"):
            _run(lab, task, "SYNC")
        else:
            raise _refused("SMS.1040", f"task {task['id']} is {state}: it cannot be restarted now")
    elif op == "stop":
        if state not in ("RUNNING", "SYNCING"):
            raise _refused("SMS.1038", f"task {task['id']} is {state}: only a running task can be stopped")
        task["state"] = "ABORTING"
        _set_source(lab, task, state="stopping")
        _queue(lab, task, "STOP")
        _later(lab, task, "ABORT")
    elif op == "skip":
        if state != "SYNCING":
            raise _refused("SMS.1038", f"task {task['id']} is {state}: only a syncing task can skip")
        task["state"] = "SKIPPING"
        _set_source(lab, task, state="skipping")
        _queue(lab, task, "SKIP")
        _later(lab, task, "SKIPPED")
    elif op == "cutover":
        if not done or cycle in ("cutovering", "cutovered"):
            raise _refused("SMS.1038", f"task {task['id']} is {state} ({cycle}): only a replicated task can be "
                                       "cut over, once")
        _set_source(lab, task, state="cutovering", cycle="cutovering")
        _later(lab, task, "cutovered")
    elif op == "clear":
        if state in ACTIVE:
            raise _refused("SMS.2015", f"task {task['id']} is {state}: stop it before clearing")
        _set_source(lab, task, state="clearing")
        _queue(lab, task, "CLEAR")
        _later(lab, task, "cleared")
    elif op == "test":
        if not done or cycle in ("cutovering", "cutovered"):
            raise _refused("SMS.1038", f"task {task['id']} is {state} ({cycle}): only a replicated target that is "
                                       "not cut over can be tested")
        # the target is launched for a test and the synchronization pauses (source stopped) until `restart`
        task["tested"] = True
        _set_source(lab, task, state="stopped")
        target = lab.store.get("ecs_server", task["target_server"]["vm_id"])
        if target is not None and target["status"] == "SHUTOFF":
            target["status"] = "ACTIVE"
            lab.store.put("ecs_server", target)
    elif op == "clone_test":
        _clone_test(lab, task, state, cycle, body or {})
    elif op == "network_check":
        source = lab.store.get("sms_source", task["source_server"]["id"]) or {}
        if not views.connected(lab, source):
            raise _refused("SMS.1038", f"task {task['id']}: network_check needs the source's agent connected")
        task["network_check_info"] = {"domain_connectivity": True, "destination_connectivity": True,
                                      "evaluation_result": "success", "migration_speed": 100.0}
    elif op == "migration_test":
        if state != "READY":
            raise _refused("SMS.1039", f"task {task['id']} is {state}: a migration test runs before the migration")
        task["need_migration_test"] = True
    elif op == "error_for_overspeed":
        task["error_json"] = "the migration speed exceeded the threshold (over_speed_threshold)"


# ---- sources ------------------------------------------------------------------------------------------------

@routes.post("/v3/sources", name="sms.register_server")
async def register_server(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    for field_ in ("name", "ip", "os_type"):
        if not body.get(field_):
            raise bad_request("SMS.2009", f"{field_} is required to register a source server")
    macs = sorted(n.get("mac", "") for n in body.get("networks") or [] if n.get("mac"))
    with lab.store.tx():
        # the same machine registering again (same MACs, or same name without MACs) keeps its id
        same = next((s for s in lab.store.list("sms_source")
                     if (macs and s.get("macs") == macs) or (not macs and s["name"] == body["name"])), None)
        now = lab.clock()
        source = same or {"id": new_id(), "state": "waiting", "migration_cycle": "", "commands": [],
                          "add_date": _ms(now), "current_task": "", "replicatesize": 0, "totalsize": 0}
        keep = ("name", "ip", "hostname", "os_type", "os_version", "firmware", "cpu_quantity", "memory", "disks",
                "volume_groups", "networks", "agent_version")
        source.update({k: body[k] for k in keep if k in body})
        source.update(macs=macs, last_seen=now, checks=source.get("checks") or [])
        source["totalsize"] = sum(int(d["used_size"] if d.get("used_size") is not None else d.get("size") or 0)
                                  for d in body.get("disks") or [])
        lab.store.put("sms_source", source)
    return reply({"id": source["id"]})


@routes.get("/v3/sources", name="sms.list_servers")
async def list_sources(request: web.Request) -> web.Response:
    lab = lab_of(request)
    q = request.query
    with lab.store.tx():
        docs = lab.store.list("sms_source", name=q["name"]) if q.get("name") else lab.store.list("sms_source")
        items = [views.source_item(lab, _settled_source(lab, s)) for s in docs]
    for key in ("id", "ip", "state", "migration_cycle"):
        if q.get(key):
            items = [s for s in items if str(s.get(key, "")) == q[key]]
    if q.get("connected"):
        items = [s for s in items if str(s["connected"]).lower() == q["connected"].lower()]
    offset, limit = int(q.get("offset", 0) or 0), int(q.get("limit", 200) or 200)
    return reply({"count": len(items), "source_servers": items[offset: offset + limit]})


@routes.get("/v3/sources/{source_id}", name="sms.show_server")
async def show_source(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        return reply(views.source_detail(lab, _source(lab, request.match_info["source_id"])))


@routes.put("/v3/sources/{source_id}", name="sms.update_server_name")
async def update_source(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    with lab.store.tx():
        source = _source(lab, request.match_info["source_id"])
        if "name" in body:
            if not body["name"]:
                raise bad_request("SMS.2009", "name must not be empty")
            source["name"] = body["name"]
        names = {d.get("name") for d in source.get("disks") or []}
        for disk in body.get("disks") or []:             # PutDisk: {id, need_migration, adjust_size, ...}
            if disk.get("id") not in names:
                raise bad_request("SMS.2009", f"disk {disk.get('id')!r} is not a disk of source {source['id']}")
            # kept apart: ServerDisk (what show_server answers) declares neither need_migration nor adjust_size
            source.setdefault("disk_settings", {})[disk["id"]] = {
                k: disk[k] for k in ("need_migration", "adjust_size") if k in disk}
        if "volume_groups" in body:
            source["volume_groups"] = body["volume_groups"]
        lab.store.put("sms_source", source)
    return reply({})


@routes.delete("/v3/sources/{source_id}", name="sms.delete_server")
async def delete_source(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        source = _source(lab, request.match_info["source_id"])
        task = lab.store.get("sms_task", source.get("current_task") or "")
        if task is not None and task["state"] in ACTIVE:
            raise _refused("SMS.2015", f"source {source['id']} has an in-progress task {task['id']}")
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
        raise bad_request("SMS.2009", "command_name and result (success|fail) are required")
    with lab.store.tx():
        source = _source(lab, request.match_info["server_id"])
        source["last_seen"] = lab.clock()
        lab.store.put("sms_source", source)
        task = lab.store.get("sms_task", source.get("current_task") or "")
        if task is not None and body["result"] == "fail" and task["state"] in ("RUNNING", "SYNCING"):
            task["state"] = "MIGRATE_FAIL" if task["state"] == "RUNNING" else "SYNC_FAIL"
            task["error_json"] = str(body.get("result_detail") or "agent reported a failure")
            lab.store.put("sms_task", task)
            _set_source(lab, task, state="error")
    return reply({})


# ---- tasks ----------------------------------------------------------------------------------------------------

def _check_create(lab: LabContext, body: dict[str, Any]) -> None:
    """What the API reference makes mandatory for create_task (PostTask), and for an existing target
    (exist_server: true): target_server.disks and migration_ip."""
    for field_ in ("name", "type", "os_type", "source_server", "target_server", "region_name", "region_id",
                   "project_name", "project_id"):
        if not body.get(field_):
            raise bad_request("SMS.2009", f"{field_} is required")
    low, high = NAME_LENGTH
    if not low <= len(body["name"]) <= high:
        raise bad_request("SMS.2009", f"name must be {low}-{high} characters, got {len(body['name'])}")
    if body["type"] not in ("MIGRATE_FILE", "MIGRATE_BLOCK") or body["os_type"] not in ("LINUX", "WINDOWS"):
        raise bad_request("SMS.2009", "type is MIGRATE_FILE|MIGRATE_BLOCK and os_type LINUX|WINDOWS")
    if body["project_id"] != lab.project_id:
        raise bad_request("SMS.2009", f"project_id {body['project_id']} is not a project of this account")
    target = body["target_server"]
    if body.get("exist_server"):
        if not target.get("vm_id") or lab.store.get("ecs_server", target["vm_id"]) is None:
            raise bad_request("SMS.2009", f"target_server.vm_id {target.get('vm_id')!r} is not an existing server")
        if not target.get("disks"):
            raise bad_request("SMS.2009", "target_server.disks is required for an existing target server")
        if not body.get("migration_ip"):
            raise bad_request("SMS.2009", "migration_ip is required for an existing target server")
        server = lab.store.get("ecs_server", target["vm_id"]) or {}
        volumes = set(server.get("volumes") or [])
        unknown = [d.get("disk_id") for d in target["disks"] if d.get("disk_id") not in volumes]
        if unknown:
            raise bad_request("SMS.2009", f"target_server.disks: {unknown} are not disks of server {target['vm_id']}")


@routes.post("/v3/tasks", name="sms.create_task")
async def create_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    _check_create(lab, body)
    with lab.store.tx():
        source = lab.store.get("sms_source", (body["source_server"] or {}).get("id", ""))
        if source is None:
            raise bad_request("SMS.2216", "Failed to create the migration task because the specified source server "
                                          "does not exist")
        old = lab.store.get("sms_task", source.get("current_task") or "")
        if old is not None:
            raise bad_request("SMS.2009", f"source {source['id']} already has task {old['id']}")
        now = lab.clock()
        target = body["target_server"]
        task = {
            "id": new_id(), "name": body["name"], "type": body["type"], "os_type": body["os_type"], "state": "READY",
            "create_date": _ms(now), "start_date": 0, "finish_date": 0, "priority": int(body.get("priority", 1)),
            "speed_limit": int(body.get("speed_limit") or 0), "migrate_speed": 0.0, "remain_seconds": 0,
            "total_time": 0, "error_json": "", "syncing": bool(body.get("syncing", False)),
            "exist_server": bool(body.get("exist_server", False)),
            "start_target_server": bool(body.get("start_target_server", False)),
            "use_public_ip": bool(body.get("use_public_ip", True)), "migration_ip": body.get("migration_ip", ""),
            "region_name": body["region_name"], "region_id": body["region_id"], "project_name": body["project_name"],
            "project_id": body["project_id"], "vm_template_id": body.get("vm_template_id") or "",
            "need_migration_test": bool(body.get("need_migration_test", False)),
            "is_need_consistency_check": bool(body.get("is_need_consistency_check", False)),
            "source_server": {"id": source["id"]},
            "target_server": {"vm_id": target.get("vm_id", ""), "name": target.get("name", ""),
                              "disks": list(target.get("disks") or [])},
            "sub_tasks": [], "result_list": [], "configurations": [], "speed_limits": [], "pending": None,
        }
        lab.store.put("sms_task", task)
        source.update(current_task=task["id"], migration_cycle="checking", replicatesize=0)
        lab.store.put("sms_source", source)
        if body.get("auto_start"):
            _action(lab, task, "start")
            lab.store.put("sms_task", task)
    return reply({"id": task["id"]})


@routes.get("/v3/tasks", name="sms.list_tasks")
async def list_tasks(request: web.Request) -> web.Response:
    lab = lab_of(request)
    q = request.query
    with lab.store.tx():
        docs = lab.store.list("sms_task", name=q["name"]) if q.get("name") else lab.store.list("sms_task")
        tasks = [t for t in (_settle(lab, d) for d in docs) if t is not None]
        if q.get("source_server_id"):
            tasks = [t for t in tasks if t["source_server"]["id"] == q["source_server_id"]]
        items = [views.task_item(lab, t) for t in tasks]
    for key in ("id", "state"):
        if q.get(key):
            items = [t for t in items if t.get(key) == q[key]]
    offset, limit = int(q.get("offset", 0) or 0), int(q.get("limit", 100) or 100)
    return reply({"count": len(items), "tasks": items[offset: offset + limit]})


@routes.get("/v3/tasks/{task_id}", name="sms.show_task")
async def show_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        return reply(views.task_detail(lab, _task(lab, request.match_info["task_id"])))


_UPDATABLE = ("name", "migration_ip", "use_public_ip", "speed_limit", "project_name", "exist_server", "region_name",
              "region_id", "project_id")


@routes.put("/v3/tasks/{task_id}", name="sms.update_task")
async def update_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    if "name" in body and not NAME_LENGTH[0] <= len(body["name"] or "") <= NAME_LENGTH[1]:
        raise bad_request("SMS.2009", f"name must be {NAME_LENGTH[0]}-{NAME_LENGTH[1]} characters")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        if task["state"] in ACTIVE:
            raise _refused("SMS.1038", f"task {task['id']} is {task['state']}: stop it before changing it")
        task.update({k: body[k] for k in _UPDATABLE if k in body})
        lab.store.put("sms_task", task)
    return reply({})


@routes.delete("/v3/tasks/{task_id}", name="sms.delete_task")
async def delete_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        if task["state"] in ACTIVE:
            raise _refused("SMS.2015", f"task {task['id']} is {task['state']}: The in-progress or stopping tasks "
                                       "cannot be deleted")
        if task["state"] != "DELETING":
            source = lab.store.get("sms_source", task["source_server"]["id"]) or {}
            before = source.get("state") or "waiting"
            task["state"] = "DELETING"
            _set_source(lab, task, state="deleting")
            lab.store.put("sms_task", task)
            _later(lab, task, "DELETED", source_state=before)
    sms_agent.revoke_transfer_key(request, task)  # the task's transfer key leaves its target (lab/sms_agent)
    return reply({})


@routes.post("/v3/tasks/{task_id}/action", name="sms.update_task_status")
async def task_action(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    if not body.get("operation"):
        raise bad_request("SMS.2009", "operation is required")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        if task["state"] == "DELETING":
            raise _refused("SMS.2015", f"task {task['id']} is being deleted")
        _action(lab, task, body["operation"], body)
        lab.store.put("sms_task", task)
    if body["operation"] == "clone_test":  # the clone's lab host: a copy of the target's (mgc_iac.lab.host_requests)
        await asyncio.to_thread(host_request, lab, "clone", task["target_server"]["name"],
                                task["clone_server"]["name"])
    return reply({})


@routes.put("/v3/tasks/{task_id}/progress", name="sms.update_task_speed")
async def report_progress(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    name, progress = body.get("subtask_name"), body.get("progress")
    if not isinstance(name, str) or not isinstance(progress, int) or not 0 <= progress <= 100:
        raise bad_request("SMS.2009", "subtask_name and progress (0-100) are required")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        if task["state"] not in ("RUNNING", "SYNCING"):
            raise _refused("SMS.1038", f"task {task['id']} is {task['state']}: no copy is running")
        speed = float(body.get("migrate_speed") or 0.0)
        _subtask(task, name, progress, _ms(lab.clock()), speed)
        task["migrate_speed"] = speed
        source = lab.store.get("sms_source", task["source_server"]["id"])
        if source is not None:
            for key in ("replicatesize", "totalsize"):
                if body.get(key) is not None:
                    source[key] = int(body[key])
            lab.store.put("sms_source", source)
            left = max(source["totalsize"] - source["replicatesize"], 0)
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
        raise bad_request("SMS.2009", "speed_limit must be a list")
    for rule in limits:
        if not isinstance(rule, dict) or not 0 <= int(rule.get("speed", -1)) <= 1000:
            raise bad_request("SMS.2009", "each speed_limit needs start, end and speed (0-1000 Mbit/s)")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        task["speed_limits"] = limits
        lab.store.put("sms_task", task)
    return reply({})


@routes.get("/v3/tasks/{task_id}/speed-limit", name="sms.shows_speed_limits")
async def show_speed_limit(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
    return reply({"speed_limit": task["speed_limits"]})


@routes.get("/v3/tasks/{task_id}/consistency-result", name="sms.show_consistency_result")
async def show_consistency(request: web.Request) -> web.Response:
    lab = lab_of(request)
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
    return reply(views.consistency(task))


_COUNTS = ("num_total_files", "num_different_files", "num_target_miss_files", "num_target_more_files")


@routes.post("/v3/tasks/{task_id}/consistency-result", name="sms.update_consistency_result")
async def post_consistency(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    results = body.get("consistency_result")
    if not isinstance(results, list) or not all(isinstance(r, dict) and r.get("dir_check") for r in results):
        raise bad_request("SMS.2009", "consistency_result must be a list of {dir_check, num_* counts}")
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
        rows = [{"dir_check": r["dir_check"], **{k: int(r[k]) for k in _COUNTS if r.get(k) is not None}}
                for r in results]
        # one verification run per post, in the documented result_list shape (mgc_iac.cloud._sdk_gaps)
        task["result_list"] = [*task["result_list"][-9:], {"finished_time": _ms(lab.clock()),
                                                           "check_result": "success", "consistency_result": rows}]
        lab.store.put("sms_task", task)
    return reply({})


@routes.post("/v3/tasks/{task_id}/configuration-setting", name="sms.upload_special_configuration_setting")
async def set_configuration(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    configs = body.get("configurations")
    if not isinstance(configs, list) or not all(isinstance(c, dict) and c.get("config_key") for c in configs):
        raise bad_request("SMS.2009", "configurations must be a list of {config_key, config_value}")
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
    lab = lab_of(request)
    with lab.store.tx():
        task = _task(lab, request.match_info["task_id"])
    return reply({"task_id": task["id"], "migrate_type": task["type"], "configurations": task["configurations"]})
