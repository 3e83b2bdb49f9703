"""spec -> graph: desired resources and per-server steps."""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.graph.build": "build_graph default_flavor",
    "mgc_iac.graph.kinds": "EIP_BANDWIDTH_MBPS MIGRATION_TASK NOTIFICATION REPLACE_ON TARGET_SERVER "
                           "replace_reasons",
    "mgc_iac.graph.model": "CHECKED_GATES DesiredResource Graph MANUAL_STEPS STEP_ORDER ServerNode Step StepKind "
                           "WINDOWED_STEPS WorkflowNode",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
