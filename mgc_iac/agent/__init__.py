"""The migration agent's data path and the SMS-Agent's install on a source.

- StartUpAgent / SourceClear (controller side, over SSH): install_agent, agent_status, uninstall_agent render
  ONE template (templates/sms_agent.sh.j2) that downloads the SMS-Agent package, checks its sha256, refuses an
  older agent left on the source (SMS.0609) and starts it with the keys on stdin.
- The lab SMS-Agent (mgc_iac.agent.linuxmain, runs ON a lab source): SMS's commands, rsync to the target,
  verification, progress, through mgc_iac.cloud's SmsClient.

Names resolve lazily: the lab agent runs on a source's own Python, without asyncssh.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mgc_iac.agent._commands import AgentCommand, AgentCommands, run_agent_loop
    from mgc_iac.agent._errors import ReplicationError, ReplicationInterrupted, TargetFullError
    from mgc_iac.agent._job import AgentInstall, ReplicationJob, ReplicationResult, TargetEndpoint
    from mgc_iac.agent._listing import Entry, list_tree
    from mgc_iac.agent._paths import AGENT_DIR, DEFAULT_EXCLUDED_LINUX
    from mgc_iac.agent._progress import Progress, ProgressCallback
    from mgc_iac.agent._replicate import replicate
    from mgc_iac.agent._startup import AgentPackage, agent_status, install_agent, uninstall_agent
    from mgc_iac.agent._verify import PathDifference, VerifyResult, verify

_EXPORTS = {
    "AgentCommand": "_commands", "AgentCommands": "_commands", "run_agent_loop": "_commands",
    "ReplicationError": "_errors", "ReplicationInterrupted": "_errors", "TargetFullError": "_errors",
    "AgentInstall": "_job", "ReplicationJob": "_job", "ReplicationResult": "_job", "TargetEndpoint": "_job",
    "Entry": "_listing", "list_tree": "_listing", "AGENT_DIR": "_paths", "DEFAULT_EXCLUDED_LINUX": "_paths",
    "Progress": "_progress", "ProgressCallback": "_progress", "replicate": "_replicate",
    "AgentPackage": "_startup", "agent_status": "_startup", "install_agent": "_startup",
    "uninstall_agent": "_startup", "PathDifference": "_verify", "VerifyResult": "_verify", "verify": "_verify",
}

__all__ = ["AGENT_DIR", "AgentCommand", "AgentCommands", "AgentInstall", "AgentPackage",
           "DEFAULT_EXCLUDED_LINUX", "Entry", "PathDifference", "Progress", "ProgressCallback",
           "ReplicationError", "ReplicationInterrupted", "ReplicationJob", "ReplicationResult",
           "TargetEndpoint", "TargetFullError", "VerifyResult", "agent_status", "install_agent", "list_tree",
           "replicate", "run_agent_loop", "uninstall_agent", "verify"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mgc_iac.agent' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mgc_iac.agent.{module}"), name)


def __dir__() -> list[str]:
    return __all__
