"""spec -> graph: desired resources and per-server steps."""

from mgc_iac.graph.build import build_graph, default_flavor
from mgc_iac.graph.model import (
    MANUAL_STEPS,
    STEP_ORDER,
    DesiredResource,
    Graph,
    ServerNode,
    Step,
    StepKind,
    WorkflowNode,
)

__all__ = ["MANUAL_STEPS", "STEP_ORDER", "DesiredResource", "Graph", "ServerNode", "Step", "StepKind",
           "WorkflowNode", "build_graph", "default_flavor"]
