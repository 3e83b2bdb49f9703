"""Progress of a copy, reported through a callback (the agent loop forwards it to SMS)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Progress:
    phase: str  # "full", "sync"
    bytes_done: int
    bytes_total: int
    speed_bps: float
    files_done: int = 0
    done: bool = False


ProgressCallback = Callable[[Progress], None]


@dataclass
class ProgressMeter:
    """Turns byte counts into Progress events, at most every `interval` seconds (and always the last one)."""

    phase: str
    bytes_total: int
    callback: ProgressCallback | None
    interval: float = 0.5
    started: float = field(default_factory=time.monotonic)
    _last: float = 0.0
    bytes_done: int = 0
    files_done: int = 0

    def update(self, bytes_done: int | None = None, *, add: int = 0, files: int = 0) -> None:
        self.bytes_done = bytes_done if bytes_done is not None else self.bytes_done + add
        self.files_done += files
        now = time.monotonic()
        if self.callback is not None and now - self._last >= self.interval:
            self._last = now
            self.callback(self._event(False))

    def speed(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.bytes_done / elapsed if elapsed > 0 else 0.0

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(self._event(True))

    def _event(self, done: bool) -> Progress:
        return Progress(self.phase, self.bytes_done, self.bytes_total, self.speed(), self.files_done, done)
