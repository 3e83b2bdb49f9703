"""How progress leaves the engine: a hooks object the caller supplies (the CLI prints; tests record).

Every method has a do-nothing default, so a caller overrides only what it shows. Hooks run on the engine's
event loop: they must return quickly and never raise.
"""

from __future__ import annotations

from typing import Any


class Hooks:
    def step_started(self, gate: str, attempt: int) -> None:
        """A step is about to run (its 'before' record is committed)."""

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        """A step ended: status is done, failed, waiting, skipped or queued."""

    def step_progress(self, gate: str, progress: dict[str, Any]) -> None:
        """A running step's progress, as often as the cloud reports it (copy steps: the SMS task's
        {state, percent, replicated_bytes, total_bytes, speed_mbps, remain_seconds})."""

    def resource_changed(self, address: str, action: str) -> None:
        """A resource outside any step was updated, deleted or forgotten."""

    def notified(self, workflow: str, event: str) -> None:
        """An SMN notification was published for a workflow event."""

    def message(self, text: str) -> None:
        """A note worth showing (e.g. a resumed step)."""

    def api_pressure(self, endpoint: str, text: str | None) -> None:
        """A cloud endpoint pushes back: `text` says how ("SMS throttled (429); next try in 8 s; 3 servers
        waiting on it"), as often as it changes; None once it answers again."""


class RecordingHooks(Hooks):
    """Keeps every event as a tuple (for tests and for `--format json` output)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def step_started(self, gate: str, attempt: int) -> None:
        self.events.append(("started", gate, attempt))

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        self.events.append(("finished", gate, status))

    def step_progress(self, gate: str, progress: dict[str, Any]) -> None:
        self.events.append(("progress", gate, progress.get("percent")))

    def resource_changed(self, address: str, action: str) -> None:
        self.events.append(("resource", address, action))

    def notified(self, workflow: str, event: str) -> None:
        self.events.append(("notified", workflow, event))

    def message(self, text: str) -> None:
        self.events.append(("message", text))

    def api_pressure(self, endpoint: str, text: str | None) -> None:
        self.events.append(("pressure", endpoint, text))
