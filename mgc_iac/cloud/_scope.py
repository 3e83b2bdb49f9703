"""The call scope: who is calling the cloud, until when, and how to stop (one per running step).

A step's runner opens a scope around the step (a context variable, so it follows the call into the service
clients, the fleet reader's waits and the ECS job waits without being passed through every function). Inside a
scope, a throttled or failing endpoint is retried until the scope's deadline (the step's progress watchdog)
instead of a fixed number of attempts, and `cancel` (Ctrl-C, `apply --max-wait`) ends any wait at once.
Outside a scope (plan --refresh, `lab ls`, the agent on a source) the bounded retries of RetryPolicy apply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from mgc_iac.errors import CloudError


@dataclass
class CallScope:
    who: str = ""                                           # e.g. shop-wave-1/web-01/StartMigration
    cancel: threading.Event = field(default_factory=threading.Event)
    # time.monotonic() after which a failing endpoint is given up (None: never, until cancel)
    deadline: Callable[[], float | None] = lambda: None
    # the error raised at the deadline, given what the endpoint answered last (the watchdog's words)
    expired: Callable[[CloudError], CloudError] = lambda last: last
    # a context manager the scope holds while it only waits (the engine lends its parallelism slot meanwhile)
    idle: Callable[[], AbstractContextManager[Any]] = nullcontext
    # what the cloud showed: (fingerprint, words); a change of fingerprint is progress for the watchdog
    progress: Callable[[Any, str], None] = lambda fingerprint, what: None
    weight: Callable[[], int] = lambda: 1                   # servers this caller stands for (the fleet reader: many)
    _lending: bool = field(default=False, init=False, repr=False, compare=False)

    @contextmanager
    def lent(self) -> Iterator[None]:
        """`idle()` for the block, once however deeply nested (a token wait inside a fleet wait): lending twice
        took the slot back twice."""
        if self._lending:
            yield
            return
        self._lending = True
        try:
            with self.idle():
                yield
        finally:
            self._lending = False

    def interrupted(self, what: str, service: str = "", operation: str = "") -> CloudError:
        return CloudError(f"stopped waiting for {what} (interrupted)", service=service, operation=operation)

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when cancelled meanwhile."""
        return self.cancel.wait(max(0.0, seconds))


_SCOPE: ContextVar[CallScope | None] = ContextVar("mgc_iac_call_scope", default=None)


def current_scope() -> CallScope | None:
    return _SCOPE.get()


@contextmanager
def call_scope(scope: CallScope) -> Iterator[CallScope]:
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)
