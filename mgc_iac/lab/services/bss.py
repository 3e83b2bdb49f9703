"""BSS in the lab: the on-demand price inquiry (ListOnDemandResourceRatings) over the seed's price list.

The rating rules and the price list live in mgc_iac/lab/prices.py; a refused inquiry is answered 400 with
Huawei's CBC code, as BSS answers it.
"""

from __future__ import annotations

from aiohttp import web

from mgc_iac.lab.context import bad_request, body_json, lab_of, reply
from mgc_iac.lab.prices import PriceError, rate_inquiry

routes = web.RouteTableDef()


@routes.post("/v2/bills/ratings/on-demand-resources", name="bss.list_on_demand_resource_ratings")
async def list_on_demand_resource_ratings(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_json(request)
    try:
        return reply(rate_inquiry(lab.seed.prices, lab.region, lab.project_id, body))
    except PriceError as exc:
        raise bad_request(exc.code, str(exc)) from None
