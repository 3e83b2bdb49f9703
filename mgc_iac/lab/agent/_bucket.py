"""A token bucket shared by parallel SFTP copies, so the whole transfer honours the bandwidth limit."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    def __init__(self, rate_bytes_per_s: float, burst: float | None = None) -> None:
        self.rate = rate_bytes_per_s
        self.capacity = burst if burst is not None else max(rate_bytes_per_s / 4, 262144)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, amount: int) -> None:
        async with self._lock:  # one waiter at a time keeps the order fair
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens > 0:
                    self._tokens -= amount  # may go negative: the debt delays the next taker
                    return
                await asyncio.sleep(-self._tokens / self.rate + 0.001)
