"""SMS v3 in the lab: source servers (registered by the agent) and migration tasks, as routes.

The routes that share a shape are rows of two tables: TASK_ROUTES (find the task, optionally check the body,
change the task, answer a view of it) and SOURCE_ROUTES (the same for a source). What the operations do and
when SMS refuses them lives in sms_machine (state machine, DeleteTask's rule, injected failures) and
sms_create (what CreateTask refuses); the answers are built in sms_views, each in its SDK response model's
shape. Error codes are Huawei's published SMS error-code table
(https://support.huaweicloud.com/en-us/api-sms/sms_api_0047.html); codes the table does not name are in
mgc_iac/lab/parity_allowlist.py with their reasons.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mgc_iac.lab import sms_agent
from mgc_iac.lab.context import LabContext, bad_request, body_json, lab_of, new_id, not_found, reply
from mgc_iac.lab.host_requests import host_request
from mgc_iac.lab.services import sms_create, sms_machine
from mgc_iac.lab.services import sms_views as views
from mgc_iac.lab.services.sms_machine import ACTIVE, ms, refused, settle

routes = web.RouteTableDef()

PAGE_LIMIT = 200   # ListServers: limit 0-200, 0 = the default 200 (SDK ListServersRequest); ListTasks: up to 200


def _page(query: Any, default: int) -> tuple[int, int]:
    """offset and limit of a list call; a page larger than Huawei's is refused, as the API's bounds are."""
    try:
        offset, limit = int(query.get("offset", 0) or 0), int(query.get("limit", 0) or 0)
    except ValueError:
        raise bad_request("SMS.2009", "offset and limit are integers") from None
    if offset < 0 or not 0 <= limit <= PAGE_LIMIT:
        raise bad_request("SMS.2009", f"limit is 0-{PAGE_LIMIT} and offset >= 0 (got limit {limit}, offset {offset})")
    return offset, limit or default

Body = dict[str, Any]
Doc = dict[str, Any]


# ---- lookups -----------------------------------------------------------------------------------------------------

def find_task(lab: LabContext, task_id: str) -> Doc:
    task = lab.store.get("sms_task", task_id)
    task = settle(lab, task) if task is not None else None
    if task is None:
        raise not_found("SMS.2252", f"migration task {task_id}")    # allowlisted: see parity_allowlist.py
    return task


def find_source(lab: LabContext, source_id: str) -> Doc:
    source = lab.store.get("sms_source", source_id)
    if source is None:
        raise not_found("SMS.2216", f"source server {source_id}")   # allowlisted: see parity_allowlist.py
    return settled_source(lab, source)


def settled_source(lab: LabContext, source: Doc) -> Doc:
    """A source, after its task's pending transition (if any) has been given its chance to finish."""
    task = lab.store.get("sms_task", source.get("current_task") or "") if source.get("current_task") else None
    if task is not None and task.get("pending"):
        settle(lab, task)
        return lab.store.get("sms_source", source["id"]) or source
    return source


