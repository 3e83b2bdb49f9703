"""Renderers: a Plan (or diagnostics) in, a string out. Text for terminals, markdown for PR comments, JSON
for machines (the plan file layout itself). Renderers never print and never touch files."""

from __future__ import annotations

from mgc_iac.render._render import FORMATS, render_diagnostics, render_plan

__all__ = ["FORMATS", "render_diagnostics", "render_plan"]
