"""ECS v2 in the lab: servers (create with volumes, encryption, EIP or fixed IP, tags), jobs, actions.

Rules from Huawei's documents, each where it applies below:
- os-extended-volumes:volumes_attached: bootIndex "0" is the boot disk, "-1" the others (SDK 3.1.219
  ServerExtendVolumeAttachment.boot_index); the list's order is not documented, and the lab lists the data
  volumes FIRST, so a client pairing disks by list order fails;
- server_tags at create: at most 10; key 1-36 characters without = * < > \\ , | / or ASCII 0-31; value 0-43
  characters without = * < > \\ , | or ASCII 0-31 (SDK PostPaidServerTag docstring; PostPaidServer.server_tags
  "at most 10 tags"); BatchCreateServerTags: "an ECS allows a maximum of 10 tags" (ECS API reference, Adding
  Tags to an ECS in a Batch), key letters, digits, '-', '_' and Chinese characters, value the same and '.'
  (SDK BatchAddServerTag docstring);
- an encrypted volume needs the EVSAccessKMS agency in the project (Terraform provider docs/resources/
  cce_node.md); without it the create is accepted and its job FAILS later (asynchronously); the key must be
  enabled and AES_256, or SM4 in Chinese-mainland regions (KMS key specs: SM4 is offered in cn- regions).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any

from aiohttp import web

from mgc_iac.lab.context import (
    LabContext,
    bad_request,
    body_json,
    check_project,
    conflict,
    lab_of,
    new_id,
    not_found,
    now_iso,
    reply,
)
from mgc_iac.lab.host_requests import host_request

routes = web.RouteTableDef()
P = "/v1/{project_id}"


MAX_TAGS = 10
_CREATE_KEY_FORBIDDEN = re.compile(r"[=*<>\\,|/\x00-\x1f]")
_CREATE_VALUE_FORBIDDEN = re.compile(r"[=*<>\\,|\x00-\x1f]")
_BATCH_KEY = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,36}$")
_BATCH_VALUE = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{0,43}$")


def job_status(lab: LabContext, job: dict[str, Any]) -> str:
    if lab.clock() < job["done_at"]:
        return "RUNNING"
    return "FAIL" if job.get("fail_reason") else "SUCCESS"


def _check_create_tags(tags: list[dict[str, Any]]) -> None:
    """PostPaidServerTag's rules (SDK docstring) and PostPaidServer.server_tags' limit of 10."""
    if len(tags) > MAX_TAGS:
        raise bad_request("Ecs.0005", f"server_tags has {len(tags)} tags: a server takes at most {MAX_TAGS}")
    for tag in tags:
        key, value = str(tag.get("key") or ""), str(tag.get("value") or "")
        if not 1 <= len(key) <= 36 or _CREATE_KEY_FORBIDDEN.search(key):
            raise bad_request("Ecs.0005", f"tag key {key!r}: 1-36 characters, none of = * < > \\ , | / or ASCII 0-31")
        if len(value) > 43 or _CREATE_VALUE_FORBIDDEN.search(value):
            raise bad_request("Ecs.0005", f"tag value {value!r} of {key!r}: at most 43 characters, none of "
                                          "= * < > \\ , | or ASCII 0-31")


def _check_batch_tags(existing: dict[str, str], tags: list[dict[str, Any]]) -> None:
    """BatchAddServerTag's character sets (SDK docstring) and the 10 tags an ECS allows (ECS API reference)."""
    for tag in tags:
        key, value = str(tag.get("key") or ""), str(tag.get("value") or "")
        if not _BATCH_KEY.match(key):
            raise bad_request("Ecs.0005", f"tag key {key!r}: 1-36 letters, digits, '-', '_' (or Chinese characters)")
        if not _BATCH_VALUE.match(value):
            raise bad_request("Ecs.0005", f"tag value {value!r} of {key!r}: at most 43 letters, digits, '.', '-', '_'"
                                          " (or Chinese characters)")
    after = {**existing, **{str(t.get("key")): t for t in tags}}
    if len(after) > MAX_TAGS:
        raise bad_request("Ecs.0005", f"the server would carry {len(after)} tags: an ECS allows at most {MAX_TAGS}")


def server_status(lab: LabContext, server: dict[str, Any]) -> str:
    if server["status"] == "BUILD" and lab.clock() >= server["ready_at"]:
        return "ACTIVE"
    return server["status"]


