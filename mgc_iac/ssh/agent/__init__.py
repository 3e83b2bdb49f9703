"""StartUpAgent / SourceClear on a source over SSH: install, start, ask about and remove Huawei's SMS-Agent.

ONE template (templates/sms_agent.sh.j2) downloads the package, checks its sha256, refuses an older agent left on
the source (SMS.0609) and writes the proxy into auth.cfg; startup.sh's prompts are answered one by one over the
SSH channel (_dialog.py, _startup.run_startup). Imports nothing heavy: the lab's agent (which runs on a
source's own Python) reads AGENT_DIR from here.
"""

from mgc_iac.ssh.agent._dialog import StartupAnswers
from mgc_iac.ssh.agent._startup import (
    AGENT_DIR,
    AgentPackage,
    agent_state,
    agent_status,
    install_agent,
    startup_answers,
    uninstall_agent,
)

__all__ = ["AGENT_DIR", "AgentPackage", "StartupAnswers", "agent_state", "agent_status", "install_agent",
           "startup_answers", "uninstall_agent"]
