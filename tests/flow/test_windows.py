"""Cutover windows as time, with a fixed clock: open or closed, the next opening, across DST changes
(zoneinfo with the pinned tzdata: Europe/Berlin springs forward on 2026-03-29 and falls back on 2026-10-25)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from mgc_iac.engine.schedule import window_allows, window_message
from mgc_iac.stack.models import CutoverWindow
from mgc_iac.stack.windows import describe, next_opening, open_window


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


BERLIN_SAT = CutoverWindow(days=["sat", "sun"], start="22:00", duration="4h", timezone="Europe/Berlin")


def test_open_and_next_on_an_ordinary_weekend() -> None:
    # Sat 2026-06-13 22:00 CEST = 20:00 UTC
    assert open_window(BERLIN_SAT, utc(2026, 6, 13, 19, 59)) is None
    assert open_window(BERLIN_SAT, utc(2026, 6, 13, 20, 0)) == (utc(2026, 6, 13, 20), utc(2026, 6, 14, 0))
    assert open_window(BERLIN_SAT, utc(2026, 6, 13, 23, 59)) is not None
    assert open_window(BERLIN_SAT, utc(2026, 6, 14, 0, 0)) is None          # closed at 02:00 local
    # a window that opened the evening before is still open after local midnight
    assert open_window(BERLIN_SAT, utc(2026, 6, 14, 23, 30)) == (utc(2026, 6, 14, 20), utc(2026, 6, 15, 0))
    nxt = next_opening(BERLIN_SAT, utc(2026, 6, 15, 9, 0))                  # Monday: next Saturday
    assert nxt.astimezone(UTC) == utc(2026, 6, 20, 20, 0)
    assert describe(nxt, BERLIN_SAT) == "Sat 2026-06-20 22:00 Europe/Berlin (CEST)"


def test_winter_offset_is_followed() -> None:
    # CET (+1) in January: 22:00 local is 21:00 UTC
    assert next_opening(BERLIN_SAT, utc(2026, 1, 5)).astimezone(UTC) == utc(2026, 1, 10, 21, 0)


def test_spring_forward_gap_opens_when_the_clock_reaches_it() -> None:
    # 2026-03-29 02:00 CET jumps to 03:00 CEST: a 02:30 opening does not exist that day; it opens at 03:30 CEST
    window = CutoverWindow(days=["sun"], start="02:30", duration="1h", timezone="Europe/Berlin")
    opened = next_opening(window, utc(2026, 3, 28, 12))
    assert opened.astimezone(UTC) == utc(2026, 3, 29, 1, 30)
    assert describe(opened, window).startswith("Sun 2026-03-29 03:30 Europe/Berlin (CEST)")
    assert open_window(window, utc(2026, 3, 29, 1, 29)) is None
    assert open_window(window, utc(2026, 3, 29, 2, 29)) is not None         # one real hour
    assert open_window(window, utc(2026, 3, 29, 2, 30)) is None


def test_window_across_the_fall_back_lasts_its_real_duration() -> None:
    # 2026-10-25 03:00 CEST falls back to 02:00 CET: a 01:00-local 4h window is four real hours (ends 04:00 CET)
    window = CutoverWindow(days=["sun"], start="01:00", duration="4h", timezone="Europe/Berlin")
    opened, closes = open_window(window, utc(2026, 10, 24, 23, 30))  # 01:30 CEST
    assert (opened, closes) == (utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 3, 0))
    assert describe(closes, window) == "Sun 2026-10-25 04:00 Europe/Berlin (CET)"
    # an opening time that exists twice (02:30) opens at its first occurrence, still in summer time
    twice = CutoverWindow(days=["sun"], start="02:30", duration="30m", timezone="Europe/Berlin")
    assert next_opening(twice, utc(2026, 10, 24)).astimezone(UTC) == utc(2026, 10, 25, 0, 30)


def test_new_york_and_utc() -> None:
    ny = CutoverWindow(days=["mon", "tue", "wed", "thu", "fri"], start="23:00", duration="90m",
                       timezone="America/New_York")
    # Fri 2026-03-06 23:00 EST (-5) = Sat 04:00 UTC; the next after it is Mon 2026-03-09 23:00 EDT (-4) = 03:00 UTC
    assert next_opening(ny, utc(2026, 3, 6, 12)).astimezone(UTC) == utc(2026, 3, 7, 4, 0)
    assert next_opening(ny, utc(2026, 3, 7, 6)).astimezone(UTC) == utc(2026, 3, 10, 3, 0)
    plain = CutoverWindow(days=["wed"], start="00:00", duration="24h")
    assert plain.timezone == "UTC" and open_window(plain, utc(2026, 6, 17, 23, 59)) is not None


def test_only_cutover_and_source_clear_wait_for_the_window() -> None:
    closed = utc(2026, 6, 15, 9, 0)
    for step in ("StartMigration", "BusinessValidation", "MigrationTaskClear"):
        assert window_allows(BERLIN_SAT, step, closed).open
    answer = window_allows(BERLIN_SAT, "Cutover", closed)
    assert not answer.open and window_allows(BERLIN_SAT, "SourceClear", closed).open is False
    assert window_message("Cutover", "shop/web-01", answer) == (
        "Cutover of shop/web-01 waits for its window (next: Sat 2026-06-20 22:00 Europe/Berlin (CEST))")
    assert window_allows(None, "Cutover", closed).open


@pytest.mark.parametrize(("field", "value", "words"), [
    ("timezone", "Mars/Olympus", "not an IANA time zone: write one like"),
    ("timezone", "Europe/Berln", "not an IANA time zone: did you mean Europe/Berlin"),
    ("duration", "4 hours", "not a duration"),
    ("duration", "0m", "outside 1 minute"), ("start", "24:00", "pattern"), ("days", ["funday"], "mon")])
def test_bad_windows_are_refused(field: str, value: object, words: str) -> None:
    raw = {"days": ["sat"], "start": "22:00", "duration": "4h", "timezone": "UTC", field: value}
    with pytest.raises(ValidationError, match=words):
        CutoverWindow.model_validate(raw)