def _new_job(lab: LabContext, job_type: str, entities: dict[str, Any],
             fail: tuple[str, str] | None = None) -> dict[str, Any]:
    now = lab.clock()
    job = {"id": new_id(), "job_type": job_type, "begin": now, "done_at": now + lab.job_seconds(),
           "entities": entities, "error_code": fail[0] if fail else "", "fail_reason": fail[1] if fail else ""}
    return lab.store.put("ecs_job", job)


def _server_view(lab: LabContext, s: dict[str, Any]) -> dict[str, Any]:
    status = server_status(lab, s)
    return {
        "id": s["id"], "name": s["name"], "status": status, "created": now_iso(s["created"]),
        "flavor": {"id": s["flavor"]}, "image": {"id": s["image"]},
        "addresses": s["addresses"], "metadata": s["metadata"], "tags": [f"{k}={v}" for k, v in s["tags"].items()],
        "security_groups": s["security_groups"], "enterprise_project_id": s["enterprise_project_id"],
        "OS-EXT-AZ:availability_zone": s["availability_zone"],
        "OS-EXT-STS:vm_state": {"ACTIVE": "active", "SHUTOFF": "stopped", "BUILD": "building"}.get(status, "error"),
        # data volumes first: the order is not documented, bootIndex says which one boots
        "os-extended-volumes:volumes_attached": [
            {"id": v, "bootIndex": "0" if n == 0 else "-1", "device": f"/dev/vd{chr(97 + n)}"}
            for n, v in [*list(enumerate(s["volumes"]))[1:], *list(enumerate(s["volumes"]))[:1]]],
    }


def _volume_meta(lab: LabContext, meta: dict[str, Any] | None) -> dict[str, str]:
    """Check the encryption metadata of a root or data volume against the KMS keys."""
    meta = {k: str(v) for k, v in (meta or {}).items()}
    if meta.get("__system__encrypted") == "1":
        key = lab.store.get("kms_key", meta.get("__system__cmkid", ""))
        if key is None:
            raise bad_request("Ecs.0039", f"KMS key {meta.get('__system__cmkid')} does not exist")
        specs = ("AES_256", "SM4") if lab.region.startswith("cn-") else ("AES_256",)
        if key["key_state"] != "2" or key["key_spec"] not in specs:
            raise bad_request("Ecs.0039", f"the KMS key must be enabled and {' or '.join(specs)} to encrypt a volume "
                                          f"in {lab.region}")
    return meta


def kms_agency_granted(lab: LabContext) -> bool:
    """EVS may use KMS in this project: the EVSAccessKMS agency exists with a role here (or in every project)."""
    agency = next((a for a in lab.store.list("iam_agency") if a["name"] == "EVSAccessKMS"), None)
    return agency is not None and bool(agency["roles"]) and (agency["inherited"]
                                                              or lab.project_id in agency["projects"])


def _pick_ip(lab: LabContext, subnet: dict[str, Any], wanted: str | None, server_id: str) -> str:
    """Reserve a private IP of the subnet (kind "ip", id subnet/addr) for the server."""
    net = ipaddress.ip_network(subnet["cidr"])

    def taken(addr: str) -> bool:
        return addr == subnet["gateway_ip"] or lab.store.get("ip", f"{subnet['id']}/{addr}") is not None

    if wanted:
        if ipaddress.ip_address(wanted) not in net:
            raise bad_request("Ecs.0005", f"ip_address {wanted} is not inside subnet {subnet['cidr']}")
        if taken(wanted):
            raise conflict("Ecs.0213", f"ip_address {wanted} is already in use")
        addr = wanted
    else:
        hosts = (str(h) for n, h in enumerate(net.hosts()) if n >= 9)   # the low addresses stay for statics
        addr = next((h for h in hosts if not taken(h)), "")
        if not addr:
            raise conflict("Ecs.0213", "no free IP address left in the subnet")
    lab.store.put("ip", {"id": f"{subnet['id']}/{addr}", "server_id": server_id})
    return addr


