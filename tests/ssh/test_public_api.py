"""The public surface other parts of mgc-iac (engine, providers, lab, CLI) import: changed only on purpose."""

from __future__ import annotations

import mgc_iac.lab.agent as agent
import mgc_iac.lab.hosts as lab_hosts
import mgc_iac.ssh as ssh
import mgc_iac.ssh.agent as agent_install


def test_exported_names_are_pinned() -> None:
    assert sorted(ssh.__all__) == sorted([
        "SFTP_BLOCK", "CommandResult", "ConnectionPool", "Connector", "Difference", "HostAccess", "HostFacts",
        "DEFAULT_EXCLUDED_LINUX", "PARTIAL_SUFFIX", "PathDifference", "existing_roots_sh", "find_selector",
        "normalize", "verify_paths",
        "HostKeyPolicy", "JumpHost", "LocalConnector", "MigrationHosts", "OutputCallback", "PrecheckResult",
        "Requirements", "SSHConnector", "SSHSettings", "TargetEndpoint", "VerifyResult", "compare_inventory",
        "facts_script", "facts_summary", "gather_facts", "known_hosts_name", "parse_facts", "port_reachable",
        "run_prechecks"])
    assert sorted(agent.__all__) == sorted([
        "DEFAULT_EXCLUDED_LINUX", "AgentCommand", "AgentCommands", "AgentInstall", "Entry",
        "PathDifference", "Progress", "ProgressCallback", "ReplicationError", "ReplicationInterrupted",
        "ReplicationJob", "ReplicationResult", "TargetEndpoint", "TargetFullError", "VerifyResult",
        "list_tree", "replicate", "run_agent_loop", "verify_paths"])
    assert sorted(agent_install.__all__) == sorted(["AGENT_DIR", "AgentPackage", "StartupAnswers", "agent_state",
                                                    "agent_status", "install_agent",
                                                    "startup_answers", "uninstall_agent"])
    assert sorted(lab_hosts.__all__) == sorted(["FilesSpec", "LabHost", "LabHostSpec", "LabHosts", "LabHostsProcess",
                                                "inject_fault", "load_hosts_spec", "request_hosts"])
    for module in (ssh, agent, agent_install, lab_hosts):
        assert all(hasattr(module, name) for name in module.__all__)


def test_no_exported_name_is_shadowed_by_a_submodule_of_the_same_name() -> None:
    """A lazy export named like a submodule (`mgc_iac.ssh.verify`) turns into that module once it is imported."""
    import pkgutil

    import mgc_iac.approvals as approvals
    import mgc_iac.engine as engine
    import mgc_iac.stack as stack
    import mgc_iac.state as state

    for package in (ssh, stack, approvals, state, engine):
        submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
        assert not submodules & set(package.__all__), package.__name__


def test_the_lab_agent_imports_neither_asyncssh_nor_pydantic() -> None:
    """The lab SMS-Agent runs on a source's own Python with only what its package vendors."""
    import subprocess
    import sys

    code = ("import sys; import mgc_iac.lab.agent.linuxmain as m; m.warm_imports(); "
            "print(sorted({k.split('.')[0] for k in sys.modules} & {'asyncssh', 'pydantic', 'jinja2', 'aiohttp'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_connectors_honour_the_contract() -> None:
    settings = ssh.SSHSettings(host="127.0.0.1", key_file="/nonexistent")
    assert isinstance(ssh.SSHConnector(settings), ssh.Connector)
    assert isinstance(ssh.LocalConnector(), ssh.Connector)
