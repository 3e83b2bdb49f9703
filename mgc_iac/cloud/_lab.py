"""LabControl: the lab's /_lab/ control API (settings, faults, messages, reset), signed like any call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._settings import CloudSettings, RetryPolicy


@dataclass(frozen=True)
class Fault:
    """Injected faults for calls to service.operation ("*" matches any); rates are shares of calls."""

    service: str = "*"
    operation: str = "*"              # the SDK method name, e.g. show_task, create_post_paid_servers
    latency_ms: int = 0
    error_rate: float = 0.0           # answered 500
    throttle_rate: float = 0.0        # answered 429
    drop_rate: float = 0.0            # connection closed without an answer
    lost_answer_rate: float = 0.0     # the call is carried out, then the connection closes without an answer
    retry_after_seconds: int | None = None  # the 429s carry Retry-After: N
    count: int = 0                    # fires at most this many times (0: no end)
    answer_contains: str = ""         # lost answers only for answers containing this (e.g. "START")


class LabControl(ServiceClient):
    """Talks to the lab only; never retried (a test wants to see exactly what it asked for)."""

    service = "sms"

    def __init__(self, settings: CloudSettings, **kwargs: Any) -> None:
        super().__init__(_no_retry(settings), **kwargs)

    def _client_class(self) -> Any:
        from huaweicloudsdksms.v3 import SmsClient as Sdk

        return Sdk

    def health(self) -> dict[str, Any]:
        return self.raw("lab.health", "GET", "/_lab/health")

    def stats(self) -> dict[str, Any]:
        """{checks, check_seconds, handler_seconds, cpu_seconds}: the lab's SDK-model checks of its answers."""
        return self.raw("lab.stats", "GET", "/_lab/stats")

    def settings(self) -> dict[str, Any]:
        return self.raw("lab.settings", "GET", "/_lab/settings")

    def update_settings(self, *, job_seconds: float | None = None, instant_transfers: bool | None = None,
                        agent_timeout_seconds: float | None = None, transition_seconds: float | None = None,
                        sync_interval_seconds: float | None = None, transfer_seconds: float | None = None,
                        **rate: Any) -> dict[str, Any]:
        """job_seconds: how long ECS jobs stay RUNNING (0 = instant). instant_transfers (lab only): SMS start and
        sync finish at once with progress 100 and a clean consistency result, no agent needed; transfer_seconds:
        how long such a simulated copy runs first. agent_timeout_seconds: how long after its last poll a source's
        agent still counts as connected. transition_seconds: how long SMS's asynchronous transitions (ABORTING,
        DELETING, cutovering, clearing) take. sync_interval_seconds: the pause between two rounds of continuous
        synchronisation. rate_limit={requests_per_second, per} or rate_limit=None: the API gateway's flow control
        (None: off)."""
        body = {k: v for k, v in (("job_seconds", job_seconds), ("instant_transfers", instant_transfers),
                                  ("agent_timeout_seconds", agent_timeout_seconds),
                                  ("transition_seconds", transition_seconds),
                                  ("sync_interval_seconds", sync_interval_seconds),
                                  ("transfer_seconds", transfer_seconds)) if v is not None}
        if "rate_limit" in rate:
            body["rate_limit"] = rate.pop("rate_limit")
        if rate:
            raise TypeError(f"unknown lab settings: {', '.join(rate)}")
        return self.raw("lab.set_settings", "PUT", "/_lab/settings", body=body)

    def set_faults(self, faults: Sequence[Fault], seed: int = 0) -> None:
        """Replace the fault rules (first match wins) and reseed the generator, so a run is repeatable."""
        self.raw("lab.set_faults", "PUT", "/_lab/faults", body={"seed": seed, "rules": [asdict(f) for f in faults]})

    def faults(self) -> list[dict[str, Any]]:
        return self.raw("lab.faults", "GET", "/_lab/faults").get("rules", [])

    def clear_faults(self) -> None:
        self.raw("lab.clear_faults", "DELETE", "/_lab/faults")

    def messages(self) -> list[dict[str, Any]]:
        """SMN messages the lab received: {message_id, topic_urn, topic, subject, message, time}."""
        return self.raw("lab.messages", "GET", "/_lab/messages").get("messages", [])

    def fail_source(self, source_id: str, at: str = "now") -> None:
        """Fault injection: `now` puts the source in state error (its copying task fails); `cutover` / `clear`
        make its next cutover end in source state error, its next clear in clearfailed; `clone` its next
        clone_test end in clone_state ERROR."""
        self.raw("lab.sms_fail", "POST", "/_lab/sms/fail", body={"source_id": source_id, "at": at},
                 idempotent=False)

    def reset(self) -> None:
        """Forget every server, task, source and message; load the seed again."""
        self.raw("lab.reset", "POST", "/_lab/reset", idempotent=False)


def _no_retry(settings: CloudSettings) -> CloudSettings:
    from dataclasses import replace

    return replace(settings, retry=RetryPolicy(max_attempts=1))