# ---- the two tables ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    """One route of a table: `check(body)` before anything, `change(lab, doc, body)` in the transaction (the
    document is saved after it; what it returns, if not None, is the reply), `answer(lab, doc)` the reply
    otherwise ({} when None), `after(request, doc, body)` once the transaction committed (may be a coroutine)."""

    method: str
    path: str
    name: str                         # service.sdk_method: the SDK response model the answer is checked against
    answer: Callable[[LabContext, Doc], Any] | None = None
    change: Callable[[LabContext, Doc, Body], Any] | None = None
    check: Callable[[Body], None] | None = None
    after: Callable[[web.Request, Doc, Body], Any] | None = None


def _register(table: tuple[Route, ...], key: str, find: Callable[[LabContext, str], Doc], kind: str) -> None:
    for row in table:
        def handler(row: Route = row) -> Callable[[web.Request], Any]:
            async def handle(request: web.Request) -> web.Response:
                lab = lab_of(request)
                body = await body_json(request) if row.method != "GET" else {}
                if row.check is not None:
                    row.check(body)
                with lab.store.tx():
                    doc = find(lab, request.match_info[key])
                    answer = row.change(lab, doc, body) if row.change is not None else None
                    if row.change is not None and lab.store.get(kind, doc["id"]) is not None:
                        lab.store.put(kind, doc)
                    if answer is None:
                        answer = row.answer(lab, doc) if row.answer is not None else {}
                if row.after is not None:
                    done = row.after(request, doc, body)
                    if inspect.isawaitable(done):
                        await done
                return reply(answer)
            return handle
        routes.route(row.method, row.path, name=row.name)(handler())


# ---- task rows ---------------------------------------------------------------------------------------------------

_UPDATABLE = ("name", "migration_ip", "use_public_ip", "speed_limit", "project_name", "exist_server", "region_name",
              "region_id", "project_id")
_COUNTS = ("num_total_files", "num_different_files", "num_target_miss_files", "num_target_more_files")


def _check_update(body: Body) -> None:
    if "name" in body:
        sms_create.check_name(body["name"])


def _update(lab: LabContext, task: Doc, body: Body) -> None:
    if task["state"] in ACTIVE:
        raise refused("SMS.1038", f"task {task['id']} is {task['state']}: pause it before changing it")
    task.update({k: body[k] for k in _UPDATABLE if k in body})


def _check_action(body: Body) -> None:
    if not body.get("operation"):
        raise bad_request("SMS.2009", "operation is required")


def _check_progress(body: Body) -> None:
    name, progress = body.get("subtask_name"), body.get("progress")
    if not isinstance(name, str) or not isinstance(progress, int) or not 0 <= progress <= 100:
        raise bad_request("SMS.2009", "subtask_name and progress (0-100) are required")


def _progress(lab: LabContext, task: Doc, body: Body) -> None:
    speed = float(body.get("migrate_speed") or 0.0)
    source = sms_machine.source_of(lab, task)
    if source is not None and task["state"] in ("RUNNING", "SYNCING"):
        for key in ("replicatesize", "totalsize"):
            if body.get(key) is not None:
                source[key] = int(body[key])
        lab.store.put("sms_source", source)
        left = max(source["totalsize"] - source["replicatesize"], 0)
        task["remain_seconds"] = int(left * 8 / (speed * 1_000_000)) if speed > 0 else 0
    task["total_time"] = ms(lab.clock()) - task["start_date"] if task["start_date"] else 0
    sms_machine.progress(lab, task, body["subtask_name"], body["progress"], speed)


def _check_speed_limits(body: Body) -> None:
    limits = body.get("speed_limit")
    if not isinstance(limits, list):
        raise bad_request("SMS.2009", "speed_limit must be a list")
    for rule in limits:
        if not isinstance(rule, dict) or not 0 <= int(rule.get("speed", -1)) <= 1000:
            raise bad_request("SMS.2009", "each speed_limit needs start, end and speed (0-1000 Mbit/s)")


def _check_consistency(body: Body) -> None:
    results = body.get("consistency_result")
    if not isinstance(results, list) or not all(isinstance(r, dict) and r.get("dir_check") for r in results):
        raise bad_request("SMS.2009", "consistency_result must be a list of {dir_check, num_* counts}")


def _consistency(lab: LabContext, task: Doc, body: Body) -> None:
    rows = [{"dir_check": r["dir_check"], **{k: int(r[k]) for k in _COUNTS if r.get(k) is not None}}
            for r in body["consistency_result"]]
    # one verification run per post, in the documented result_list shape (mgc_iac.cloud._sdk_gaps)
    task["result_list"] = [*task["result_list"][-9:], {"finished_time": ms(lab.clock()), "check_result": "success",
                                                       "consistency_result": rows}]


def _check_configuration(body: Body) -> None:
    configs = body.get("configurations")
    if not isinstance(configs, list) or not all(isinstance(c, dict) and c.get("config_key") for c in configs):
        raise bad_request("SMS.2009", "configurations must be a list of {config_key, config_value}")


def _configure(lab: LabContext, task: Doc, body: Body) -> None:
    merged = {c["config_key"]: c for c in task["configurations"]}
    merged.update({c["config_key"]: {"config_key": c["config_key"], "config_value": str(c.get("config_value", "")),
                                     "config_status": ""} for c in body["configurations"]})
    task["configurations"] = list(merged.values())


async def _after_action(request: web.Request, task: Doc, body: Body) -> None:
    """A clone's lab host: a copy of the target's (mgc_iac.lab.host_requests), asked once the clone is recorded."""
    if body["operation"] == "clone_test":
        await asyncio.to_thread(host_request, lab_of(request), "clone", task["target_server"]["name"],
                                task["clone_server"]["name"])


T = "/v3/tasks/{task_id}"
TASK_ROUTES: tuple[Route, ...] = (
    Route("GET", T, "sms.show_task", answer=lambda lab, t: views.task_detail(lab, t)),   # looked up per call
    Route("PUT", T, "sms.update_task", check=_check_update, change=_update),
    Route("DELETE", T, "sms.delete_task", change=lambda lab, t, _b: sms_machine.delete(lab, t),
          # the task's transfer key leaves its target (lab/sms_agent)
          after=lambda request, t, _b: sms_agent.revoke_transfer_key(request, t)),
    Route("POST", T + "/action", "sms.update_task_status", check=_check_action,
          change=lambda lab, t, b: sms_machine.act(lab, t, b["operation"], b), after=_after_action),
    Route("PUT", T + "/progress", "sms.update_task_speed", check=_check_progress, change=_progress),
    Route("POST", T + "/speed-limit", "sms.update_speed", check=_check_speed_limits,
          change=lambda lab, t, b: t.update(speed_limits=b["speed_limit"])),
    Route("GET", T + "/speed-limit", "sms.shows_speed_limits",
          answer=lambda lab, t: {"speed_limit": t["speed_limits"]}),
    Route("GET", T + "/consistency-result", "sms.show_consistency_result",
          answer=lambda lab, t: views.consistency(t)),
    Route("POST", T + "/consistency-result", "sms.update_consistency_result", check=_check_consistency,
          change=_consistency),
    Route("POST", T + "/configuration-setting", "sms.upload_special_configuration_setting",
          check=_check_configuration, change=_configure),
    Route("GET", T + "/configuration-setting", "sms.show_config_setting",
          answer=lambda lab, t: {"task_id": t["id"], "migrate_type": t["type"], "configurations": t["configurations"]}),
)


# ---- source rows -------------------------------------------------------------------------------------------------

def _rename(lab: LabContext, source: Doc, body: Body) -> None:
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


def _delete_source(lab: LabContext, source: Doc, _body: Body) -> None:
    task = lab.store.get("sms_task", source.get("current_task") or "")
    if task is not None and task["state"] in ACTIVE:
        raise refused("SMS.2015", f"source {source['id']} has an in-progress task {task['id']}")
    lab.store.delete("sms_source", source["id"])


def _next_command(lab: LabContext, source: Doc, _body: Body) -> Doc:
    """Each command is handed out once; every poll is the agent's heartbeat."""
    source["last_seen"] = lab.clock()
    return source["commands"].pop(0) if source["commands"] else {"command_name": "", "command_param": None}


