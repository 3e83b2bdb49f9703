"""Cutover windows as time: when a workflow's window is open, and when it opens next. Pure: the clock is an
argument (an aware datetime), so every answer is testable with a fixed clock, DST transitions included.

A window opens on each of its `days` at `start`, local time in its IANA `timezone` (zoneinfo, with the tzdata
package pinned so every machine has the same rules), and stays open for `duration` of elapsed time. Across a
DST change: an opening time that does not exist that day (the spring-forward gap) opens when the clocks reach
it, i.e. shifted by the gap (zoneinfo's fold=0 reading: 02:30 in Europe/Berlin on the last Sunday of March is
03:30 CEST); an opening time that exists twice (fall back) opens at its first occurrence. A 4h window is four
real hours, whatever the wall clock does meanwhile.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mgc_iac.stack.models import CutoverWindow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order


def _openings(window: CutoverWindow, around: datetime, before_days: int, after_days: int) -> list[datetime]:
    """Every opening (UTC) whose local date is within the range around `around`'s local date."""
    zone = ZoneInfo(window.timezone)
    local_day = around.astimezone(zone).date()
    hours, minutes = (int(p) for p in window.start.split(":"))
    out = []
    for offset in range(-before_days, after_days + 1):
        day: date = local_day + timedelta(days=offset)
        if DAYS[day.weekday()] in window.days:
            local = datetime.combine(day, time(hours, minutes), tzinfo=zone)  # fold=0: see the module docstring
            out.append(local.astimezone(UTC))
    return sorted(out)


def open_window(window: CutoverWindow, now: datetime) -> tuple[datetime, datetime] | None:
    """(opened, closes) in UTC of the window open at `now` (aware), or None when it is closed."""
    span = timedelta(minutes=window.minutes)
    back = span.days + 2
    for opened in reversed(_openings(window, now, back, 1)):
        if opened <= now < opened + span:
            return opened, opened + span
    return None


def next_opening(window: CutoverWindow, now: datetime) -> datetime:
    """The first opening strictly after `now`, in the window's time zone."""
    for opened in _openings(window, now, 1, 8):
        if opened > now:
            return opened.astimezone(ZoneInfo(window.timezone))
    raise AssertionError("a window with at least one day opens within 8 days")  # pragma: no cover


def describe(moment: datetime, window: CutoverWindow) -> str:
    """`Sat 2026-03-28 22:00 Europe/Berlin (CET)`: local time and zone, as users read it."""
    local = moment.astimezone(ZoneInfo(window.timezone))
    abbreviation = local.tzname() or ""
    zone = window.timezone + (f" ({abbreviation})" if abbreviation and abbreviation != window.timezone else "")
    return f"{local:%a %Y-%m-%d %H:%M} {zone}"


def summary(window: CutoverWindow) -> str:
    """`mon, tue 22:00 for 4h (Europe/Berlin)`: the window as declared."""
    return f"{', '.join(window.days)} {window.start} for {window.duration} ({window.timezone})"


def utc_now() -> datetime:
    return datetime.now(UTC)
