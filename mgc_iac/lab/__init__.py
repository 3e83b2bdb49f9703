"""The embedded lab cloud: a loopback aiohttp server speaking the Huawei Cloud REST APIs mgc-iac uses.

Public names (imported lazily, so importing this package costs nothing until one is used):
    ensure_lab(state_dir=None, seed=None) -> LabEndpoint   the running lab of a state dir, started if needed
    LabEndpoint(url, ak, sk, project_id, region, domain_id) .env() gives the variables to export
    LabServer(state_dir, seed=None, port=0)                 the lab in a thread of this process (tests)
    start_background / stop_background / running / default_state_dir
The lab and its hosts run in the background under one supervisor (supervisor.py); only the workspace
(mgc_iac.operations.workspace) and `mgc-iac lab` start them.
See README.md next to this file for the seed format, the control API and the lab agent protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mgc_iac._lazy import lazy_exports

_EXPORTS = {
    "ensure_lab": "mgc_iac.lab.supervisor", "start_background": "mgc_iac.lab.supervisor",
    "stop_background": "mgc_iac.lab.supervisor", "running": "mgc_iac.lab.supervisor",
    "LabEndpoint": "mgc_iac.lab.process", "LabServer": "mgc_iac.lab.process",
    "default_state_dir": "mgc_iac.lab.process",
}
__all__ = ["ensure_lab", "LabEndpoint", "LabServer", "start_background", "stop_background", "running",
           "default_state_dir"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
