"""The embedded lab cloud: a loopback aiohttp server speaking the Huawei Cloud REST APIs mgc-iac uses.

Public names (imported lazily, so importing this package costs nothing until one is used):
    ensure_lab(state_dir=None, seed=None) -> LabEndpoint   the running lab of a state dir, started if needed
    LabEndpoint(url, ak, sk, project_id, region, domain_id) .env() gives the variables to export
    LabServer(state_dir, seed=None, port=0)                 the lab in a thread of this process (tests)
    start_background / stop_background / running / default_state_dir
The lab and its hosts run in the background under one supervisor (supervisor.py); only the workspace
(mgc_iac.operations._workspace) and `mgc-iac lab` start them.
See README.md next to this file for the seed format, the control API and the lab agent protocol.
"""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.lab.host_access": "SeedLabHosts",
    "mgc_iac.lab.prices": "PriceError rate_product",
    "mgc_iac.lab.process": "LabEndpoint LabServer default_state_dir endpoint_for",
    "mgc_iac.lab.requirements": "require_lab_tools",
    "mgc_iac.lab.seed": "load_seed",
    "mgc_iac.lab.supervisor": "ensure_lab ensure_lab_hosts reset_stopped running start_background stop_background "
                              "stop_lab_all",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
