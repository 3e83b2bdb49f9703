"""The migration agent's data path: start/stop on a source, replicate/sync to a target, verify consistency."""

from mgc_iac.agent._commands import AgentCommand, AgentCommands, run_agent_loop
from mgc_iac.agent._errors import ReplicationError, ReplicationInterrupted, TargetFullError
from mgc_iac.agent._install import AgentInstall, agent_running, start_agent, stop_agent
from mgc_iac.agent._job import ReplicationJob, ReplicationResult, TargetEndpoint
from mgc_iac.agent._listing import Entry, list_tree
from mgc_iac.agent._paths import AGENT_DIR, DEFAULT_EXCLUDED_LINUX
from mgc_iac.agent._progress import Progress, ProgressCallback
from mgc_iac.agent._replicate import replicate
from mgc_iac.agent._verify import PathDifference, VerifyResult, verify

__all__ = ["AGENT_DIR", "DEFAULT_EXCLUDED_LINUX", "AgentCommand", "AgentCommands", "AgentInstall", "Entry",
           "PathDifference", "Progress", "ProgressCallback", "ReplicationError", "ReplicationInterrupted",
           "ReplicationJob", "ReplicationResult", "TargetEndpoint", "TargetFullError", "VerifyResult",
           "agent_running", "list_tree", "replicate", "run_agent_loop", "start_agent", "stop_agent", "verify"]
