"""Approvals fixtures: a planned copy of the demo stack (offline: no cloud, no state written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def planned(demo_stack: Path) -> tuple[Any, str]:
    from mgc_iac.operations._planning import plan_stack
    from mgc_iac.plan.planfile import plan_digest

    plan = plan_stack(demo_stack).plan
    return plan, plan_digest(plan)


def set_policy(stack_dir: Path, **policy: Any) -> None:
    path = stack_dir / "stack.yaml"
    data = yaml.safe_load(path.read_text())
    data["approvals"] = policy
    path.write_text(yaml.safe_dump(data, sort_keys=False))
