"""What plan and apply parse for pipelines: a --max-wait DURATION and the deadline it gives; --new-state."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import click

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class Duration(click.ParamType):
    """90s, 10m, 1h30m, 2d or plain seconds."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip().lower()
        if text.isdigit():
            return float(text)
        match = _DURATION.match(text)
        if not text or not match or not any(match.groups()):
            self.fail(f"{value!r} is not a duration: write it like 90s, 10m, 1h30m or 2d", param, ctx)
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return float(days * 86400 + hours * 3600 + minutes * 60 + seconds)


def deadline(max_wait: float | None) -> float | None:
    """The time.monotonic() by which apply returns (None: no limit)."""
    return None if max_wait is None else time.monotonic() + max_wait


def new_state_option(what: str) -> Callable[[Any], Any]:
    """plan's and apply's `--new-state` (the `new_state` flag): `what` the command does on purpose in CI."""
    return click.option("--new-state", is_flag=True,
                        help=f"In CI (CI set): {what} on purpose (a new backend; MGC_IAC_NEW_STATE=1 does the same). "
                             "Without it, an empty state location or a missing state file is refused in CI.")
