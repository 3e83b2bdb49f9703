"""Drift: what the cloud reports differently from the recorded resources (changed outside mgc-iac).

`read_live` reads every recorded resource of a stack from the cloud in a few list calls; `find_drift`
compares it with the records, attribute by attribute. The planner decides what to do about each drift.
"""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.drift.compare": "find_drift",
    "mgc_iac.drift.live": "LiveResources read_live",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
