"""The API gateway's flow control, as the lab applies it to every cloud call (on by default).

Huawei's API gateway limits each account's calls per second; past the limit it answers HTTP 429 with error_code
APIG.0308 / APIGW.0308 and "The throttling threshold has been reached: policy user over ratelimit,limit:XX,time:1
second" (Huawei Cloud FAQ "How Do I Handle the Error APIG.0308?"). "policy user" is the user limit of a throttling
policy, and an API gateway's throttling policy is bound to APIs: its user limit is "the number of times an API
can be accessed by each user within the period" (API Gateway API reference, CreateRequestThrottlingPolicyV2:
user_call_limits), so the lab's default limits each account's calls per API (`per: api`). Huawei does not
publish XX for SMS or ECS; the lab's default, 50 requests per second, is the pressure the 1,000-server benchmark is
held to (and `per: service`, one budget for all of a service's APIs as the FAQ's wording has it, the stricter
variant it also reports). The lab setting `rate_limit` changes it: {requests_per_second, per: api | service |
account}, or null for none (lab only).
A refused call consumes nothing; the lab's own control API and the agent download are never limited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_RATE_LIMIT: dict[str, Any] = {"requests_per_second": 50.0, "per": "api"}
SCOPES = ("service", "api", "account")


def check_rate_limit(value: Any) -> dict[str, Any] | None:
    """The setting as stored; ValueError with the fix when it is malformed."""
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise ValueError("rate_limit is {requests_per_second: N, per: service|api|account} or null (no limit)")
    unknown = set(value) - {"requests_per_second", "per"}
    rate = value.get("requests_per_second", DEFAULT_RATE_LIMIT["requests_per_second"])
    per = value.get("per", "api")
    if unknown or isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0 or per not in SCOPES:
        raise ValueError("rate_limit is {requests_per_second: a number > 0, per: service|api|account} or null")
    return {"requests_per_second": float(rate), "per": per}


@dataclass
class GatewayLimit:
    """Token buckets of one second's calls (the gateway's "limit:XX,time:1 second"), one per limited scope."""

    requests_per_second: float
    per: str = "api"
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, list[float]] = field(default_factory=dict)

    def admit(self, service: str, operation: str) -> bool:
        key = {"service": service, "api": f"{service}.{operation}"}.get(self.per, "account")
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [self.requests_per_second, now]
        tokens = min(self.requests_per_second, bucket[0] + (now - bucket[1]) * self.requests_per_second)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def message(self) -> str:
        return (f"The throttling threshold has been reached: policy user over ratelimit,limit:"
                f"{self.requests_per_second:g},time:1 second")
