"""SSH side of mgc-iac: connectors (asyncssh, local), typed settings, a connection bound, facts, prechecks.

Names resolve lazily: the lab SMS-Agent (mgc_iac.lab.agent.linuxmain) runs on a source's own Python without
asyncssh or pydantic, and imports only the local connector and the connector contract from here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mgc_iac.ssh._connector import CommandResult, Connector, OutputCallback
    from mgc_iac.ssh._errors import known_hosts_name
    from mgc_iac.ssh._local import LocalConnector
    from mgc_iac.ssh._pool import ConnectionPool
    from mgc_iac.ssh._probe import port_reachable
    from mgc_iac.ssh._settings import HostKeyPolicy, JumpHost, SSHSettings
    from mgc_iac.ssh._ssh import SFTP_BLOCK, SSHConnector
    from mgc_iac.ssh.facts import HostFacts, facts_script, gather_facts, parse_facts
    from mgc_iac.ssh.prechecks import Difference, PrecheckResult, Requirements, compare_inventory, run_prechecks

_EXPORTS = {
    "CommandResult": "_connector", "Connector": "_connector", "OutputCallback": "_connector",
    "known_hosts_name": "_errors", "LocalConnector": "_local", "ConnectionPool": "_pool",
    "port_reachable": "_probe", "HostKeyPolicy": "_settings", "JumpHost": "_settings", "SSHSettings": "_settings",
    "SFTP_BLOCK": "_ssh", "SSHConnector": "_ssh", "HostFacts": "facts", "facts_script": "facts",
    "gather_facts": "facts", "parse_facts": "facts", "Difference": "prechecks", "PrecheckResult": "prechecks",
    "Requirements": "prechecks", "compare_inventory": "prechecks", "run_prechecks": "prechecks",
}

__all__ = ["SFTP_BLOCK", "CommandResult", "ConnectionPool", "Connector", "Difference", "HostFacts",
           "HostKeyPolicy", "JumpHost", "LocalConnector", "OutputCallback", "PrecheckResult", "Requirements",
           "SSHConnector", "SSHSettings", "compare_inventory", "facts_script", "gather_facts",
           "known_hosts_name", "parse_facts", "port_reachable", "run_prechecks"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mgc_iac.ssh' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mgc_iac.ssh.{module}"), name)


def __dir__() -> list[str]:
    return __all__
