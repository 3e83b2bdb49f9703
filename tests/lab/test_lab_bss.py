"""The lab's BSS price inquiry (ListOnDemandResourceRatings) through the official SDK: Huawei's rating rules,
its refusals, and the client's batching and isolation of a product BSS does not sell."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from mgc_iac.cloud import Cloud, PriceQuery
from mgc_iac.errors import CloudAuthError, CloudError
from mgc_iac.lab.testing import RunningLab

REGION = "cn-north-4"


def test_tiered_eip_bandwidth_prices_as_huaweis_documented_example(cloud: Cloud) -> None:
    # Huawei's EIP billing example (support.huaweicloud.com/en-us/price-eip/eip_billing_0011.html): 6 Mbit/s
    # billed by bandwidth in the Chinese mainland costs 0.565 CNY an hour (5 x 0.063 + 1 x 0.25)
    currency, prices = cloud.bss.rate([PriceQuery("bandwidth", REGION, "19_bgp", 6)], hours=1)
    assert currency == "CNY" and prices == {PriceQuery("bandwidth", REGION, "19_bgp", 6): Decimal("0.565")}
    _, month = cloud.bss.rate([PriceQuery("vm", REGION, "s6.large.2.linux"),
                               PriceQuery("volume", REGION, "SSD", 40)], hours=730)
    assert list(month.values()) == [Decimal("335.8"), Decimal("40.588")]  # 0.46 x 730; 0.00139 x 40 x 730


def test_a_product_bss_does_not_sell_is_refused_and_isolated(cloud: Cloud, lab: RunningLab) -> None:
    with pytest.raises(CloudError) as refused:
        cloud.bss.rate([PriceQuery("vm", REGION, "s9.huge.2.linux")], hours=730)
    assert (refused.value.status, refused.value.code) == (400, "CBC.6006")
    with pytest.raises(CloudError, match="CBC.6006"):  # the region is part of what names a product
        cloud.bss.rate([PriceQuery("vm", "ap-southeast-3", "s6.large.2.linux")], hours=730)
    good = [PriceQuery("vm", REGION, "s6.large.2.linux"), PriceQuery("volume", REGION, "SSD", 40)]
    bad = PriceQuery("vm", REGION, "s9.huge.2.linux")
    quote = cloud.bss.on_demand_prices([good[0], bad, good[1]], 730)
    assert set(quote.amounts) == set(good) and set(quote.unknown) == {bad}
    assert quote.unknown[bad] == "Can not find product s9.huge.2.linux (CBC.6006)"


def test_inquiries_hold_at_most_100_products_and_each_product_is_asked_once(cloud: Cloud) -> None:
    from mgc_iac.lab.parity import capture

    sizes = [PriceQuery("volume", REGION, "SSD", 10 + n) for n in range(150)]
    with capture() as seen:  # every exchange the SDK makes, as it sent and read it
        quote = cloud.bss.on_demand_prices([*sizes, *sizes[:20]], 730)  # 20 asked twice by the caller
    assert [len(x.request_body["product_infos"]) for x in seen] == [100, 50]  # 150 distinct products
    assert len(quote.amounts) == 150 and quote.amounts[sizes[0]] == Decimal("0.00139") * 10 * 730


def test_bad_inquiries_are_refused_with_cbc_0100(cloud: Cloud) -> None:
    from huaweicloudsdkbss.v2 import ListOnDemandResourceRatingsRequest

    sdk = cloud.bss.sdk
    info = {"id": "1", "cloud_service_type": "hws.service.type.ec2", "resource_type": "hws.resource.type.vm",
            "resource_spec": "s6.large.2.linux", "region": REGION, "usage_factor": "Duration", "usage_value": 1,
            "usage_measure_id": 4, "subscription_num": 1}
    project = cloud.settings.project_id

    def ask(body: dict) -> str:
        request = ListOnDemandResourceRatingsRequest(body=cloud.bss.body("RateOnDemandReq", body))
        with pytest.raises(CloudError) as refused:
            cloud.bss.call("list_on_demand_resource_ratings", request)
        assert refused.value.status == 400
        return f"{refused.value.code}: {refused.value.message}"

    assert ask({"project_id": project, "product_infos": [{**info, "id": None}]}) == "CBC.0100: id: must not be null"
    assert ask({"project_id": project, "product_infos": [info, info]}).startswith("CBC.0100: product_infos: every")
    assert "at most 100" in ask({"project_id": project,
                                 "product_infos": [{**info, "id": str(n)} for n in range(101)]})
    volume = {**info, "cloud_service_type": "hws.service.type.ebs", "resource_type": "hws.resource.type.volume",
              "resource_spec": "SSD"}
    assert "resource_size: must not be null" in ask({"project_id": project, "product_infos": [volume]})
    assert "is not a project" in ask({"project_id": "f" * 32, "product_infos": [info]})
    assert sdk is cloud.bss.sdk


def test_bss_is_signed_for_the_account_with_x_domain_id(lab: RunningLab) -> None:
    stranger = Cloud(replace(lab.settings, domain_id="0" * 32))
    with pytest.raises(CloudAuthError, match="X-Domain-Id"):
        stranger.bss.rate([PriceQuery("vm", REGION, "s6.large.2.linux")], hours=1)
