"""`status --watch`: follow a stack while another process (a pipeline's apply) runs it, without taking its lock.

It only reads: every INTERVAL it reads the stack's recorded steps and prints what moved since the last read
(one line per server whose step or state changed; JSON lines with --format json), and ends when no server is
running or queued and no apply holds the lock, or on Ctrl-C.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from mgc_iac.engine.status import stack_status

ACTIVE = ("running", "queued", "pending")


def _rows(status: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {f"{wf['name']}/{s['server']}": (s["progress"], s["current_step"] or "-", s["state"])
            for wf in status["workflows"] for s in wf["servers"]}


def watch_status(plan: Any, store: Any, interval: float, fmt: str, max_polls: int | None = None) -> None:
    """Print the changes of `plan.stack`'s recorded state until nothing runs any more (see the module doc)."""
    seen: dict[str, tuple[str, str, str]] = {}
    polls = 0
    while True:
        status = stack_status(plan, store.snapshot(plan.stack))
        lock = store.lock_info(plan.stack)
        rows = _rows(status)
        for server, row in rows.items():
            if seen.get(server) != row:
                progress, step, state = row
                if fmt == "json":
                    click.echo(json.dumps({"server": server, "progress": progress, "step": step, "state": state,
                                           "serial": status["serial"]}, sort_keys=True))
                else:
                    click.echo(f"{time.strftime('%H:%M:%S')} {server:<32} {progress:>5}  {step:<22} {state}")
        seen = rows
        polls += 1
        busy = lock is not None or any(state in ("running", "queued") for _, _, state in rows.values())
        if not busy or (max_polls is not None and polls >= max_polls):
            if fmt != "json":
                held = f"; locked by {lock.describe()}" if lock is not None else ""
                click.echo(f"stack {plan.stack} at state serial {status['serial']}: nothing is running{held}"
                           if not busy else f"stack {plan.stack} at state serial {status['serial']}{held}")
            return
        time.sleep(interval)
