"""Waiting on long operations tolerates transient poll failures until the deadline (issue 9, item 9):
the lab's injected 429s on ecs.show_job no longer fail a server's creation, and a hung endpoint costs one
read timeout per poll."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from mgc_iac.cloud import Cloud, Fault, LabControl, RetryPolicy, ServerRequest, VolumeRequest
from mgc_iac.cloud.wait import WaitPolicy, wait_until
from mgc_iac.errors import CloudError, CloudThrottledError, CloudUnavailableError
from mgc_iac.lab.testing import RunningLab


def _request(lab: RunningLab, cloud: Cloud, name: str) -> ServerRequest:
    vpc = cloud.vpc.find_vpc("vpc-shop")
    return ServerRequest(name=name, image_id=lab.store.list("image")[0]["id"], flavor="s6.large.2", vpc_id=vpc.id,
                         subnet_id=cloud.vpc.find_subnet("subnet-shop", vpc.id).id, root_volume=VolumeRequest(40))


def test_throttled_job_polls_do_not_fail_the_create(lab: RunningLab) -> None:
    LabControl(lab.settings).update_settings(job_seconds=0.5)  # a job that needs several polls
    # no client retries at all: every throttled poll reaches the wait itself, which must outlast them
    cloud = Cloud(replace(lab.settings, retry=RetryPolicy(max_attempts=1), job_poll_interval=0.02))
    LabControl(lab.settings).set_faults([Fault("ecs", "show_job", throttle_rate=0.2)], seed=7)
    ids = [cloud.ecs.create_server(_request(lab, cloud, f"web-{i:02d}-hw"), f"token-{i}") for i in range(5)]
    LabControl(lab.settings).clear_faults()
    assert len(set(ids)) == 5 and all(cloud.ecs.show_server(i).id == i for i in ids)


def test_a_hung_endpoint_costs_one_timeout_per_poll(lab: RunningLab) -> None:
    control = LabControl(lab.settings)
    control.update_settings(job_seconds=30)
    cloud = Cloud(replace(lab.settings, read_timeout=0.2, retry=RetryPolicy(max_attempts=4, base_delay=0.01),
                          job_poll_interval=0.01, job_timeout=1.0))
    job = cloud.ecs.submit_server(_request(lab, cloud, "hung-hw"), "token-hung")
    control.set_faults([Fault("ecs", "show_job", latency_ms=1000)])
    polls: list[float] = []
    cloud.ecs._sleep = polls.append  # count the waits between polls (each poll: one attempt, one timeout)
    with pytest.raises(CloudUnavailableError, match="not finished after 1 s .*no answer") as info:
        cloud.ecs.wait_job(job.id)
    control.clear_faults()
    assert info.value.service == "ecs"
    # about 1 s / 0.2 s timeouts: with the client's 4 attempts per poll it would be a single poll of 4 timeouts
    assert len(polls) >= 3


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_backoff_is_bounded_and_the_deadline_is_one() -> None:
    clock = _Clock()
    calls = {"n": 0}

    def refresh() -> str:
        calls["n"] += 1
        clock.now += 0.01
        raise CloudThrottledError("busy", service="ecs", operation="show_job")

    with pytest.raises(CloudUnavailableError, match="not finished after 60 s .*busy"):
        wait_until(refresh, lambda v: True, WaitPolicy(60, interval=1, max_backoff=10), what="job j",
                   sleep=clock.sleep, clock=lambda: clock.now, rng=random.Random(1))
    assert max(clock.sleeps) <= 10 and clock.now == pytest.approx(60, abs=0.1)
    assert calls["n"] >= 6  # it kept polling until the deadline


def test_a_final_state_and_a_final_error_end_the_wait_at_once() -> None:
    clock = _Clock()
    states = iter(["RUNNING", "RUNNING", "FAIL"])

    def reached(state: str) -> bool:
        if state == "FAIL":
            raise CloudError("job failed", service="ecs", operation="show_job")
        return state == "SUCCESS"

    with pytest.raises(CloudError, match="job failed"):
        wait_until(lambda: next(states), reached, WaitPolicy(60, interval=1), what="job j", sleep=clock.sleep,
                   clock=lambda: clock.now)
    assert clock.sleeps == [1, 1]

    def refused() -> str:
        raise CloudError("forbidden", service="ecs", operation="show_job", status=403)

    with pytest.raises(CloudError, match="forbidden"):  # not transient: no waiting it out
        wait_until(refused, lambda v: True, WaitPolicy(60), what="job j", sleep=clock.sleep, clock=lambda: clock.now)
