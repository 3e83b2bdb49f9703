"""Issue 20 at the client layer, against a real lab (HTTP, signatures) in a thread: one shared rate limiter per
endpoint that settles under the gateway's limit and says so, Retry-After honoured, a bound at the step's deadline,
one paged reader for every waiting task, and a lost action answer sent again once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mgc_iac.cloud import (
    CallScope,
    Cloud,
    Fault,
    FleetReader,
    LabControl,
    call_scope,
    limiters,
    observe,
    reset_limiters,
)
from mgc_iac.lab.testing import RunningLab, lab_task


@pytest.fixture(autouse=True)
def fresh_limiters() -> Iterator[None]:
    reset_limiters()   # each test's lab is a new endpoint, but the limiters are the process's
    yield
    reset_limiters()


def test_workers_of_one_apply_share_a_limiter_that_settles_under_the_gateway_limit(lab: RunningLab) -> None:
    """Twelve workers hammer a lab limited to 10 SMS calls/s: every call ends answered, the limiter learnt a rate
    near the limit (few 429s after the first), and the pushback was shown in the person's words."""
    LabControl(lab.settings).update_settings(rate_limit={"requests_per_second": 10, "per": "service"})
    cloud = Cloud(lab.settings)
    seen: list[str] = []
    stop = observe(lambda pressure, key: seen.append(pressure.text()) if pressure is not None else None)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        with call_scope(CallScope(who=f"w{n}")):
            try:
                for _ in range(6):
                    cloud.sms.list_tasks()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stop()
    took = time.monotonic() - started
    assert errors == []
    [limiter] = [lim for lim in limiters() if lim.service == "sms"]
    assert limiter.rate is not None and 1 <= limiter.rate <= 12     # learnt from the 429s, just under the limit
    assert took >= 6.0                       # 72 calls, a bucket of 10 refilled at 10/s: no less than 6.2 s
    assert any(text.startswith("SMS throttled (429, APIGW.0308); next try in ") and "waiting on it" in text
               for text in seen), seen
    stats = LabControl(lab.settings).stats()
    assert stats["throttled"].get("sms.list_tasks", 0) < 72       # it backed off instead of hammering


def test_a_throttled_api_slows_itself_not_the_endpoints_other_apis() -> None:
    """APIGW's user limit binds to an API (lab/gateway.py): after 429s on ListTasks the client paces ListTasks and
    sends ShowTask at once; at a thousand servers, pacing all of SMS at one API's limit tripled the apply. A fake
    clock and a scope that records the waits asked of it: nothing sleeps."""
    from mgc_iac.cloud._throttle import EndpointLimiter

    now = [0.0]
    waits: dict[str, float] = {"sms.ListTasks": 0.0, "sms.ShowTask": 0.0}

    class Recording(CallScope):
        what = ""

        def wait(self, seconds: float) -> bool:
            waits[self.what] += seconds
            now[0] += seconds
            return False

    limiter = EndpointLimiter("sms", "https://sms.example", clock=lambda: now[0])
    for i in range(20):                      # ListTasks answered 20 times in the last second, then refused
        now[0] = i / 20
        limiter.succeeded("sms.ListTasks")
    now[0] = 1.0
    limiter.failed("throttled", 429, "APIGW.0308", delay=0.0, what="sms.ListTasks")
    for what in ("sms.ShowTask", "sms.ListTasks"):
        scope = Recording(who="step")
        scope.what = what
        for _ in range(30):
            limiter.acquire(scope, what)
            limiter.succeeded(what)
    assert waits["sms.ShowTask"] == 0.0                   # the other API goes on at full speed
    assert 1.0 < waits["sms.ListTasks"] < 3.0             # ~30 calls at the ~17/s learnt for ListTasks
    assert limiter.rate is not None and limiter.rate < 20


def test_retry_after_is_honoured_by_every_caller_of_the_endpoint(lab: RunningLab) -> None:
    LabControl(lab.settings).set_faults([Fault("sms", "list_tasks", throttle_rate=1.0, count=1,
                                               retry_after_seconds=2)])
    cloud = Cloud(lab.settings)
    started = time.monotonic()
    with call_scope(CallScope(who="step")):
        cloud.sms.list_tasks()
    assert time.monotonic() - started >= 2.0                        # the 429 said: come back in 2 s


