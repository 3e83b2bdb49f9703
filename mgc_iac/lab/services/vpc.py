"""VPC in the lab: v2 (vpcs, subnets) and v3 (vpcs, security groups, rules) with the real list filters."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mgc_iac.lab.context import check_project, lab_of, not_found, reply

routes = web.RouteTableDef()


def _one(request: web.Request, kind: str, key: str, code: str) -> dict[str, Any]:
    check_project(request)
    doc = lab_of(request).store.get(kind, request.match_info[key])
    if doc is None:
        raise not_found(code, f"{kind} {request.match_info[key]}")
    return doc


def _filtered(request: web.Request, kind: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """List a kind, keeping documents equal to every given filter; repeated keys mean any of them."""
    check_project(request)
    docs = lab_of(request).store.list(kind)
    for name in fields:
        wanted = request.query.getall(name, [])
        if wanted:
            docs = [d for d in docs if str(d.get(name)) in wanted]
    return docs


@routes.get("/v1/{project_id}/vpcs", name="vpc.list_vpcs_v2")
async def list_vpcs_v2(request: web.Request) -> web.Response:
    return reply({"vpcs": _filtered(request, "vpc", ("id",))})


@routes.get("/v1/{project_id}/vpcs/{vpc_id}", name="vpc.show_vpc_v2")
async def show_vpc_v2(request: web.Request) -> web.Response:
    return reply({"vpc": _one(request, "vpc", "vpc_id", "VPC.0202")})


@routes.get("/v1/{project_id}/subnets", name="vpc.list_subnets")
async def list_subnets(request: web.Request) -> web.Response:
    return reply({"subnets": _filtered(request, "subnet", ("vpc_id",))})


@routes.get("/v1/{project_id}/subnets/{subnet_id}", name="vpc.show_subnet")
async def show_subnet(request: web.Request) -> web.Response:
    return reply({"subnet": _one(request, "subnet", "subnet_id", "VPC.0003")})


@routes.get("/v3/{project_id}/vpc/vpcs", name="vpc.list_vpcs")
async def list_vpcs_v3(request: web.Request) -> web.Response:
    vpcs = [{**v, "extend_cidrs": []} for v in _filtered(request, "vpc", ("id", "name", "cidr"))]  # v3 Vpc
    return reply({"request_id": "", "vpcs": vpcs, "page_info": {"current_count": len(vpcs)}})


@routes.get("/v3/{project_id}/vpc/vpcs/{vpc_id}", name="vpc.show_vpc")
async def show_vpc_v3(request: web.Request) -> web.Response:
    return reply({"vpc": _one(request, "vpc", "vpc_id", "VPC.0202")})


@routes.get("/v3/{project_id}/vpc/security-groups", name="vpc.list_security_groups")
async def list_groups(request: web.Request) -> web.Response:
    groups = _filtered(request, "security_group", ("id", "name"))
    return reply({"request_id": "", "security_groups": groups, "page_info": {"current_count": len(groups)}})


@routes.get("/v3/{project_id}/vpc/security-groups/{security_group_id}", name="vpc.show_security_group")
async def show_group(request: web.Request) -> web.Response:
    group = _one(request, "security_group", "security_group_id", "VPC.0601")
    rules = lab_of(request).store.list("security_group_rule", security_group_id=group["id"])
    return reply({"security_group": {**group, "security_group_rules": rules}})


@routes.get("/v3/{project_id}/vpc/security-group-rules", name="vpc.list_security_group_rules")
async def list_rules(request: web.Request) -> web.Response:
    rules = _filtered(request, "security_group_rule",
                      ("id", "security_group_id", "protocol", "direction", "action", "priority"))
    return reply({"request_id": "", "security_group_rules": rules, "page_info": {"current_count": len(rules)}})
