"""One reader of SMS task and source states for every running step of an apply.

Huawei's Terraform provider waits 5 s after an action, then reads the task every 10 s (StateChangeConf Delay 5 s,
PollInterval 10 s in resource_huaweicloud_sms_task.go), one ShowTask per task; its API gateway throttles per
account (429, APIGW.0308). At a thousand servers one read per task is a hundred calls a second. Here ONE reader
lists the account's tasks and sources in pages (ListTasks and ListServers, limit 200: ListServers' documented
default and, by huawei-behaviour.md, ListTasks' largest page) and every waiting step takes its task from the same
answer, at the same cadence: first read about `interval / 2` after the step began waiting, then every
`interval`. A list item lacks only what the wait can do without: ListTasks has no `connected` flag, migration
cycle or remaining time (SDK TasksResponseBody), and ListServers has the first two and the byte counts
(SourceServersResponseBody), so no per-task read is needed; the remaining time is estimated from bytes and speed.

Waiting steps lend their parallelism slot back to the engine meanwhile (CallScope.idle), feed the step's progress
watchdog with what they see (CallScope.progress) and end at the watchdog's deadline or on cancel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from mgc_iac.cloud._scope import CallScope, call_scope, current_scope
from mgc_iac.cloud._types import SourceServer, Task
from mgc_iac.errors import CloudError, CloudUnavailableError

PAGE_LIMIT = 200          # ListTasks / ListServers page size: the most Huawei documents
IDLE_EXIT_SECONDS = 30.0  # the reader's thread ends after this long with nobody waiting
CHECK_SECONDS = 1.0       # how often a waiting step looks at its cancel flag and deadline (cheap at 1,000)


@dataclass(frozen=True)
class FleetTask:
    """One task as the last list read showed it, with its source's flags and byte counts; `task` is None when the
    task was not listed (deleted, or never there)."""

    task: Task | None
    source: SourceServer | None
    read_at: float                      # time.monotonic() of the read

    @property
    def gone(self) -> bool:
        return self.task is None

    def fingerprint(self) -> tuple[Any, ...]:
        """What counts as progress for the watchdog: state, cycle, bytes, sub-task percentages, the error."""
        t, s = self.task, self.source
        if t is None:
            return ("gone",)
        return (t.state, t.migration_cycle, s.state if s else "", t.replicated_bytes,
                tuple(st.progress for st in t.sub_tasks), t.error)

    def words(self) -> str:
        t = self.task
        if t is None:
            return "the task is gone"
        copied = f", {_size(t.replicated_bytes)} of {_size(t.total_bytes)} copied" if t.total_bytes else ""
        cycle = f" ({t.migration_cycle})" if t.migration_cycle else ""
        return f"task {t.state}{cycle}{copied}"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def merged(task: Task, source: SourceServer | None) -> Task:
    """A list item completed from its source's list item: cycle, connected, byte counts, and the remaining time
    estimated from them and the speed (ListTasks has no remain_seconds)."""
    if source is None:
        return task
    left = max(source.total_bytes - source.replicated_bytes, 0)
    remain = int(left * 8 / (task.migrate_speed_mbps * 1_000_000)) if task.migrate_speed_mbps > 0 else 0
    return replace(task, migration_cycle=source.migration_cycle, connected=source.connected,
                   replicated_bytes=source.replicated_bytes, total_bytes=source.total_bytes, remain_seconds=remain)


@dataclass(eq=False)
class _Waiter:
    task_id: str
    registered: float                   # a read begun before this shows the task before the step's action
    interval: float
    first: float                        # when its first read may be served (the action has settled)
    due: float
    weight: int = 1
    event: threading.Event = field(default_factory=threading.Event)
    view: FleetTask | None = None
    error: BaseException | None = None


class FleetReader:
    """Reads pages of the account's tasks and sources for whoever waits; one per apply (thread-safe)."""

    def __init__(self, sms: Any, *, page_limit: int = PAGE_LIMIT, clock: Callable[[], float] = time.monotonic) -> None:
        self._sms = sms
        self._page_limit = page_limit
        self._clock = clock
        self._cond = threading.Condition()
        self._waiters: set[_Waiter] = set()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_read = float("-inf")
        self._tasks: dict[str, Task] = {}
        self._sources: dict[str, SourceServer] = {}
        self._read_at = float("-inf")
        self._noted: dict[str, tuple[Task, float]] = {}  # what the apply knows itself (READY once created), when
        self._stale: dict[str, float] = {}  # tasks acted on (when) since the read began: that read is out of date
        self.reads = 0                  # completed list reads (each: one page or more of each list)

    # ---- the waiting side ----------------------------------------------------------------------------------

    def wait(self, task_id: str, reached: Callable[[FleetTask], bool], *, interval: float = 10.0,
             delay: float | None = None, what: str = "", on_view: Callable[[FleetTask], None] | None = None,
             confirm_gone: bool = True) -> FleetTask:
        """Block until `reached(view)` is true for the task and return that view. `reached` may raise (a failure
        state). The first view comes about `delay` (default: interval / 2) from now, then one every `interval`.
        A task missing from the list is confirmed with one ShowTask unless `confirm_gone` is false (a wait for a
        task SMS is deleting: gone is what it waits for, and one ShowTask per deleted task was a thousand calls
        at a thousand servers)."""
        scope = current_scope() or CallScope(who=what)
        what = what or f"SMS task {task_id}"
        now = self._clock()
        first = now + (interval / 2 if delay is None else delay)
        waiter = _Waiter(task_id, now, interval, first, first)
        with self._cond:
            self._waiters.add(waiter)
            self._ensure_thread()
            self._cond.notify_all()
        try:
            with scope.lent():
                while True:
                    if waiter.event.wait(CHECK_SECONDS):
                        with self._cond:
                            waiter.event.clear()
                            view, error, waiter.error = waiter.view, waiter.error, None
                        if error is not None:
                            raise error
                        if view is not None and view.gone and confirm_gone:
                            view = self._confirm_gone(task_id, view)
                        if view is not None:
                            scope.progress(view.fingerprint(), view.words())
                            if on_view is not None:
                                on_view(view)
                            if reached(view):
                                return view
                    if scope.cancel.is_set():
                        raise scope.interrupted(what, "sms", "list_tasks")
                    deadline = scope.deadline()
                    if deadline is not None and self._clock() > deadline:
                        raise scope.expired(CloudUnavailableError(f"{what}: no fresh answer from SMS's task list",
                                                                  service="sms", operation="list_tasks"))
        finally:
            with self._cond:
                self._waiters.discard(waiter)
                self._cond.notify_all()

    def _confirm_gone(self, task_id: str, view: FleetTask) -> FleetTask:
        """A task missing from the list is confirmed with one ShowTask: a list paged while tasks come and go can
        skip an item."""
        from mgc_iac.errors import CloudNotFoundError

        try:
            task = self._sms.show_task(task_id)
        except CloudNotFoundError:
            return view
        with self._cond:
            source = self._sources.get(task.source_id)
        return FleetTask(merged(task, source) if source is not None else task, source, view.read_at)

    def latest(self, task_id: str, max_age: float) -> FleetTask | None:
        """The task as the last read showed it, when that read is at most `max_age` seconds old and nobody acted
        on the task since."""
        with self._cond:
            if self._clock() - self._read_at > max_age or task_id in self._stale:
                return None
            return self._view(task_id)

    def note(self, task_id: str, state: str) -> None:
        """What the apply knows without a read (a task it just created is READY)."""
        with self._cond:
            now = self._clock()
            self._noted[task_id] = (Task(id=task_id, name="", state=state, source_id="", target_server_id=""), now)
            self._stale[task_id] = now

    def noted(self, task_id: str) -> Task | None:
        with self._cond:
            found = self._noted.get(task_id)
            return found[0] if found else None

    def forget(self, task_id: str) -> None:
        """An action is about to change the task: what was read or noted of it is out of date."""
        with self._cond:
            self._noted.pop(task_id, None)
            self._stale[task_id] = self._clock()

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    # ---- the reading side ----------------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mgc-iac-fleet-reader", daemon=True)
            self._thread.start()

    def _min_gap(self) -> float:
        """Reads come at most every half of the shortest interval waited with (Terraform's 5 s of 10 s)."""
        return min((w.interval for w in self._waiters), default=10.0) / 2

    def _run(self) -> None:
        # a failing endpoint is tried again for as long as someone waits (each waiter ends at its own deadline)
        scope = CallScope(who="fleet reader", cancel=self._stop, weight=self._weight,
                          deadline=lambda: None if self._weight(empty=0) else 0.0)
        with call_scope(scope):
            while True:
                with self._cond:
                    if not self._next_read_due():
                        return
                started = self._clock()
                try:
                    tasks, sources = self._read()
                    error: BaseException | None = None
                except CloudError as exc:   # transient failures are retried inside (CallScope without deadline)
                    tasks, sources, error = None, None, exc
                except Exception as exc:  # noqa: BLE001 - a bug of ours fails the waits, never hangs them
                    tasks, sources = None, None
                    error = CloudError(f"reading SMS's task list failed: {type(exc).__name__}: {exc}",
                                       service="sms", operation="list_tasks")
                if self._stop.is_set():
                    return
                self._deliver(tasks, sources, error, started)

    def _next_read_due(self) -> bool:
        """Under the lock: sleep until a waiter is due (and the gap since the last read has passed); False when
        the reader should end (closed, or nobody waited for a while)."""
        idle_since = None
        while True:
            if self._stop.is_set():
                self._thread = None
                return False
            now = self._clock()
            if not self._waiters:
                idle_since = idle_since or now
                if now - idle_since >= IDLE_EXIT_SECONDS:
                    self._thread = None
                    return False
                self._cond.wait(timeout=IDLE_EXIT_SECONDS)
                continue
            idle_since = None
            at = max(min(w.due for w in self._waiters), self._last_read + self._min_gap())
            if at <= now:
                return True
            self._cond.wait(timeout=at - now)

    def _weight(self, empty: int = 1) -> int:
        with self._cond:
            return len(self._waiters) or empty

    def _read(self) -> tuple[dict[str, Task], dict[str, SourceServer]]:
        tasks = {t.id: t for t in self._sms.list_tasks(page_size=self._page_limit)}
        sources = {s.id: s for s in self._sms.list_sources(page_size=self._page_limit)}
        return tasks, sources

    def _deliver(self, tasks: dict[str, Task] | None, sources: dict[str, SourceServer] | None,
                 error: BaseException | None, started: float) -> None:
        now = self._clock()
        with self._cond:
            self._last_read = now
            if tasks is not None and sources is not None:
                self._tasks, self._sources, self._read_at = tasks, sources, now
                # what was acted on or noted before this read began, the read shows
                self._stale = {k: t for k, t in self._stale.items() if t >= started}
                self._noted = {k: v for k, v in self._noted.items() if v[1] >= started}
                self.reads += 1
            for waiter in self._waiters:
                if waiter.first > now or started < waiter.registered:
                    continue  # its action has not settled yet, or the read began before it: the next read
                if error is not None:
                    waiter.error = error
                else:
                    waiter.view = self._view(waiter.task_id)
                    waiter.due = now + waiter.interval
                waiter.event.set()

    def _view(self, task_id: str) -> FleetTask:
        task = self._tasks.get(task_id)
        source = self._sources.get(task.source_id) if task is not None else None
        return FleetTask(merged(task, source) if task is not None else None, source, self._read_at)