def test_past_the_deadline_a_throttled_call_ends_naming_the_endpoint_and_the_error(lab: RunningLab) -> None:
    from mgc_iac.engine.watchdog import StepStalledError, StepWatch

    LabControl(lab.settings).set_faults([Fault("sms", "*", throttle_rate=1.0)])
    watch = StepWatch(3.0, "StartMigration started")
    scope = CallScope(who="wf/web-01/StartMigration", deadline=watch.deadline, expired=watch.expired)
    started = time.monotonic()
    with call_scope(scope), pytest.raises(StepStalledError) as info:
        Cloud(lab.settings).sms.list_tasks()
    assert time.monotonic() - started < 3.0 + 8.0                   # ends at the deadline (one wait past it at most)
    message = str(info.value)
    assert message.startswith("no progress for 3 s since ")
    assert lab.endpoint.url in message and "throttled (429, APIGW.0308)" in message
    assert "sms.list_tasks" in message and info.value.step_detail["stalled"]["last_seen"] == "StartMigration started"


def test_cancel_ends_a_throttled_wait_at_once(lab: RunningLab) -> None:
    from mgc_iac.errors import CloudError

    LabControl(lab.settings).set_faults([Fault("sms", "*", throttle_rate=1.0, retry_after_seconds=60)])
    scope = CallScope(who="step")
    threading.Timer(0.5, scope.cancel.set).start()
    started = time.monotonic()
    with call_scope(scope), pytest.raises(CloudError, match="interrupted"):
        Cloud(lab.settings).sms.list_tasks()
    assert time.monotonic() - started < 5


def test_one_paged_read_serves_every_waiting_task(lab: RunningLab) -> None:
    """Eight steps wait on eight tasks: the reader lists tasks and sources once per read (no ShowTask per task),
    the first view comes about half an interval after a step begins to wait, then one per interval."""
    cloud = Cloud(lab.settings)
    LabControl(lab.settings).update_settings(instant_transfers=True, transfer_seconds=60)
    tasks = [lab_task(cloud, name=f"web-{n:02d}", mac=f"fa:16:3e:00:01:{n:02x}")[1] for n in range(8)]
    for task in tasks:
        cloud.sms.task_action(task, "start")
    fleet = FleetReader(cloud.sms)
    before = LabControl(lab.settings).stats()["calls"]
    views: dict[str, list[float]] = {t: [] for t in tasks}
    begun = time.monotonic()

    def wait(task: str) -> None:
        def reached(view: Any) -> bool:
            views[task].append(time.monotonic() - begun)
            assert view.task.state == "RUNNING" and view.task.connected
            return len(views[task]) == 3

        fleet.wait(task, reached, interval=1.0)

    threads = [threading.Thread(target=wait, args=(t,)) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    fleet.close()
    after = LabControl(lab.settings).stats()["calls"]
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert all(len(v) == 3 for v in views.values())
    assert calls.get("sms.show_task", 0) == 0 and calls.get("sms.show_server", 0) == 0
    assert calls["sms.list_tasks"] == calls["sms.list_servers"] <= 6   # ~3 reads for 8 tasks, not 24 per list
    firsts = [v[0] for v in views.values()]
    assert min(firsts) >= 0.45                                       # first read after ~interval / 2
    assert all(0.8 <= b - a <= 2.0 for v in views.values() for a, b in zip(v, v[1:], strict=False))


def test_a_lost_action_answer_is_checked_and_sent_once_more(lab: RunningLab) -> None:
    """The connection drops before SMS acts (the call is not replayed blindly, it is not idempotent): the step
    reads the task, sees READY, and sends `start` once more; a lost answer of an action SMS did carry out is
    not sent again."""
    from mgc_iac.providers.migration_task import act

    cloud = Cloud(lab.settings)
    task = lab_task(cloud)[1]
    LabControl(lab.settings).update_settings(instant_transfers=True, transfer_seconds=30)
    control = LabControl(lab.settings)
    control.set_faults([Fault("sms", "update_task_status", drop_rate=1.0, count=1)])
    before = control.stats()["calls"].get("sms.update_task_status", 0)
    act(cloud, FleetReader(cloud.sms), task, "start", lambda t: t.state not in ("READY", "MIGRATE_FAIL", "ABORT"))
    assert cloud.sms.show_task(task).state == "RUNNING"
    assert control.stats()["calls"]["sms.update_task_status"] - before == 2

    control.set_faults([Fault("sms", "update_task_status", lost_answer_rate=1.0, count=1)])
    before = control.stats()["calls"]["sms.update_task_status"]
    act(cloud, FleetReader(cloud.sms), task, "stop", lambda t: t.state in ("ABORTING", "ABORT"))
    assert control.stats()["calls"]["sms.update_task_status"] - before == 1   # carried out: not sent again
