"""Retries against the lab's injected faults: 429 and 5xx are retried with backoff, then mapped to errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mgc_iac.cloud import CloudSettings, Fault, LabControl, RetryPolicy, SmsClient, SourceFacts
from mgc_iac.errors import CloudThrottledError, CloudUnavailableError
from mgc_iac.lab.faults import FaultRule, Faults
from mgc_iac.lab.testing import RunningLab


def _client(lab: RunningLab, attempts: int = 4) -> tuple[SmsClient, list[float]]:
    waits: list[float] = []
    settings = replace(lab.settings, retry=RetryPolicy(max_attempts=attempts, base_delay=0.01, max_delay=0.02))
    return SmsClient(settings, sleep=waits.append), waits


def _source(lab: RunningLab) -> str:
    return SmsClient(lab.settings).register_source(SourceFacts(name="s", ip="10.0.0.1", os_type="LINUX"))


def test_throttled_calls_are_retried_until_they_pass(lab: RunningLab) -> None:
    source = _source(lab)
    LabControl(lab.settings).set_faults([Fault("sms", "show_server", throttle_rate=0.5)], seed=3)
    sms, waits = _client(lab, attempts=10)
    for _ in range(10):
        assert sms.show_source(source).id == source
    assert waits and all(0 <= w <= 0.02 for w in waits)                   # some 429s, each waited out


@pytest.mark.parametrize(("fault", "error", "status"), [
    (Fault("sms", "show_server", throttle_rate=1.0), CloudThrottledError, 429),
    (Fault("sms", "show_server", error_rate=1.0), CloudUnavailableError, 500),
    (Fault("sms", "*", drop_rate=1.0), CloudUnavailableError, None),
])
def test_retries_are_bounded_then_mapped(lab: RunningLab, fault: Fault, error: type, status: int | None) -> None:
    source = _source(lab)
    LabControl(lab.settings).set_faults([fault])
    sms, waits = _client(lab, attempts=3)
    with pytest.raises(error) as info:
        sms.show_source(source)
    assert len(waits) == 2                                                 # 3 attempts, 2 waits between
    assert (info.value.service, info.value.operation, info.value.status) == ("sms", "show_server", status)
    assert lab.endpoint.sk not in str(info.value) + repr(info.value)
    if status:
        assert info.value.request_id


def test_a_create_is_not_replayed_after_a_5xx_but_is_after_a_429(lab: RunningLab) -> None:
    from mgc_iac.cloud import Cloud
    from mgc_iac.lab.testing import lab_task_request

    _, request, _ = lab_task_request(Cloud(lab.settings))
    LabControl(lab.settings).set_faults([Fault("sms", "create_task", error_rate=1.0)])
    sms, waits = _client(lab)
    with pytest.raises(CloudUnavailableError):
        sms.create_task(request)
    assert waits == []
    LabControl(lab.settings).set_faults([Fault("sms", "create_task", throttle_rate=0.6)], seed=1)
    sms, waits = _client(lab, attempts=20)
    assert sms.create_task(request)
    assert waits


def test_latency_and_seeded_decisions_are_repeatable() -> None:
    rules = [FaultRule("sms", "show_task", latency_ms=5, error_rate=0.2, throttle_rate=0.2, drop_rate=0.1)]
    first = [Faults(rules, seed=42).decide("sms", "show_task") for _ in range(1)]
    a, b = Faults(rules, seed=42), Faults(rules, seed=42)
    seq_a = [a.decide("sms", "show_task").outcome for _ in range(200)]
    assert seq_a == [b.decide("sms", "show_task").outcome for _ in range(200)]
    assert {"ok", "error", "throttle", "drop"} == set(seq_a)
    lost = Faults([FaultRule(lost_answer_rate=1.0)]).decide("ecs", "create_post_paid_servers")
    assert lost.outcome == "lost_answer"
    assert first[0].latency_ms == 5
    assert Faults(rules, seed=42).decide("ecs", "show_job").outcome == "ok"     # other calls untouched


def test_faults_from_the_seed_file_apply_at_start(tmp_path) -> None:  # noqa: ANN001
    import yaml

    from mgc_iac.lab.testing import DEMO_SEED, running_lab

    seed = yaml.safe_load(DEMO_SEED.read_text())
    seed["cloud"]["lab"]["faults"] = [{"service": "kms", "operation": "list_keys", "error_rate": 1.0}]
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    with running_lab(tmp_path / "lab", seed=path) as lab:
        settings: CloudSettings = replace(lab.settings, retry=RetryPolicy(max_attempts=2, base_delay=0.0))
        from mgc_iac.cloud import Cloud

        with pytest.raises(CloudUnavailableError):
            Cloud(settings).kms.describe_key("evs/default")
        assert Cloud(settings).vpc.find_vpc("vpc-shop").name == "vpc-shop"


def test_a_create_whose_answer_was_lost_is_replayed_with_its_token_and_makes_one_server(lab: RunningLab) -> None:
    from mgc_iac.cloud import Cloud, ServerRequest, VolumeRequest

    cloud = Cloud(lab.settings)
    vpc = cloud.vpc.find_vpc("vpc-shop")
    request = ServerRequest(name="web-01-hw", image_id=lab.store.list("image")[0]["id"], flavor="s6.large.2",
                            vpc_id=vpc.id, subnet_id=cloud.vpc.find_subnet("subnet-shop", vpc.id).id,
                            root_volume=VolumeRequest(40))
    # seed 1: the first create is carried out but its answer is lost, the replay gets an answer
    LabControl(lab.settings).set_faults([Fault("ecs", "create_post_paid_servers", lost_answer_rate=0.5)], seed=1)
    server_id = cloud.ecs.create_server(request, "plan-abc/web-01/target")
    assert [s.id for s in cloud.ecs.find_servers(name="web-01-hw")] == [server_id]
    LabControl(lab.settings).set_faults([Fault("ecs", "create_post_paid_servers", lost_answer_rate=1.0)])
    with pytest.raises(CloudUnavailableError):
        cloud.ecs.create_server(replace(request, name="web-02-hw"), "plan-abc/web-02/target")
    LabControl(lab.settings).clear_faults()
    again = cloud.ecs.create_server(replace(request, name="web-02-hw"), "plan-abc/web-02/target")
    assert [s.id for s in cloud.ecs.find_servers(name="web-02-hw")] == [again]     # created once, found again


def test_a_slow_answer_times_out_and_is_retried_then_reported(lab: RunningLab) -> None:
    source = _source(lab)
    LabControl(lab.settings).set_faults([Fault("sms", "show_server", latency_ms=400)])
    waits: list[float] = []
    settings = replace(lab.settings, read_timeout=0.1, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(CloudUnavailableError, match="no answer") as info:
        SmsClient(settings, sleep=waits.append).show_source(source)
    assert len(waits) == 1 and info.value.operation == "show_server"
    assert SmsClient(lab.settings).show_source(source).id == source        # the default timeout waits it out
