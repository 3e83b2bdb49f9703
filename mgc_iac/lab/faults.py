"""Fault injection: per service and operation, added latency and rates of 5xx, 429 (with Retry-After when a rule
says so), dropped connections and lost answers (all of them, or only answers that carry a given text, such as the
agent's START command); a rule can fire a limited number of times.

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
    retry_after_seconds: int | None = None  # 429s of this rule carry Retry-After: N
    count: int = 0               # the rule fires at most this many times (0: no end), then matches nothing
    # lost answers only for calls whose answer contains this text (e.g. "START": the agent's command is lost)
    answer_contains: str = ""

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultRule:
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        rule = cls(**known)
        if rule.count < 0 or (rule.retry_after_seconds is not None and rule.retry_after_seconds < 0):
            raise ValueError("count and retry_after_seconds are >= 0")
        for rate in (rule.error_rate, rule.throttle_rate, rule.drop_rate, rule.lost_answer_rate):
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"fault rates are between 0 and 1, got {rate}")
        return rule


@dataclass(frozen=True)
class Decision:
    latency_ms: int = 0
    outcome: Outcome = "ok"
    retry_after: int | None = None


@dataclass
class Faults:
    """The active rules and the seeded generator that decides each call."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._fired: dict[int, int] = {}

    def _live(self, index: int, rule: FaultRule) -> bool:
        return not rule.count or self._fired.get(index, 0) < rule.count

    def decide(self, service: str, operation: str) -> Decision:
        """What happens to a call before its handler runs (rules with answer_contains wait for the answer)."""
        found = next(((i, r) for i, r in enumerate(self.rules) if r.matches(service, operation)
                      and not r.answer_contains and self._live(i, r)), None)
        if found is None:
            return Decision()
        index, rule = found
        roll = self._random.random()
        outcome: Outcome = "ok"
        for name, rate in (("drop", rule.drop_rate), ("lost_answer", rule.lost_answer_rate),
                           ("error", rule.error_rate), ("throttle", rule.throttle_rate)):
            if roll < rate:
                outcome = name  # type: ignore[assignment]
                break
            roll -= rate
        if outcome != "ok":
            self._fired[index] = self._fired.get(index, 0) + 1
        return Decision(rule.latency_ms, outcome, rule.retry_after_seconds if outcome == "throttle" else None)

    def lose_answer(self, service: str, operation: str, answer: str) -> bool:
        """After the handler: whether a rule with answer_contains loses this answer (the call is carried out)."""
        for index, rule in enumerate(self.rules):
            if (rule.answer_contains and rule.matches(service, operation) and self._live(index, rule)
                    and rule.answer_contains in answer and self._random.random() < rule.lost_answer_rate):
                self._fired[index] = self._fired.get(index, 0) + 1
                return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [asdict(r) for r in self.rules]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Faults:
        return cls([FaultRule.from_dict(r) for r in raw.get("rules", [])], int(raw.get("seed", 0)))
