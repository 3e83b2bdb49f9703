"""Waiting on long cloud operations (ECS jobs, SMS tasks): the one waiting policy.

Modelled on Terraform's StateChangeConf (hashicorp/terraform-plugin-sdk, helper/retry/state.go: Refresh,
Target, Timeout, PollInterval; its wait between refreshes is capped at 10 s): poll a refresh function until the
operation reaches its target, within ONE overall deadline. A transient failure of one poll (429, 5xx, a dropped
or timed-out connection) does not end the wait: it is waited out with bounded, jittered backoff until the
deadline. Each poll is a single attempt (the client's own retries are off inside a wait), so a hung endpoint
costs one read timeout per poll instead of max_attempts of them, and the deadline stays the step's.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.errors import CloudError, CloudThrottledError, CloudUnavailableError

T = TypeVar("T")
C = TypeVar("C", bound=ServiceClient)

TRANSIENT: tuple[type[CloudError], ...] = (CloudThrottledError, CloudUnavailableError)


@dataclass(frozen=True)
class WaitPolicy:
    """How long and how often to poll one operation."""

    timeout: float              # the overall deadline of this wait, in seconds
    interval: float = 1.0       # between healthy polls (Terraform's PollInterval)
    max_backoff: float = 10.0   # cap of the wait after failed polls (Terraform caps its wait at 10 s)

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after `failures` consecutive transient failures: doubling, capped, jittered."""
        cap = min(self.max_backoff, max(self.interval, 0.05) * (2 ** failures))
        return rng.uniform(cap / 2, cap)


def single_attempt(client: C) -> C:
    """A view of `client` that sends each call once, sharing its SDK client and connections (the wait retries)."""
    client.sdk  # noqa: B018 - build the SDK client once, so the view shares it instead of building its own
    view = copy.copy(client)
    view._settings = replace(client._settings, retry=replace(client._settings.retry, max_attempts=1))
    return view


def wait_until(refresh: Callable[[], T], reached: Callable[[T], bool], policy: WaitPolicy, *, what: str,
               sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
               cancel: threading.Event | None = None, rng: random.Random | None = None, service: str = "") -> T:
    """Poll `refresh()` until `reached(value)` is true and return that value.

    `reached` raises for a final failure state (a failed job); a transient error of `refresh` is retried with
    backoff until the deadline, then raised as CloudUnavailableError naming the last error. `cancel` set ends
    the wait at once with a CloudError.
    """
    rng = rng or random.Random()
    deadline = clock() + policy.timeout
    failures = 0
    last = "no answer yet"
    while True:
        try:
            value = refresh()
        except TRANSIENT as exc:
            failures += 1
            last = f"last poll failed: {exc}"
            delay = policy.backoff(failures, rng)
        else:
            if reached(value):
                return value
            failures = 0
            last = f"last seen: {getattr(value, 'status', None) or getattr(value, 'state', None) or value!r}"
            delay = policy.interval
        remaining = deadline - clock()
        if remaining <= 0:
            raise CloudUnavailableError(f"{what}: not finished after {policy.timeout:.0f} s ({last})",
                                        service=service, operation="wait")
        delay = min(delay, remaining)
        if cancel is not None:
            if cancel.wait(delay):
                raise CloudError(f"stopped waiting for {what} (interrupted)", service=service, operation="wait")
        else:
            sleep(delay)
