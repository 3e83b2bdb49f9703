"""EVS v2 in the lab: show or list volumes (created with their ECS server), with their encryption metadata."""

from __future__ import annotations

from aiohttp import web

from mgc_iac.lab.context import check_project, lab_of, not_found, reply

routes = web.RouteTableDef()


# registered before show_volume, whose {volume_id} would otherwise match "detail"
@routes.get("/v2/{project_id}/cloudvolumes/detail", name="evs.list_volumes")
async def list_volumes(request: web.Request) -> web.Response:
    """ListVolumes: {count, volumes: [VolumeDetail]}, filtered by name and status, paged by offset and limit
    (EVS API reference, "Querying Details About All EVS Disks")."""
    check_project(request)
    q = request.query
    volumes = lab_of(request).store.list("evs_volume")
    if q.get("name"):
        volumes = [v for v in volumes if q["name"] in v.get("name", "")]
    if q.get("status"):
        volumes = [v for v in volumes if v.get("status") == q["status"]]
    offset, limit = int(q.get("offset", 0) or 0), int(q.get("limit", 1000) or 1000)
    return reply({"count": len(volumes), "volumes": volumes[offset:offset + limit]})


@routes.get("/v2/{project_id}/cloudvolumes/{volume_id}", name="evs.show_volume")
async def show_volume(request: web.Request) -> web.Response:
    check_project(request)
    volume = lab_of(request).store.get("evs_volume", request.match_info["volume_id"])
    if volume is None:
        raise not_found("EVS.0024", f"volume {request.match_info['volume_id']}")
    return reply({"volume": volume})
