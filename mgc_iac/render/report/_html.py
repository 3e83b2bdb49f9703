"""The report as one HTML page (jinja2, autoescaped; styles inline, no external assets)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import jinja2
from markupsafe import Markup
from rich.filesize import decimal

from mgc_iac.render.filters import human_duration
from mgc_iac.render.report._model import Report
from mgc_iac.visible import visible


def render_report(report: Report) -> str:
    return _env().get_template("report.html.j2").render(report=report)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _clock(value: datetime | None) -> str:
    return value.strftime("%H:%M:%S") if value else "-"


def _visible(value: object) -> object:
    """Every value with its control characters escaped and visible, then HTML-escaped by autoescape."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return Markup(visible(value)) if isinstance(value, Markup) else visible(value)


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("mgc_iac.render.report", "templates"),
                             undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             finalize=_visible)
    env.filters.update(size=lambda n: decimal(int(n or 0)), when=_when, clock=_clock, duration=human_duration)
    return env
