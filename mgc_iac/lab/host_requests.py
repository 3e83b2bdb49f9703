"""The lab's services asking the lab hosts (a process of their own, `<lab dir>/hosts`) for a host a cloud
operation makes or removes: SMS clone_test makes a server of its own from the target (its lab host is a copy
of the target's root), deleting that server removes its host. Without running lab hosts (instant transfers,
or a lab without hosts) there is nothing to ask: the server then exists in ECS only."""

from __future__ import annotations

import logging
from typing import Literal

from mgc_iac.errors import ConfigError
from mgc_iac.lab.context import LabContext

log = logging.getLogger(__name__)


def host_request(lab: LabContext, op: Literal["clone", "remove"], host: str, name: str | None = None) -> bool:
    """True when the lab hosts did it; False when none run or they could not (logged: the API answer stands)."""
    from mgc_iac.lab.hosts._process import request_hosts

    workdir = lab.store.path.parent / "hosts"
    try:
        return request_hosts(workdir, op, host, name) is not None
    except ConfigError as exc:
        log.warning("lab hosts: %s", exc)
        return False