def _create(lab: LabContext, body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("server")
    if not isinstance(spec, dict) or not spec.get("name"):
        raise bad_request("Ecs.0005", "body.server.name is required")
    for field_ in ("imageRef", "flavorRef", "vpcid", "nics", "root_volume"):
        if not spec.get(field_):
            raise bad_request("Ecs.0005", f"body.server.{field_} is required")
    if lab.store.get("flavor", spec["flavorRef"]) is None:
        raise bad_request("Ecs.0023", f"flavor {spec['flavorRef']} does not exist")
    if lab.store.get("image", spec["imageRef"]) is None:
        raise bad_request("Ecs.0020", f"image {spec['imageRef']} does not exist")
    if lab.store.get("vpc", spec["vpcid"]) is None:
        raise bad_request("Ecs.0005", f"vpc {spec['vpcid']} does not exist")
    groups = []
    for g in spec.get("security_groups") or []:
        group = lab.store.get("security_group", g.get("id", ""))
        if group is None:
            raise bad_request("Ecs.0005", f"security group {g.get('id')} does not exist")
        groups.append({"id": group["id"], "name": group["name"]})
    volumes = [("root", spec["root_volume"])] + [("data", v) for v in spec.get("data_volumes") or []]
    metas = [_volume_meta(lab, v.get("metadata")) for _, v in volumes]
    _check_create_tags(list(spec.get("server_tags") or []))
    if any(m.get("__system__encrypted") == "1" for m in metas) and not kms_agency_granted(lab):
        # accepted now, failed later: ECS creates encrypted volumes through EVS, which needs the agency
        job = _new_job(lab, "createServer", {}, fail=("Ecs.0039", "EVS cannot use KMS in this project: the "
                                                      "EVSAccessKMS agency is missing (create it in IAM, or encrypt "
                                                      "one disk in the EVS console, which offers to create it)"))
        return {"job_id": job["id"], "serverIds": []}
    now = lab.clock()
    server_id = new_id()
    addresses: dict[str, list[dict[str, Any]]] = {spec["vpcid"]: []}
    for n, nic in enumerate(spec["nics"]):
        subnet = lab.store.get("subnet", nic.get("subnet_id", ""))
        if subnet is None or subnet["vpc_id"] != spec["vpcid"]:
            raise bad_request("Ecs.0005", f"subnet {nic.get('subnet_id')} is not in vpc {spec['vpcid']}")
        addresses[spec["vpcid"]].append({
            "addr": _pick_ip(lab, subnet, nic.get("ip_address"), server_id), "version": "4", "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": f"fa:16:3e:{server_id[0:2]}:{server_id[2:4]}:{n:02x}"})
    if spec.get("publicip"):
        octets = bytes.fromhex(server_id[4:8])
        addresses[spec["vpcid"]].append({"addr": f"100.85.{octets[0]}.{octets[1]}", "version": "4",
                                         "OS-EXT-IPS:type": "floating"})
    volume_ids = []
    for n, ((role, vol), meta) in enumerate(zip(volumes, metas, strict=True)):
        volume_id = new_id()
        volume_ids.append(volume_id)
        lab.store.put("evs_volume", {
            "id": volume_id, "name": f"{spec['name']}-{role}-{n}", "size": int(vol.get("size") or 40),
            "volume_type": vol.get("volumetype", "SSD"), "bootable": str(role == "root").lower(),
            "encrypted": meta.get("__system__encrypted") == "1", "metadata": meta, "status": "in-use",
            "availability_zone": spec.get("availability_zone") or lab.seed.availability_zone,
            "attachments": [{"server_id": server_id, "device": f"/dev/vd{chr(97 + n)}", "attachment_id": volume_id}],
        })
    extend = spec.get("extendparam") or {}
    server = {
        "id": server_id, "name": spec["name"], "status": "BUILD", "created": now,
        "subnets": [n["subnet_id"] for n in spec["nics"]], "ready_at": now + lab.job_seconds(),
        "flavor": spec["flavorRef"], "image": spec["imageRef"], "vpc_id": spec["vpcid"], "addresses": addresses,
        "metadata": spec.get("metadata") or {}, "security_groups": groups, "volumes": volume_ids,
        "tags": {t["key"]: t.get("value", "") for t in spec.get("server_tags") or []},
        "enterprise_project_id": extend.get("enterprise_project_id", "0"),
        "availability_zone": spec.get("availability_zone") or lab.seed.availability_zone,
    }
    lab.store.put("ecs_server", server)
    job = _new_job(lab, "createServer", {"server_id": server_id})
    return {"job_id": job["id"], "serverIds": [server_id]}


def clone_server(lab: LabContext, target: dict[str, Any], name: str) -> dict[str, Any]:
    """What SMS's clone_test leaves in ECS: a server of its own built from snapshots of the target's disks
    (same flavor, image, VPC, subnet and security groups; a new private IP; no EIP), BUILD until the ECS job
    time passed. Called by the lab's SMS service (mgc_iac/engine/runners/test_launch.py cites the sources)."""
    now = lab.clock()
    server_id = new_id()
    addresses: dict[str, list[dict[str, Any]]] = {target["vpc_id"]: []}
    for n, subnet_id in enumerate(target.get("subnets") or []):
        subnet = lab.store.get("subnet", subnet_id)
        if subnet is None:
            continue
        addresses[target["vpc_id"]].append({
            "addr": _pick_ip(lab, subnet, None, server_id), "version": "4", "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": f"fa:16:3e:{server_id[0:2]}:{server_id[2:4]}:{n:02x}"})
    volume_ids = []
    for n, volume_id in enumerate(target.get("volumes") or []):
        original = lab.store.get("evs_volume", volume_id) or {}
        copy_id = new_id()
        volume_ids.append(copy_id)
        lab.store.put("evs_volume", {**original, "id": copy_id, "name": f"{name}-{n}", "status": "in-use",
                                     "attachments": [{"server_id": server_id, "device": f"/dev/vd{chr(97 + n)}",
                                                      "attachment_id": copy_id}]})
    server = {**{k: v for k, v in target.items() if k not in ("tags",)}, "id": server_id, "name": name,
              "status": "BUILD", "created": now, "ready_at": now + lab.job_seconds(), "addresses": addresses,
              "volumes": volume_ids, "tags": {}, "metadata": {**(target.get("metadata") or {}),
                                                              "sms_clone_of": target["id"]}}
    lab.store.put("ecs_server", server)
    return server


@routes.post(P + "/cloudservers", name="ecs.create_post_paid_servers")
@routes.post("/v1.1/{project_id}/cloudservers", name="ecs.create_servers")
async def create_servers(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    body = await body_json(request)
    token = request.headers.get("X-Client-Token")
    with lab.store.tx():
        if token:
            seen = lab.store.token("ecs.create", token)
            if seen is not None:
                return reply(seen)
        if body.get("dry_run"):
            return reply({}, status=202)
        result = _create(lab, body)
        if token:
            lab.store.put_token("ecs.create", token, result)
    return reply(result)


@routes.get(P + "/jobs/{job_id}", name="ecs.show_job")
async def show_job(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    job = lab.store.get("ecs_job", request.match_info["job_id"])
    if job is None:
        raise not_found("Ecs.0114", f"job {request.match_info['job_id']}")
    status = job_status(lab, job)
    ents = job["entities"]
    sub = [{"status": status, "job_type": job["job_type"], "entities": {"server_id": ents.get("server_id")}}]
    return reply({"job_id": job["id"], "job_type": job["job_type"], "status": status,
                  "begin_time": now_iso(job["begin"]),
                  "end_time": now_iso(job["done_at"]) if status == "SUCCESS" else "",
                  "entities": {**ents, "sub_jobs_total": 1, "sub_jobs": sub},
                  "error_code": job.get("error_code", "") if status == "FAIL" else "",
                  "fail_reason": job.get("fail_reason", "") if status == "FAIL" else ""})


def _server(lab: LabContext, server_id: str) -> dict[str, Any]:
    server = lab.store.get("ecs_server", server_id)
    if server is None:
        raise not_found("Ecs.0114", f"server {server_id}")
    return server


@routes.get(P + "/cloudservers/detail", name="ecs.list_servers_details")
async def list_servers(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    q = request.query
    # ECS matches names loosely (a substring here); callers wanting one name filter exactly
    docs = lab.store.search("ecs_server", q["name"]) if q.get("name") else lab.store.list("ecs_server")
    servers = [_server_view(lab, s) for s in docs]
    if q.get("status"):
        servers = [s for s in servers if s["status"] == q["status"]]
    if q.get("tags"):
        wanted = [t for t in q["tags"].split(",") if t]
        servers = [s for s in servers if all(t in s["tags"] for t in wanted)]
    if q.get("ip"):
        servers = [s for s in servers if any(a["addr"] == q["ip"] for v in s["addresses"].values() for a in v)]
    total = len(servers)
    offset, limit = int(q.get("offset", 1) or 1), int(q.get("limit", 25) or 25)
    page = servers[(offset - 1) * limit: offset * limit]
    return reply({"count": total, "servers": page})


@routes.get(P + "/cloudservers/{server_id}", name="ecs.show_server")
async def show_server(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    return reply({"server": _server_view(lab, _server(lab, request.match_info["server_id"]))})


@routes.post(P + "/cloudservers/action", name="ecs.server_action")
async def server_action(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    body = await body_json(request)
    op = next((k for k in ("os-start", "os-stop") if k in body), None)
    if op is None:
        raise bad_request("Ecs.0005", "body must hold os-start or os-stop")
    ids = [s.get("id", "") for s in (body[op] or {}).get("servers", [])]
    if not ids:
        raise bad_request("Ecs.0005", f"{op}.servers is empty")
    with lab.store.tx():
        for server_id in ids:
            server = _server(lab, server_id)
            status = server_status(lab, server)
            if status not in ("ACTIVE", "SHUTOFF"):
                raise conflict("Ecs.0103", f"server {server_id} is {status}: it cannot be started or stopped")
            server["status"] = "ACTIVE" if op == "os-start" else "SHUTOFF"
            lab.store.put("ecs_server", server)
        job = _new_job(lab, "startServer" if op == "os-start" else "stopServer", {})
    return reply({"job_id": job["id"]})


@routes.post(P + "/cloudservers/{server_id}/tags/action", name="ecs.batch_create_server_tags")
async def tags_action(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    body = await body_json(request)
    if body.get("action") not in ("create", "delete") or not isinstance(body.get("tags"), list):
        raise bad_request("Ecs.0005", "body needs action create|delete and a tags list")
    with lab.store.tx():
        server = _server(lab, request.match_info["server_id"])
        if body["action"] == "create":
            _check_batch_tags(server["tags"], body["tags"])
        for tag in body["tags"]:
            if body["action"] == "create":
                server["tags"][tag["key"]] = tag.get("value", "")
            else:
                server["tags"].pop(tag["key"], None)
        lab.store.put("ecs_server", server)
    return web.Response(status=204)


@routes.post(P + "/cloudservers/delete", name="ecs.delete_servers")
async def delete_servers(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    body = await body_json(request)
    ids = [s.get("id", "") for s in body.get("servers") or []]
    if not ids:
        raise bad_request("Ecs.0005", "servers is empty")
    clones = []
    with lab.store.tx():
        for server_id in ids:
            server = _server(lab, server_id)
            if (server.get("metadata") or {}).get("sms_clone_of"):
                clones.append(server["name"])
            for volume_id in server["volumes"]:
                if body.get("delete_volume"):
                    lab.store.delete("evs_volume", volume_id)
                elif (vol := lab.store.get("evs_volume", volume_id)) is not None:
                    vol.update(status="available", attachments=[])
                    lab.store.put("evs_volume", vol)
            for subnet_id in server.get("subnets", []):
                for addrs in server["addresses"].values():
                    for a in addrs:
                        lab.store.delete("ip", f"{subnet_id}/{a['addr']}")
            lab.store.delete("ecs_server", server_id)
        job = _new_job(lab, "deleteServer", {})
    for name in clones:  # a clone's lab host goes with its server (mgc_iac.lab.host_requests)
        await asyncio.to_thread(host_request, lab, "remove", name)
    return reply({"job_id": job["id"]})



# ResizeServer (huaweicloudsdkecs ResizeServerRequestBody{resize: ResizePrePaidServerOption, dry_run}): the
# ECS API reference "Modifying the Specifications of an ECS": flavorRef required; mode withStopServer lets a
# running server be stopped, resized and started again; otherwise it must be stopped first.
@routes.post("/v1.1/{project_id}/cloudservers/{server_id}/resize", name="ecs.resize_server")
async def resize_server(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    body = await body_json(request)
    option = body.get("resize")
    if not isinstance(option, dict) or not option.get("flavorRef"):
        raise bad_request("Ecs.0005", "resize.flavorRef is required")
    with lab.store.tx():
        server = _server(lab, request.match_info["server_id"])
        if lab.store.get("flavor", option["flavorRef"]) is None:
            raise bad_request("Ecs.0023", f"flavor {option['flavorRef']} does not exist")
        status = server_status(lab, server)
        if status not in ("ACTIVE", "SHUTOFF") or (status == "ACTIVE" and option.get("mode") != "withStopServer"):
            raise conflict("Ecs.0103", f"server {server['id']} is {status}: stop it first or resize with mode "
                           "withStopServer")
        if body.get("dry_run"):
            return reply({}, status=202)
        server["flavor"] = option["flavorRef"]
        lab.store.put("ecs_server", server)
        job = _new_job(lab, "resizeServer", {"server_id": server["id"]})
    return reply({"job_id": job["id"]})
