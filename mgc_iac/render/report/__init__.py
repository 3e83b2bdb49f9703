"""The migration report: one self-contained HTML page built from the state store (read-only)."""

from mgc_iac.render.report._html import render_report
from mgc_iac.render.report._model import Report, build_report

__all__ = ["Report", "build_report", "render_report"]
