"""EVS v2 in the lab: show a volume (created with its ECS server), with its encryption metadata."""

from __future__ import annotations

from aiohttp import web

from mgc_iac.lab.context import check_project, lab_of, not_found, reply

routes = web.RouteTableDef()


@routes.get("/v2/{project_id}/cloudvolumes/{volume_id}", name="evs.show_volume")
async def show_volume(request: web.Request) -> web.Response:
    check_project(request)
    volume = lab_of(request).store.get("evs_volume", request.match_info["volume_id"])
    if volume is None:
        raise not_found("EVS.0024", f"volume {request.match_info['volume_id']}")
    return reply({"volume": volume})
