"""The lab's API gateway limit (issue 20): per account and service, 429 APIGW.0308 with Huawei's words, on by
default; the list page sizes Huawei documents. Real HTTP and signatures against a lab in a thread."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mgc_iac.cloud import CloudSettings, LabControl, RetryPolicy, SmsClient, SourceFacts
from mgc_iac.errors import CloudError, CloudThrottledError
from mgc_iac.lab.gateway import DEFAULT_RATE_LIMIT, GatewayLimit
from mgc_iac.lab.testing import RunningLab


def _once(lab: RunningLab) -> CloudSettings:
    return replace(lab.settings, retry=RetryPolicy(max_attempts=1))


def test_the_gateway_limit_is_on_by_default_at_fifty_per_second_per_api(lab: RunningLab) -> None:
    assert LabControl(lab.settings).settings()["rate_limit"] == DEFAULT_RATE_LIMIT == {
        "requests_per_second": 50.0, "per": "api"}


def test_over_the_limit_sms_answers_429_apigw_0308_and_other_services_still_answer(lab: RunningLab) -> None:
    from mgc_iac.cloud import Cloud

    LabControl(lab.settings).update_settings(rate_limit={"requests_per_second": 3, "per": "service"})
    sms = SmsClient(_once(lab))
    with pytest.raises(CloudThrottledError) as info:
        for _ in range(20):
            sms.list_tasks()
    assert (info.value.status, info.value.code) == (429, "APIGW.0308")
    assert "policy user over ratelimit,limit:3,time:1 second" in str(info.value)   # Huawei's answer, FAQ APIG.0308
    assert Cloud(_once(lab)).vpc.find_vpc("vpc-shop").name == "vpc-shop"           # VPC has its own budget
    stats = LabControl(lab.settings).stats()
    assert stats["throttled"]["sms.list_tasks"] >= 1 and stats["calls"]["sms.list_tasks"] >= 4


def test_the_limit_refills_within_a_second_and_null_turns_it_off(lab: RunningLab) -> None:
    import time

    control = LabControl(lab.settings)
    control.update_settings(rate_limit={"requests_per_second": 2})
    sms = SmsClient(_once(lab))
    with pytest.raises(CloudThrottledError):
        for _ in range(10):
            sms.list_sources()
    time.sleep(1.1)
    sms.list_sources()                      # one second later the bucket has tokens again
    control.update_settings(rate_limit=None)
    for _ in range(30):
        sms.list_sources()
    with pytest.raises(CloudError, match="rate_limit is"):
        control.update_settings(rate_limit={"requests_per_second": 0})


def test_per_api_scope_limits_each_operation_on_its_own() -> None:
    now = [0.0]
    gate = GatewayLimit(2, "api", clock=lambda: now[0])
    assert [gate.admit("sms", "list_tasks") for _ in range(3)] == [True, True, False]
    assert gate.admit("sms", "show_task")   # another API of the same service
    now[0] += 0.5
    assert gate.admit("sms", "list_tasks")  # half a second refilled one call


def test_list_pages_are_at_most_200(lab: RunningLab) -> None:
    sms = SmsClient(lab.settings)
    for n in range(3):
        sms.register_source(SourceFacts(name=f"s{n}", ip=f"10.0.0.{n + 1}", os_type="LINUX",
                                        macs=(f"fa:16:3e:00:00:0{n}",)))
    assert len(sms.list_sources(page_size=2)) == 3          # paged: 2, then 1
    assert len(sms.list_sources(page_size=200)) == 3
    with pytest.raises(CloudError, match="limit is 0-200") as info:
        sms.list_tasks(page_size=201)
    assert info.value.status == 400
