"""The lab's SMS-Agent: what runs ON a lab source (the controller's install of it is mgc_iac.ssh.agent).

- The lab SMS-Agent (mgc_iac.lab.agent.linuxmain, runs ON a lab source): SMS's commands, rsync to the target,
  verification, progress, through mgc_iac.cloud's SmsClient.

Names resolve lazily: the lab agent runs on a source's own Python, without asyncssh.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mgc_iac.lab.agent._commands import AgentCommand, AgentCommands, run_agent_loop
    from mgc_iac.lab.agent._errors import ReplicationError, ReplicationInterrupted, TargetFullError
    from mgc_iac.lab.agent._job import AgentInstall, ReplicationJob, ReplicationResult, TargetEndpoint
    from mgc_iac.lab.agent._listing import Entry, list_tree
    from mgc_iac.lab.agent._paths import DEFAULT_EXCLUDED_LINUX
    from mgc_iac.lab.agent._progress import Progress, ProgressCallback
    from mgc_iac.lab.agent._replicate import replicate
    from mgc_iac.lab.agent._verify import PathDifference, VerifyResult, verify

_EXPORTS = {
    "AgentCommand": "_commands", "AgentCommands": "_commands", "run_agent_loop": "_commands",
    "ReplicationError": "_errors", "ReplicationInterrupted": "_errors", "TargetFullError": "_errors",
    "AgentInstall": "_job", "ReplicationJob": "_job", "ReplicationResult": "_job", "TargetEndpoint": "_job",
    "Entry": "_listing", "list_tree": "_listing", "DEFAULT_EXCLUDED_LINUX": "_paths",
    "Progress": "_progress", "ProgressCallback": "_progress", "replicate": "_replicate",
    "PathDifference": "_verify", "VerifyResult": "_verify", "verify": "_verify",
}

__all__ = ["AgentCommand", "AgentCommands", "AgentInstall",
           "DEFAULT_EXCLUDED_LINUX", "Entry", "PathDifference", "Progress", "ProgressCallback",
           "ReplicationError", "ReplicationInterrupted", "ReplicationJob", "ReplicationResult",
           "TargetEndpoint", "TargetFullError", "VerifyResult", "list_tree",
           "replicate", "run_agent_loop", "verify"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mgc_iac.lab.agent' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mgc_iac.lab.agent.{module}"), name)


def __dir__() -> list[str]:
    return __all__
