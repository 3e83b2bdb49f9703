"""Renderers: a Plan (or diagnostics) in, a string out. Text for terminals, markdown for PR comments, JSON
for machines (the plan file layout itself). Renderers never print and never touch files."""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.render._render": "FORMATS render_diagnostics render_plan",
    "mgc_iac.render.comment": "pr_comment",
    "mgc_iac.render.documents": "apply_event apply_result approval approval_check discovery dumps error journal "
                                "lab_messages status status_change validation",
    "mgc_iac.render.filters": "human_duration",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
