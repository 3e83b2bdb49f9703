"""A step's hold on the engine's parallelism, lent back while the step only waits on the cloud.

`apply --parallelism N` bounds the steps doing work at once (cloud calls, SSH). A step that waits on SMS (a copy
of hours, a cutover) does no work: it gives its slot back for the wait (StepContext.idle, used by the fleet
reader through the CallScope) and takes one again before it acts, so a thousand copies can run while ten steps
at a time create targets and start agents. The semaphore lives on the engine's event loop; the step runs in a
worker thread: both sides touch `held` only on the loop, so no permit is lost or given twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StepSlot:
    """One step's permit of the engine's semaphore."""

    def __init__(self, sem: asyncio.Semaphore, loop: asyncio.AbstractEventLoop, cancel: threading.Event) -> None:
        self._sem, self._loop, self.cancel = sem, loop, cancel
        self.held = False
        self._closed = False

    async def take(self) -> None:
        """On the loop: wait for a permit."""
        await self._sem.acquire()
        if self._closed:       # the step ended while it waited for the permit
            self._sem.release()
            return
        self.held = True

    def close(self) -> None:
        """On the loop, when the step ends: its permit (if it holds one) goes back."""
        self._closed = True
        self.give_back()

    def give_back(self) -> None:
        """On the loop: the permit goes back (the step holds none until take())."""
        if self.held:
            self.held = False
            self._sem.release()

    @contextmanager
    def lent(self) -> Iterator[None]:
        """From the worker thread: the permit goes back for the duration of the block and is taken again after
        it (unless the step is being cancelled: it only ends then)."""
        try:
            self._loop.call_soon_threadsafe(self.give_back)
        except RuntimeError:  # the loop is closed: the apply is ending
            yield
            return
        try:
            yield
        finally:
            self._retake()

    def _retake(self) -> None:
        if self.cancel.is_set():
            return
        try:
            future = asyncio.run_coroutine_threadsafe(self.take(), self._loop)
        except RuntimeError:
            return
        while True:
            try:
                future.result(timeout=0.25)
                return
            except concurrent.futures.TimeoutError:
                if self.cancel.is_set():
                    future.cancel()
                    return
            except (concurrent.futures.CancelledError, RuntimeError):
                return
