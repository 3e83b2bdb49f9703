"""Fault injection: per service and operation, added latency and rates of 5xx, 429 and dropped connections.

Decisions come from one random.Random seeded from the settings, so a test that sets a seed sees the same
sequence of faults on every run (for the same order of calls).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["ok", "error", "throttle", "drop", "lost_answer"]


@dataclass(frozen=True)
class FaultRule:
    """Faults for calls matching service and operation ("*" matches any)."""

    service: str = "*"
    operation: str = "*"
    latency_ms: int = 0
    error_rate: float = 0.0      # share of calls answered 500
    throttle_rate: float = 0.0   # share of calls answered 429
    drop_rate: float = 0.0       # share of calls whose connection is closed without an answer
    lost_answer_rate: float = 0.0  # share of calls carried out, then closed without an answer

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultRule:
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        rule = cls(**known)
        for rate in (rule.error_rate, rule.throttle_rate, rule.drop_rate, rule.lost_answer_rate):
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"fault rates are between 0 and 1, got {rate}")
        return rule


@dataclass(frozen=True)
class Decision:
    latency_ms: int = 0
    outcome: Outcome = "ok"


@dataclass
class Faults:
    """The active rules and the seeded generator that decides each call."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def decide(self, service: str, operation: str) -> Decision:
        rule = next((r for r in self.rules if r.matches(service, operation)), None)
        if rule is None:
            return Decision()
        roll = self._random.random()
        outcome: Outcome = "ok"
        for name, rate in (("drop", rule.drop_rate), ("lost_answer", rule.lost_answer_rate),
                           ("error", rule.error_rate), ("throttle", rule.throttle_rate)):
            if roll < rate:
                outcome = name  # type: ignore[assignment]
                break
            roll -= rate
        return Decision(rule.latency_ms, outcome)

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [asdict(r) for r in self.rules]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Faults:
        return cls([FaultRule.from_dict(r) for r in raw.get("rules", [])], int(raw.get("seed", 0)))