def _check_command_result(body: Body) -> None:
    if not body.get("command_name") or body.get("result") not in ("success", "fail"):
        raise bad_request("SMS.2009", "command_name and result (success|fail) are required")


def _command_result(lab: LabContext, source: Doc, body: Body) -> None:
    source["last_seen"] = lab.clock()
    task = lab.store.get("sms_task", source.get("current_task") or "")
    if task is not None and body["result"] == "fail":
        sms_machine.agent_failed(lab, task, str(body.get("result_detail") or "agent reported a failure"))
        lab.store.put("sms_task", task)
        source.update(lab.store.get("sms_source", source["id"]) or {}, last_seen=lab.clock())


S = "/v3/sources/{source_id}"
SOURCE_ROUTES: tuple[Route, ...] = (
    Route("GET", S, "sms.show_server", answer=lambda lab, s: views.source_detail(lab, s)),
    Route("PUT", S, "sms.update_server_name", change=_rename),
    Route("DELETE", S, "sms.delete_server", change=_delete_source),
    Route("GET", S + "/command", "sms.show_command", change=_next_command),
    Route("POST", S + "/command_result", "sms.update_command_result", check=_check_command_result,
          change=_command_result),
)


# ---- the collections ---------------------------------------------------------------------------------------------

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
                          "add_date": ms(now), "current_task": "", "replicatesize": 0, "totalsize": 0}
        keep = ("name", "ip", "hostname", "os_type", "os_version", "firmware", "cpu_quantity", "memory", "disks",
                "volume_groups", "btrfs_list", "networks", "agent_version")
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
        items = [views.source_item(lab, settled_source(lab, s)) for s in docs]
    for key in ("id", "ip", "state", "migration_cycle"):
        if q.get(key):
            items = [s for s in items if str(s.get(key, "")) == q[key]]
    if q.get("connected"):
        items = [s for s in items if str(s["connected"]).lower() == q["connected"].lower()]
    offset, limit = _page(q, default=200)
    return reply({"count": len(items), "source_servers": items[offset: offset + limit]})


@routes.post("/v3/tasks", name="sms.create_task")
async def create_task(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    sms_create.check_body(lab, body)
    with lab.store.tx():
        source = lab.store.get("sms_source", (body["source_server"] or {}).get("id", ""))
        if source is None:
            raise bad_request("SMS.2216", "Failed to create the migration task because the specified source server "
                                          "does not exist")
        old = lab.store.get("sms_task", source.get("current_task") or "")
        if old is not None:
            raise bad_request("SMS.2009", f"source {source['id']} already has task {old['id']}")
        sms_create.check_disks(lab, body, source)
        now = lab.clock()
        target = body["target_server"]
        task = {
            "id": new_id(), "name": body["name"], "type": body["type"], "os_type": body["os_type"], "state": "READY",
            "create_date": ms(now), "start_date": 0, "finish_date": 0, "priority": int(body.get("priority", 1)),
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
            sms_machine.act(lab, task, "start")
            lab.store.put("sms_task", task)
    return reply({"id": task["id"]})


@routes.get("/v3/tasks", name="sms.list_tasks")
async def list_tasks(request: web.Request) -> web.Response:
    lab = lab_of(request)
    q = request.query
    with lab.store.tx():
        docs = lab.store.list("sms_task", name=q["name"]) if q.get("name") else lab.store.list("sms_task")
        tasks = [t for t in (settle(lab, d) for d in docs) if t is not None]
        if q.get("source_server_id"):
            tasks = [t for t in tasks if t["source_server"]["id"] == q["source_server_id"]]
        items = [views.task_item(lab, t) for t in tasks]
    for key in ("id", "state"):
        if q.get(key):
            items = [t for t in items if t.get(key) == q[key]]
    offset, limit = _page(q, default=100)
    return reply({"count": len(items), "tasks": items[offset: offset + limit]})


_register(TASK_ROUTES, "task_id", find_task, "sms_task")
_register(SOURCE_ROUTES, "source_id", find_source, "sms_source")
