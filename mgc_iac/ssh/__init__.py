"""SSH side of mgc-iac: connectors (asyncssh, local), typed settings, a connection bound, facts, prechecks.

Names resolve lazily: the lab SMS-Agent (mgc_iac.lab.agent.linuxmain) runs on a source's own Python without
asyncssh or pydantic, and imports only the local connector and the connector contract from here.
"""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.ssh._connector": "CommandResult Connector OutputCallback",
    "mgc_iac.ssh._errors": "known_hosts_name",
    "mgc_iac.ssh._local": "LocalConnector",
    "mgc_iac.ssh._pool": "ConnectionPool",
    "mgc_iac.ssh._probe": "port_reachable",
    "mgc_iac.ssh._settings": "HostKeyPolicy JumpHost SSHSettings TargetEndpoint",
    "mgc_iac.ssh._ssh": "SFTP_BLOCK SSHConnector",
    "mgc_iac.ssh.facts": "HostFacts facts_script facts_summary gather_facts parse_facts",
    "mgc_iac.ssh.hosts": "HostAccess MigrationHosts",
    "mgc_iac.ssh.paths": "DEFAULT_EXCLUDED_LINUX PARTIAL_SUFFIX existing_roots_sh find_selector normalize",
    "mgc_iac.ssh.prechecks": "Difference PrecheckResult Requirements compare_inventory run_prechecks",
    "mgc_iac.ssh.verify": "PathDifference VerifyResult verify_paths",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
