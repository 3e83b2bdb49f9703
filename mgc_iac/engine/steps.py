"""The contract between the engine and what does a step's work (providers over the cloud layer).

The engine owns order, concurrency, gates and the journal; a StepRunner owns the cloud calls. A runner
method is synchronous (the SDK is), runs in a worker thread, must be idempotent (a step found RUNNING after
a crash is run again) and returns the resource records it created or changed, which the engine commits in
the same transaction as the step's 'after' record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from mgc_iac.plan import ResourceChange, ServerChange
from mgc_iac.state import ResourceRecord


@dataclass
class StepContext:
    stack: str
    step: str
    server: ServerChange
    spec: dict[str, Any]                       # the canonical spec carried by the plan
    changes: dict[str, ResourceChange]         # this server's resource changes, by kind
    records: dict[str, ResourceRecord]         # this server's current resource records, by kind
    attempt: int
    cancel: threading.Event = field(default_factory=threading.Event)
    # CreateTarget: kept across the replays of one create (crash, retry), new for each new resource, so an
    # idempotency token never repeats for a server that was deleted and is created again at the same address
    incarnation: str = ""
    # called from the worker thread with the step's progress (see Hooks.step_progress); None = nobody listens
    progress: Callable[[dict[str, Any]], None] | None = None
    # the detail of this step's previous record (a failed or interrupted attempt: e.g. {"stalled": ...})
    previous: dict[str, Any] = field(default_factory=dict)
    # held while the step only waits on the cloud: the engine lends the step's parallelism slot meanwhile
    idle: Callable[[], AbstractContextManager[Any]] = nullcontext
    # the step's progress watchdog (mgc_iac.engine.watchdog.StepWatch); None outside the engine
    watch: Any = None

    @property
    def gate(self) -> str:
        return f"{self.server.workflow}/{self.server.server}/{self.step}"


@dataclass
class StepOutcome:
    detail: dict[str, Any] = field(default_factory=dict)
    records: list[ResourceRecord] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)     # resource addresses no longer recorded


class StepRunner(Protocol):
    def run_step(self, ctx: StepContext) -> StepOutcome:
        """Do the step's automated work (for a manual step: what follows its approval, e.g. the cutover)."""
        ...

    def apply_resource(self, stack: str, change: ResourceChange, record: ResourceRecord | None,
                       spec: dict[str, Any]) -> ResourceRecord | None:
        """Apply a change outside any step (update, delete, forget, notifications); the new record or None."""
        ...

    def notify(self, spec: dict[str, Any], workflow: str, subject: str, message: str) -> bool:
        """Publish a workflow event to the workflow's SMN topic; True when sent."""
        ...
