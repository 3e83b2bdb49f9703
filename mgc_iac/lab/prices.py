"""The lab's price list and Huawei's rating of one pay-per-use inquiry over it (no HTTP here: the BSS route
serves it, and an offline plan of a lab stack reads the same list from the stack's lab-seed.yaml).

Rules, from "Querying the Price of a Pay-Per-Use Product" (POST /v2/bills/ratings/on-demand-resources,
support.huaweicloud.com/intl/en-us/api-oce/bcloud_01001.html) and the SDK's DemandProductInfo docstrings
(huaweicloudsdkbss 3.1.219):
- project_id and 1 to 100 product_infos are required; each product needs id (unique in the inquiry),
  cloud_service_type, resource_type, resource_spec, region, usage_factor, usage_value, usage_measure_id and
  subscription_num; a linear product (disk, bandwidth) also resource_size and size_measure_id (17 GB, 15 Mbit/s);
- a product is found by service type, resource type, region and spec, or the inquiry fails ("Ensure that you
  provide the correct service type, region, resource type, and resource specification");
- usage_factor is case-insensitive ("Duration" for ECS, EVS and bandwidth);
- the amount is the price of usage_value x subscription_num, cut to 6 decimals (inquiry_precision 0) or 10 (1).

The seed's `cloud.prices`:

    prices:
      currency: CNY                    # the answer's currency (empty means CNY in Huawei's answer)
      vm: {s6.large.2.linux: 0.46}     # resource_spec -> price per hour
      volume: {SSD: 0.0014}            # resource_spec -> price per GB per hour
      bandwidth:                       # resource_spec -> price per Mbit/s per hour, by tier (EIP tiered pricing)
        19_bgp: [{up_to_mbps: 5, per_mbps: 0.063}, {per_mbps: 0.25}]
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

# resource_type -> (its cloud_service_type, the price-list section, size_measure_id of a linear product)
RESOURCES: dict[str, tuple[str, str, int | None]] = {
    "hws.resource.type.vm": ("hws.service.type.ec2", "vm", None),
    "hws.resource.type.volume": ("hws.service.type.ebs", "volume", 17),
    "hws.resource.type.bandwidth": ("hws.service.type.vpc", "bandwidth", 15),
}
REQUIRED = ("id", "cloud_service_type", "resource_type", "resource_spec", "region", "usage_factor", "usage_value",
            "usage_measure_id", "subscription_num")
HOUR = 4
MAX_PRODUCTS = 100


class PriceError(Exception):
    """An inquiry BSS refuses: answered 400 with `code` (CBC.0100 a bad parameter, CBC.6006 no such product)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def rate_inquiry(prices: Mapping[str, Any], region: str, project_id: str, body: Mapping[str, Any]
                 ) -> dict[str, Any]:
    """The ListOnDemandResourceRatingsResponse body for a RateOnDemandReq body, or PriceError."""
    if not body.get("project_id"):
        raise PriceError("CBC.0100", "project_id: must not be null")
    if body["project_id"] != project_id:
        raise PriceError("CBC.0100", f"project_id {body['project_id']} is not a project of this account")
    infos = body.get("product_infos")
    if not isinstance(infos, list) or not infos:
        raise PriceError("CBC.0100", "product_infos: must not be empty")
    if len(infos) > MAX_PRODUCTS:
        raise PriceError("CBC.0100", f"product_infos: at most {MAX_PRODUCTS} products per inquiry")
    ids = [str(i.get("id")) for i in infos if isinstance(i, dict)]
    if len(set(ids)) != len(infos):
        raise PriceError("CBC.0100", "product_infos: every product needs an id unique in the inquiry")
    digits = 10 if body.get("inquiry_precision") == 1 else 6
    results = []
    for info in infos:
        amount = _cut(rate_product(prices, region, info), digits)
        results.append({"id": str(info["id"]), "product_id": product_id(info), "amount": float(amount),
                        "discount_amount": 0, "official_website_amount": float(amount), "measure_id": 1,
                        "discount_rating_results": []})
    total = _cut(sum((Decimal(str(r["amount"])) for r in results), Decimal(0)), digits)
    return {"amount": float(total), "discount_amount": 0, "official_website_amount": float(total), "measure_id": 1,
            "currency": str(prices.get("currency") or "CNY"), "product_rating_results": results}


def rate_product(prices: Mapping[str, Any], region: str, info: Any) -> Decimal:
    """The price of one DemandProductInfo (a dict): its hourly price x usage_value x subscription_num."""
    if not isinstance(info, dict):
        raise PriceError("CBC.0100", "product_infos: each product is an object")
    for key in REQUIRED:
        if info.get(key) in (None, ""):
            raise PriceError("CBC.0100", f"{key}: must not be null")
    resource = RESOURCES.get(str(info["resource_type"]))
    spec = str(info["resource_spec"])
    if resource is None or resource[0] != info["cloud_service_type"] or info["region"] != region:
        raise PriceError("CBC.6006", f"Can not find product {spec}")
    _, section, size_measure = resource
    if str(info["usage_factor"]).lower() != "duration":
        raise PriceError("CBC.6006", f"Can not find product {spec} for usage factor {info['usage_factor']}")
    if info["usage_measure_id"] != HOUR:
        raise PriceError("CBC.0100", f"usage_measure_id {info['usage_measure_id']}: the lab rates hours (4) only")
    hours = _number(info["usage_value"], "usage_value")
    count = _number(info["subscription_num"], "subscription_num")
    listed = (prices.get(section) or {}).get(spec)
    if listed is None:
        raise PriceError("CBC.6006", f"Can not find product {spec}")
    if size_measure is None:
        return Decimal(str(listed)) * hours * count
    for key in ("resource_size", "size_measure_id"):
        if info.get(key) is None:
            raise PriceError("CBC.0100", f"{key}: must not be null for a linear product")
    if info["size_measure_id"] != size_measure:
        raise PriceError("CBC.0100", f"size_measure_id {info['size_measure_id']}: {spec} is sized in "
                         f"{'GB (17)' if size_measure == 17 else 'Mbit/s (15)'}")
    size = _number(info["resource_size"], "resource_size")
    hourly = _tiered(listed, size) if section == "bandwidth" else Decimal(str(listed)) * size
    return hourly * hours * count


def product_id(info: Mapping[str, Any]) -> str:
    """A stable id of the priced product (Huawei answers its catalogue id, e.g. OFFI638209145087582211)."""
    key = "/".join(str(info.get(k)) for k in ("cloud_service_type", "resource_type", "region", "resource_spec"))
    return "OFFI" + str(int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)).zfill(18)[:18]


def _tiered(tiers: Any, size: Decimal) -> Decimal:
    """Price per hour of `size` Mbit/s under tiered pricing: each tier's per-Mbit/s price up to its bound."""
    if not isinstance(tiers, list):
        return Decimal(str(tiers)) * size
    total, below = Decimal(0), Decimal(0)
    for tier in tiers:
        bound = tier.get("up_to_mbps")
        top = size if bound is None else min(size, Decimal(str(bound)))
        if top > below:
            total += (top - below) * Decimal(str(tier["per_mbps"]))
            below = top
    return total


def _number(value: Any, key: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PriceError("CBC.0100", f"{key}: not a number") from None
    if isinstance(value, bool) or number <= 0:
        raise PriceError("CBC.0100", f"{key}: must be greater than 0")
    return number


def _cut(amount: Decimal, digits: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)
