"""The migration report: one self-contained HTML page built from the state store (read-only)."""

from mgc_iac.report._html import render_report
from mgc_iac.report._model import Report, build_report

__all__ = ["Report", "build_report", "render_report"]
