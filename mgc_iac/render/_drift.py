"""How a drift reads in a plan: its values, and what the plan does about it."""

from __future__ import annotations

import json
from typing import Any

from mgc_iac.plan import Drift

_EXISTS = {True: "exists", False: "deleted"}


def drift_value(value: Any) -> str:
    """A recorded or live value: `deleted` for a resource that is gone, `(none)` for an absent tag."""
    if isinstance(value, bool):
        return _EXISTS[value]
    if value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def drift_effect(drift: Drift) -> str:
    if drift.effect == "repair":
        return "created again" if drift.attribute == "exists" else "put back as the spec says"
    if drift.attribute == "exists":
        return "reported; not re-created"
    return "reported only: mgc-iac leaves it alone"
