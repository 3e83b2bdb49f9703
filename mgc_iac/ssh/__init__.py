"""SSH side of mgc-iac: connectors (asyncssh, local), typed settings, a connection bound, facts, prechecks.

Names resolve lazily: the lab SMS-Agent (mgc_iac.lab.agent.linuxmain) runs on a source's own Python without
asyncssh or pydantic, and imports only the local connector and the connector contract from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mgc_iac._lazy import lazy_exports

if TYPE_CHECKING:
    from mgc_iac.ssh._connector import CommandResult, Connector, OutputCallback
    from mgc_iac.ssh._errors import known_hosts_name
    from mgc_iac.ssh._local import LocalConnector
    from mgc_iac.ssh._pool import ConnectionPool
    from mgc_iac.ssh._probe import port_reachable
    from mgc_iac.ssh._settings import HostKeyPolicy, JumpHost, SSHSettings, TargetEndpoint
    from mgc_iac.ssh._ssh import SFTP_BLOCK, SSHConnector
    from mgc_iac.ssh.facts import HostFacts, facts_script, gather_facts, parse_facts
    from mgc_iac.ssh.hosts import HostAccess, MigrationHosts
    from mgc_iac.ssh.prechecks import Difference, PrecheckResult, Requirements, compare_inventory, run_prechecks
    from mgc_iac.ssh.verify import VerifyResult

_CONNECTOR, _SETTINGS, _SSH = "mgc_iac.ssh._connector", "mgc_iac.ssh._settings", "mgc_iac.ssh._ssh"
_FACTS, _PRECHECKS = "mgc_iac.ssh.facts", "mgc_iac.ssh.prechecks"
_EXPORTS = {
    "CommandResult": _CONNECTOR, "Connector": _CONNECTOR, "OutputCallback": _CONNECTOR,
    "known_hosts_name": "mgc_iac.ssh._errors", "LocalConnector": "mgc_iac.ssh._local",
    "ConnectionPool": "mgc_iac.ssh._pool", "port_reachable": "mgc_iac.ssh._probe",
    "HostKeyPolicy": _SETTINGS, "JumpHost": _SETTINGS, "SSHSettings": _SETTINGS, "TargetEndpoint": _SETTINGS,
    "SFTP_BLOCK": _SSH, "SSHConnector": _SSH,
    "HostFacts": _FACTS, "facts_script": _FACTS, "gather_facts": _FACTS, "parse_facts": _FACTS,
    "Difference": _PRECHECKS, "PrecheckResult": _PRECHECKS, "Requirements": _PRECHECKS,
    "compare_inventory": _PRECHECKS, "run_prechecks": _PRECHECKS,
    "HostAccess": "mgc_iac.ssh.hosts", "MigrationHosts": "mgc_iac.ssh.hosts",
    "VerifyResult": "mgc_iac.ssh.verify",  # not verify(): the module's own name would shadow it
}

__all__ = ["SFTP_BLOCK", "CommandResult", "ConnectionPool", "Connector", "Difference", "HostAccess", "HostFacts",
           "HostKeyPolicy", "JumpHost", "LocalConnector", "MigrationHosts", "OutputCallback", "PrecheckResult",
           "Requirements", "SSHConnector", "SSHSettings", "TargetEndpoint", "VerifyResult", "compare_inventory",
           "facts_script", "gather_facts", "known_hosts_name", "parse_facts", "port_reachable", "run_prechecks"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
