"""Drift: what the cloud reports differently from the recorded resources (changed outside mgc-iac).

`read_live` reads every recorded resource of a stack from the cloud in a few list calls; `find_drift`
compares it with the records, attribute by attribute. The planner decides what to do about each drift.
"""

from mgc_iac.drift.compare import find_drift
from mgc_iac.drift.live import LiveResources, read_live

__all__ = ["LiveResources", "find_drift", "read_live"]
