"""The live view of `apply` on a terminal (rich): one row per running, queued or waiting server, redrawn in
place; a server that finishes leaves one summary line above the view.

Used only when stderr is a terminal, `CI` is not set and `--no-progress` is not given; otherwise apply prints
its plain lines (one per state change, stable for logs). The view is fed by the engine's Hooks, which run on
the engine's event loop, while rich redraws from its own thread: a lock guards the rows.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.filesize import decimal
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from mgc_iac.engine import Hooks
from mgc_iac.plan import Plan, StepAction
from mgc_iac.render import human_duration
from mgc_iac.visible import visible_line

COPY_STEPS = ("StartMigration", "StartSynchronization")
WIDE = 120  # columns from which each figure gets a column of its own; below, one short column (80 fits)


def live_wanted(no_progress: bool, stream: Any = None) -> bool:
    """The live view only on a terminal, outside CI, unless --no-progress."""
    stream = stream or sys.stderr
    return not no_progress and not os.environ.get("CI") and stream.isatty()


@contextmanager
def progress_hooks(plan: Plan, plain: Hooks, no_progress: bool) -> Iterator[Hooks]:
    """The hooks apply hands the engine: the live view on a terminal, else `plain`."""
    if not live_wanted(no_progress):
        yield plain
        return
    view = LiveView(plan)
    with view:
        yield view


@dataclass
class _Row:
    address: str                      # workflow/server
    steps: tuple[str, ...]            # the steps this apply may run, in order
    state: str = "pending"            # pending | queued | running | waiting | failed | complete
    step: str = ""
    done: int = 0
    started: float = 0.0              # monotonic start of the current step
    first_start: float = 0.0
    progress: dict[str, Any] = field(default_factory=dict)
    sample: tuple[float, int] | None = None  # (time, bytes) at the first progress of the step: speed fallback
    copied: int = 0                   # bytes copied by this apply's finished copy steps
    queue_position: int | None = None
    needs: str = ""


class LiveView(Hooks):
    """Hooks that draw the live view; use as a context manager around the engine's run."""

    def __init__(self, plan: Plan, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._lock = threading.Lock()
        self._rows: dict[str, _Row] = {}
        self._pushback: dict[str, str] = {}   # endpoint -> "SMS throttled (429); next try in 8 s; ..."
        for server in plan.server_changes:
            steps = tuple(s.step for s in server.steps if s.action in (StepAction.RUN, StepAction.WAIT))
            if steps:
                self._rows[server.address] = _Row(server.address, steps)
        self._live = Live(console=self.console, get_renderable=self._render, refresh_per_second=4,
                          transient=True, redirect_stdout=False, redirect_stderr=False)

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()  # transient: the view is erased, the cursor shown again
        with self._lock:
            rows = list(self._rows.values())
            self._rows.clear()
        for row in rows:
            if row.state == "waiting":
                self._line(f"[yellow]⏸[/] {_shown(row.address)} waits at {row.step}: needs {_shown(row.needs)}")
            elif row.state == "queued":
                self._line(f"[cyan]…[/] {_shown(row.address)} queued: position {row.queue_position} in the "
                           "account-wide queue")
            elif row.state == "running":
                self._line(f"[red]![/] {_shown(row.address)} interrupted in {row.step} (it runs again on the next "
                           "apply)")

    # ---- hooks ----------------------------------------------------------------------------------------------

    def step_started(self, gate: str, attempt: int) -> None:
        address, step = gate.rsplit("/", 1)
        with self._lock:
            row = self._row(address)
            if row.state == "queued":
                self._advance_queue(row)
            now = time.monotonic()
            row.state, row.step, row.started, row.progress, row.sample = "running", step, now, {}, None
            row.first_start = row.first_start or now

    def step_progress(self, gate: str, progress: dict[str, Any]) -> None:
        address, _ = gate.rsplit("/", 1)
        with self._lock:
            row = self._rows.get(address)
            if row is None or row.state != "running":  # a late figure of a step that has ended
                return
            row.progress = dict(progress)
            if row.sample is None:
                row.sample = (time.monotonic(), int(progress.get("replicated_bytes") or 0))

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        address, step = gate.rsplit("/", 1)
        line = ""
        with self._lock:
            row = self._row(address)
            row.step = step
            if status == "done":
                row.done += 1
                if step in COPY_STEPS:
                    row.copied += int(row.progress.get("replicated_bytes") or detail.get("replicated_bytes") or 0)
                row.progress = {}
                if row.steps and step == row.steps[-1]:
                    line = self._complete_line(row)
                    del self._rows[address]
            elif status == "failed":
                line = f"[red]✗[/] {_shown(address)} failed at {step}: {_shown(str(detail.get('error')))}"
                del self._rows[address]
            elif status == "waiting":
                row.state, row.needs = "waiting", visible_line(detail.get("needs") or "approval")
                if detail.get("checks"):  # the gate's automated checks, as the summary shows them
                    from mgc_iac.engine import checks_summary

                    row.needs += f"; checks: {visible_line(checks_summary(detail['checks']))}"
            elif status == "queued":
                row.state, row.queue_position = "queued", detail.get("queue_position")
        if line:
            self._line(line)

    def resource_changed(self, address: str, action: str) -> None:
        self._line(f"- {_shown(address)}: {action}")

    def notified(self, workflow: str, event: str) -> None:
        self._line(f"- notified {_shown(workflow)}: {event}")

    def message(self, text: str) -> None:
        self._line(f"[yellow]![/] {_shown(text)}")

    def api_pressure(self, endpoint: str, text: str | None) -> None:
        with self._lock:
            if text is None:
                self._pushback.pop(endpoint, None)
            else:
                self._pushback[endpoint] = text

    # ---- drawing --------------------------------------------------------------------------------------------

    def _row(self, address: str) -> _Row:
        row = self._rows.get(address)
        if row is None:  # a server the plan did not list as having work (should not happen): show it anyway
            row = self._rows[address] = _Row(address, ())
        return row

    def _advance_queue(self, started: _Row) -> None:
        """FIFO: when a queued server starts, those behind it move up one place."""
        for other in self._rows.values():
            if other.state == "queued" and other.queue_position and started.queue_position \
                    and other.queue_position > started.queue_position:
                other.queue_position -= 1
        started.queue_position = None

    def _complete_line(self, row: _Row) -> str:
        took = human_duration(time.monotonic() - row.first_start) if row.first_start else "-"
        copied = f", {decimal(row.copied)} copied" if row.copied else ""
        return f"[green]✓[/] {_shown(row.address)}: {row.done} step(s) done in {took}{copied}"

    def _line(self, markup: str) -> None:
        """One line above the view; names and messages in it are escaped (an error may hold `[...]`)."""
        self.console.print(markup, highlight=False, soft_wrap=True)

    def _render(self) -> RenderableType:
        with self._lock:
            rows = sorted((r for r in self._rows.values() if r.state != "pending"), key=_order)
            pending = sum(1 for r in self._rows.values() if r.state == "pending")
            # as many rows as the terminal shows (header and footer aside): running ones first
            room = max(3, self.console.size.height - 3 - len(self._pushback))
            shown, hidden = rows[:room], rows[room:]
            table = Table(box=None, pad_edge=False, show_edge=False, expand=False, header_style="bold")
            now = time.monotonic()
            width = self.console.size.width
            if width < WIDE:  # 80 columns: the figures in one short column, the gate in the step column
                server_width = max(12, min(max((len(r.address) for r in shown), default=6), width - 60))
                table.add_column("server", no_wrap=True, overflow="ellipsis", max_width=server_width)
                table.add_column("step", no_wrap=True, min_width=20)
                # what is left of the line: a long "needs ..." is cut, never the step or the figures before it
                table.add_column("progress", no_wrap=True, overflow="ellipsis", max_width=width - server_width - 25)
                for row in shown:
                    table.add_row(*self._narrow_cells(row, now))
            else:
                # a wide terminal: one column per figure, never shortening the server's name or its step
                widths = {"server": max((len(r.address) for r in shown), default=6), "step": 26}
                for name in ("server", "step", "progress", "", "copied", "speed", "eta", "state"):
                    table.add_column(name, no_wrap=True, justify="right" if name in ("", "speed", "eta") else "left",
                                     min_width=widths.get(name))
                for row in shown:
                    table.add_row(*self._cells(row, now))
            pushback = [Text(f"! {text}", style="yellow") for text in self._pushback.values()]
        more = [f"{sum(1 for r in hidden if r.state == s)} {s}" for s in ("running", "waiting", "queued")
                if any(r.state == s for r in hidden)]
        notes = ([f"and {len(hidden)} more server(s): {', '.join(more)}"] if hidden else []) + \
            ([f"{pending} server(s) not started yet"] if pending else [])
        parts: list[RenderableType] = [table, *pushback]
        if notes:
            parts.append(Text("; ".join(notes), style="dim"))
        return Group(*parts) if len(parts) > 1 else table

    def _figures(self, row: _Row, now: float) -> tuple[int, int, int, float, int]:
        """(percent, bytes done, bytes total, bytes/s, seconds left) of a copy step, from the SMS task's figures."""
        p = row.progress
        done, total = int(p.get("replicated_bytes") or 0), int(p.get("total_bytes") or 0)
        percent = int(p.get("percent") or 0)
        speed = float(p.get("speed_mbps") or 0.0) * 1_000_000 / 8  # SMS reports Mbit/s
        if speed <= 0 and row.sample is not None and now > row.sample[0] + 0.5:
            speed = max(done - row.sample[1], 0) / (now - row.sample[0])
        remain = int(p.get("remain_seconds") or 0)
        if not remain and speed > 0 and total > done:
            remain = int((total - done) / speed)
        return percent, done, total, speed, remain

    def _narrow_cells(self, row: _Row, now: float) -> tuple[RenderableType, ...]:
        """A row in 80 columns: server, step (the gate, for a waiting server), every figure in one short cell."""
        position = f" {row.steps.index(row.step) + 1}/{len(row.steps)}" if row.step in row.steps else ""
        if row.state == "waiting":
            return (Text(row.address), Text(f"⏸ {row.step}", style="yellow"),
                    Text(f"gate: needs {row.needs}", style="yellow"))
        step = Text(f"{row.step or '-'}{position}")
        if row.state == "queued":
            return Text(row.address), step, Text(f"queued #{row.queue_position}", style="cyan")
        elapsed = human_duration(now - row.started) if row.started else ""
        if not row.progress:
            return Text(row.address), step, Text(f"running {elapsed}", style="green")
        percent, done, total, speed, remain = self._figures(row, now)
        copied = f"{decimal(done)}/{decimal(total)}" if total else decimal(done)
        rate = f"{decimal(int(speed))}/s" if speed > 0 else "-"
        return (Text(row.address), step,
                Text(f"{percent}% {copied} {rate} ETA {human_duration(remain) if remain else '-'}"))

    def _cells(self, row: _Row, now: float) -> tuple[RenderableType, ...]:
        position = f" ({row.steps.index(row.step) + 1}/{len(row.steps)})" if row.step in row.steps else ""
        step = Text(f"{row.step or '-'}{position}")
        if row.state == "queued":
            return (Text(row.address), step, ProgressBar(total=100, completed=0, width=20), "", "", "", "",
                    Text(f"queued #{row.queue_position}", style="cyan"))
        if row.state == "waiting":
            return (Text(row.address), step, ProgressBar(total=100, completed=0, width=20), "", "", "", "",
                    Text(f"⏸ gate waiting: needs {row.needs}", style="yellow"))
        p = row.progress
        elapsed = human_duration(now - row.started) if row.started else ""
        if not p:  # a step without figures (cloud calls, SSH): a pulse and the time it has taken
            return (Text(row.address), step, ProgressBar(total=None, width=20, pulse=True), "", "", "", "",
                    Text(f"running {elapsed}", style="green"))
        percent, done, total, speed, remain = self._figures(row, now)
        return (Text(row.address), step, ProgressBar(total=100, completed=percent, width=20), f"{percent}%",
                f"{decimal(done)} / {decimal(total)}" if total else decimal(done),
                f"{decimal(int(speed))}/s" if speed > 0 else "-", human_duration(remain) if remain else "-",
                Text(f"{visible_line(p.get('state') or 'running').lower()} {elapsed}", style="green"))


def _shown(text: object) -> str:
    """Data in a line of rich markup: control characters escaped and visible, markup brackets literal."""
    return escape(visible_line(text))


def _order(row: _Row) -> tuple[int, str]:
    return ({"running": 0, "waiting": 1, "queued": 2}.get(row.state, 3), row.address)
