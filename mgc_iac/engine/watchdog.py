"""The progress watchdog of a running step: a step that shows no progress for `stall_timeout` fails.

Progress is any change of what the cloud shows the step (the task's state or cycle, the bytes copied, a sub-task's
percentage, an ECS job's status), fed by the waits through the step's CallScope. A lost command (the agent never
got its START), a copy that stopped moving, or an endpoint that answers every call with 429 or 500 all end the same
way: the step fails with "no progress for 30 min since <what it last saw>" (naming the endpoint and its error when
calls failed), and `mgc-iac retry` or a new apply runs it again from a safe point (a copy step stops the task
and starts it again). The default of `advanced.stall_timeout` (30 min) is six times the 5 minutes Huawei's Terraform
provider gives a started SMS task to reach RUNNING (resource_huaweicloud_sms_task.go, Timeouts.Create).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mgc_iac.errors import CloudError, MgcIacError

DEFAULT_STALL_SECONDS = 1800.0


class StepStalledError(MgcIacError):
    """A running step saw no progress for its stall timeout; `step_detail` is recorded with the failed step."""

    def __init__(self, message: str, step_detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.step_detail = step_detail


def span(seconds: float) -> str:
    """30 min, 45 s, 2 h 5 min: how long, in the words of the message."""
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


class StepWatch:
    """When the step last showed progress, and what it showed; thread-safe (fed from the step's worker)."""

    def __init__(self, stall_timeout: float, started: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_timeout = stall_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._fingerprint: Any = object()
        self._last = clock()
        self._what = started
        self._at = datetime.now(UTC)

    def saw(self, fingerprint: Any, what: str) -> None:
        """What the cloud shows now; a change from the last fingerprint is progress."""
        with self._lock:
            if fingerprint != self._fingerprint:
                self._fingerprint, self._last, self._what = fingerprint, self._clock(), what
                self._at = datetime.now(UTC)

    def deadline(self) -> float:
        with self._lock:
            return self._last + self.stall_timeout

    def since(self) -> tuple[str, str]:
        with self._lock:
            return self._what, self._at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def expired(self, last: CloudError | None = None) -> StepStalledError:
        """The error that fails the step: how long, since what, and the endpoint's last error when calls failed."""
        what, at = self.since()
        message = f"no progress for {span(self.stall_timeout)} since {at} ({what})"
        detail: dict[str, Any] = {"since": at, "last_seen": what, "stall_timeout_seconds": self.stall_timeout}
        failing = _failing(last)
        if failing:
            message += f"; {failing}"
            detail["last_error"] = failing
        return StepStalledError(message + " (`mgc-iac retry` or a new apply runs it again from a safe point)",
                                {"stalled": detail})


def _failing(last: CloudError | None) -> str:
    """The endpoint and error of the calls that failed, e.g. `sms at http://...: throttled (429, APIGW.0308) for
    12 min; last: sms.list_tasks: ... (HTTP 429, APIGW.0308, request ...)`; "" when the calls were answered."""
    from mgc_iac.cloud import limiters

    if last is None:
        return ""
    pushing = [(lim, p) for lim in limiters() if (p := lim.pressure()) is not None
               and (not last.service or lim.service == last.service)]
    if pushing:
        lim, pressure = pushing[0]
        kind = pressure.text().split(";", 1)[0].split(" ", 1)[1]
        return (f"{lim.service} at {lim.endpoint} {kind} for {span(time.monotonic() - pressure.since)}; "
                f"last error: {last}")
    if last.status == 429 or (last.status or 0) >= 500 or last.status is None:
        return f"the last call failed: {last}"
    return ""
