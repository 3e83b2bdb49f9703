"""The embedded lab cloud: a loopback aiohttp server speaking the Huawei Cloud REST APIs mgc-iac uses.

Public names (imported lazily, so importing this package costs nothing until one is used):
    ensure_lab(state_dir=None, seed=None) -> LabEndpoint   the running lab of a state dir, started if needed
    LabEndpoint(url, ak, sk, project_id, region, domain_id) .env() gives the variables to export
    LabServer(state_dir, seed=None, port=0)                 the lab in a thread of this process (tests)
    start_background / stop_background / running / default_state_dir
See README.md next to this file for the seed format, the control API and the lab agent protocol.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ensure_lab", "LabEndpoint", "LabServer", "start_background", "stop_background", "running",
           "default_state_dir"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mgc_iac.lab import process

        return getattr(process, name)
    raise AttributeError(name)
