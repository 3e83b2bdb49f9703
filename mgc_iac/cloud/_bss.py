"""BSS: the on-demand price of ECS flavors, EVS disks and EIP bandwidth (ListOnDemandResourceRatings).

Huawei's price inquiry for pay-per-use products (POST /v2/bills/ratings/on-demand-resources, "Querying the Price
of a Pay-Per-Use Product", support.huaweicloud.com/intl/en-us/api-oce/bcloud_01001.html; the SDK's
RateOnDemandReq / DemandProductInfo / ListOnDemandResourceRatingsResponse in huaweicloudsdkbss.v2):

- each product is named by cloud_service_type + resource_type + region + resource_spec ("Ensure that you provide
  the correct service type, region, resource type, and resource specification"); an ECS flavor's spec is the
  flavor id plus ".linux" or ".win", an EVS disk's its type (SATA, SAS, GPSSD, SSD), a bandwidth's e.g. 19_bgp
  (dynamic BGP billed by bandwidth) (DemandProductInfo.resource_spec docstring);
- disks and bandwidths are linear products: resource_size with size_measure_id 17 (GB) or 15 (Mbit/s);
- usage_factor "Duration" for all three, usage_value in usage_measure_id units (4: hour), at most 100 products per
  inquiry, each with an id unique in the inquiry that maps its result back;
- the answer's `amount` is what the account pays (its discounts applied), `official_website_amount` the list
  price, `currency` CNY when empty, `measure_id` 1 (the currency's main unit).

BSS is a global service signed with GlobalCredentials (X-Domain-Id); without a domain id the SDK asks IAM first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._errors import to_cloud_error
from mgc_iac.errors import CloudAuthError, CloudError, CloudUnavailableError

# resource -> (cloud_service_type, resource_type, size_measure_id or None for a non-linear product)
PRODUCTS: dict[str, tuple[str, str, int | None]] = {
    "vm": ("hws.service.type.ec2", "hws.resource.type.vm", None),
    "volume": ("hws.service.type.ebs", "hws.resource.type.volume", 17),        # 17: GB
    "bandwidth": ("hws.service.type.vpc", "hws.resource.type.bandwidth", 15),  # 15: Mbit/s
}
HOUR = 4                 # usage_measure_id of an hour
MAX_PRODUCTS = 100       # product_infos per inquiry (the API's maximum)
_MAIN_UNIT = {1: Decimal(1), 2: Decimal(10), 3: Decimal(100)}  # measure_id 1 yuan, 2 jiao, 3 fen


@dataclass(frozen=True)
class PriceQuery:
    """One product to price on demand (what a DemandProductInfo names)."""

    resource: str              # "vm" | "volume" | "bandwidth"
    region: str
    spec: str                  # resource_spec: "s6.large.2.linux", "SSD", "19_bgp"
    size: int | None = None    # GB of a disk, Mbit/s of a bandwidth

    def product_info(self, product_id: str, hours: int) -> dict[str, Any]:
        """The DemandProductInfo the inquiry sends for this product (one code path for the request's shape)."""
        return product_info(product_id, self, hours)


@dataclass(frozen=True)
class PriceQuote:
    """The price of `hours` hours of each product priced, and why the others were not."""

    currency: str = ""
    amounts: Mapping[PriceQuery, Decimal] = field(default_factory=dict)
    unknown: Mapping[PriceQuery, str] = field(default_factory=dict)


class BssClient(ServiceClient):
    service = "bss"

    def _client_class(self) -> Any:
        from huaweicloudsdkbss.v2 import BssClient as Sdk

        return Sdk

    def _credentials(self) -> Any:
        from huaweicloudsdkcore.auth.credentials import GlobalCredentials

        s = self._settings
        return GlobalCredentials(s.ak, s.sk, s.domain_id or None)

    def on_demand_prices(self, queries: Sequence[PriceQuery], hours: int, *,
                         deadline: float | None = None) -> PriceQuote:
        """The price of `hours` hours of each product, in inquiries of at most 100. A product BSS refuses (a flavor
        it does not sell in that region) is asked alone and left unknown with the reason; auth and transport
        failures raise CloudError. `deadline` (time.monotonic()): the products not asked by then are unknown."""
        amounts: dict[PriceQuery, Decimal] = {}
        unknown: dict[PriceQuery, str] = {}
        currency = ""
        pending = list(dict.fromkeys(queries))
        batches = [pending[i:i + MAX_PRODUCTS] for i in range(0, len(pending), MAX_PRODUCTS)]
        while batches:
            batch = batches.pop(0)
            if deadline is not None and time.monotonic() > deadline:
                unknown.update(dict.fromkeys(batch, "no time left to ask BSS"))
                continue
            try:
                currency, priced = self.rate(batch, hours)
            except (CloudAuthError, CloudUnavailableError):
                raise
            except CloudError as exc:
                if exc.status != 400:
                    raise
                if len(batch) > 1:  # one unknown product refuses the whole inquiry: find which, one by one
                    batches[:0] = [[q] for q in batch]
                else:
                    unknown[batch[0]] = f"{exc.message} ({exc.code})" if exc.code else exc.message
                continue
            amounts.update(priced)
        return PriceQuote(currency, amounts, unknown)

    def rate(self, queries: Sequence[PriceQuery], hours: int) -> tuple[str, dict[PriceQuery, Decimal]]:
        """One inquiry: (currency, the price of `hours` hours of each product)."""
        from huaweicloudsdkbss.v2 import ListOnDemandResourceRatingsRequest

        infos = [product_info(f"p{n}", q, hours) for n, q in enumerate(queries)]
        body = self.body("RateOnDemandReq", {"project_id": self._settings.project_id, "product_infos": infos})
        answer = self.call("list_on_demand_resource_ratings", ListOnDemandResourceRatingsRequest(body=body))
        by_id = {r.id: r for r in answer.product_rating_results or []}
        out: dict[PriceQuery, Decimal] = {}
        for n, query in enumerate(queries):
            result = by_id.get(f"p{n}")
            if result is None or result.amount is None:
                raise CloudError(f"BSS answered no price for {query.spec} (product p{n})", service="bss",
                                 operation="list_on_demand_resource_ratings")
            unit = _MAIN_UNIT.get(int(result.measure_id or 1), Decimal(1))
            out[query] = Decimal(str(result.amount)) / unit
        return (answer.currency or "CNY"), out

    @property
    def sdk(self) -> Any:
        try:
            return super().sdk
        except CloudError:
            raise
        except Exception as exc:  # building GlobalCredentials asks IAM for the domain id when none is given
            raise to_cloud_error(exc, self.service, "resolve the account (domain) id") from exc


def product_info(product_id: str, query: PriceQuery, hours: int) -> dict[str, Any]:
    service_type, resource_type, size_measure = PRODUCTS[query.resource]
    info: dict[str, Any] = {
        "id": product_id, "cloud_service_type": service_type, "resource_type": resource_type,
        "resource_spec": query.spec, "region": query.region, "usage_factor": "Duration", "usage_value": hours,
        "usage_measure_id": HOUR, "subscription_num": 1,
    }
    if size_measure is not None:
        info["resource_size"] = int(query.size or 0)
        info["size_measure_id"] = size_measure
    return info
