"""What an apply ends with, and its exit code (0 all done, 3 stopped only at gates, queued, or blocked behind a
wave, 4 in progress at the --max-wait deadline (a cutover window not open yet counts), 1 a failure, 130
interrupted by Ctrl-C, as shells report SIGINT)."""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_WAITING = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command ended by Ctrl-C
EXIT_IN_PROGRESS = 4  # `apply --max-wait` ran out while cloud work goes on: apply again to pick it up


@dataclass
class Waiting:
    gate: str
    reason: str           # what the gate needs (the refusal), e.g. "needs 1 approver(s) for plan sha256:..."


@dataclass
class ApplyResult:
    stack: str
    digest: str
    done: list[str] = field(default_factory=list)         # steps completed by this apply
    waiting: list[Waiting] = field(default_factory=list)  # gates waiting for approval
    failed: dict[str, str] = field(default_factory=dict)  # gate -> error message
    queued: dict[str, int] = field(default_factory=dict)  # workflow/server -> queue position
    blocked: dict[str, str] = field(default_factory=dict)  # workflow/server -> the Cutover its wave waits for
    scheduled: dict[str, str] = field(default_factory=dict)  # gate -> "Cutover of W/S waits for its window (...)"
    interrupted: bool = False
    in_progress: bool = False  # returned at the --max-wait deadline with steps still running in the cloud
    approve_digest: str | None = None  # digest of the plan in which the gates wait (what to approve)
    # cloud endpoints still pushing back when the apply ended: "SMS at https://...: throttled (429, APIGW.0308)
    # since 3 min" (why --max-wait ran out, or why a step stalled)
    pushback: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failed:
            return EXIT_FAILED
        if self.in_progress:
            return EXIT_IN_PROGRESS
        if self.waiting or self.queued or self.blocked:
            return EXIT_WAITING
        return EXIT_OK
