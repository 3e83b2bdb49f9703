"""The lab's SMS-Agent: what runs ON a lab source (the controller's install of it is mgc_iac.ssh.agent).

- The lab SMS-Agent (mgc_iac.lab.agent.linuxmain, runs ON a lab source): SMS's commands, rsync to the target,
  verification, progress, through mgc_iac.cloud's SmsClient.

Names resolve lazily: the lab agent runs on a source's own Python, without asyncssh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mgc_iac._lazy import lazy_exports

if TYPE_CHECKING:
    from mgc_iac.lab.agent._commands import AgentCommand, AgentCommands, run_agent_loop
    from mgc_iac.lab.agent._errors import ReplicationError, ReplicationInterrupted, TargetFullError
    from mgc_iac.lab.agent._job import AgentInstall, ReplicationJob, ReplicationResult
    from mgc_iac.lab.agent._listing import Entry, list_tree
    from mgc_iac.lab.agent._progress import Progress, ProgressCallback
    from mgc_iac.lab.agent._replicate import replicate
    from mgc_iac.ssh import DEFAULT_EXCLUDED_LINUX, PathDifference, TargetEndpoint, VerifyResult, verify_paths

_COMMANDS, _ERRORS, _JOB = "mgc_iac.lab.agent._commands", "mgc_iac.lab.agent._errors", "mgc_iac.lab.agent._job"
_PROGRESS, _SSH = "mgc_iac.lab.agent._progress", "mgc_iac.ssh"
_EXPORTS = {
    "AgentCommand": _COMMANDS, "AgentCommands": _COMMANDS, "run_agent_loop": _COMMANDS,
    "ReplicationError": _ERRORS, "ReplicationInterrupted": _ERRORS, "TargetFullError": _ERRORS,
    "AgentInstall": _JOB, "ReplicationJob": _JOB, "ReplicationResult": _JOB, "TargetEndpoint": _SSH,
    "Entry": "mgc_iac.lab.agent._listing", "list_tree": "mgc_iac.lab.agent._listing",
    "DEFAULT_EXCLUDED_LINUX": _SSH, "Progress": _PROGRESS, "ProgressCallback": _PROGRESS,
    "replicate": "mgc_iac.lab.agent._replicate", "PathDifference": _SSH, "VerifyResult": _SSH, "verify_paths": _SSH,
}

__all__ = ["AgentCommand", "AgentCommands", "AgentInstall",
           "DEFAULT_EXCLUDED_LINUX", "Entry", "PathDifference", "Progress", "ProgressCallback",
           "ReplicationError", "ReplicationInterrupted", "ReplicationJob", "ReplicationResult",
           "TargetEndpoint", "TargetFullError", "VerifyResult", "list_tree",
           "replicate", "run_agent_loop", "verify_paths"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
