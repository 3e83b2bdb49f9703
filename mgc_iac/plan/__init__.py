"""Plans: the plan model, the planner, plan files and their checks, the cost."""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.plan.compare": "differences",
    "mgc_iac.plan.cost": "Cost CostPart CostSums HOURS_PER_MONTH PriceKey ServerCost price_keys priced "
                         "server_costs unknown",
    "mgc_iac.plan.model": "Action Drift POLICY_GATE Plan Provenance ResourceChange ServerChange StepAction",
    "mgc_iac.plan.planfile": "plan_digest plan_to_dict read_plan read_plan_body write_plan",
    "mgc_iac.plan.planner": "make_plan",
    "mgc_iac.plan.reviewed": "check_continues check_reviewed",
    "mgc_iac.plan.schema_model": "PlanFile",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
