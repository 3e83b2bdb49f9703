"""The public surface other parts of mgc-iac (engine, providers, lab, CLI) import: changed only on purpose."""

from __future__ import annotations

import mgc_iac.agent as agent
import mgc_iac.lab.hosts as lab_hosts
import mgc_iac.ssh as ssh


def test_exported_names_are_pinned() -> None:
    assert sorted(ssh.__all__) == sorted([
        "SFTP_BLOCK", "CommandResult", "ConnectionPool", "Connector", "Difference", "HostFacts", "HostKeyPolicy",
        "JumpHost", "LocalConnector", "OutputCallback", "PrecheckResult", "Requirements", "SSHConnector",
        "SSHSettings", "compare_inventory", "facts_script", "gather_facts", "known_hosts_name", "parse_facts",
        "port_reachable", "run_prechecks"])
    assert sorted(agent.__all__) == sorted([
        "AGENT_DIR", "DEFAULT_EXCLUDED_LINUX", "AgentCommand", "AgentCommands", "AgentInstall", "Entry",
        "PathDifference", "Progress", "ProgressCallback", "ReplicationError", "ReplicationInterrupted",
        "ReplicationJob", "ReplicationResult", "TargetEndpoint", "TargetFullError", "VerifyResult",
        "agent_running", "list_tree", "replicate", "run_agent_loop", "start_agent", "stop_agent", "verify"])
    assert sorted(lab_hosts.__all__) == sorted(["FilesSpec", "LabHost", "LabHostSpec", "LabHosts", "LabHostsProcess",
                                                "inject_fault", "load_hosts_spec"])
    for module in (ssh, agent, lab_hosts):
        assert all(hasattr(module, name) for name in module.__all__)


def test_connectors_honour_the_contract() -> None:
    settings = ssh.SSHSettings(host="127.0.0.1", key_file="/nonexistent")
    assert isinstance(ssh.SSHConnector(settings), ssh.Connector)
    assert isinstance(ssh.LocalConnector(), ssh.Connector)
