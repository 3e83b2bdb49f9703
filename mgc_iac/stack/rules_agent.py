"""Rules about who starts the SMS-Agent on each source, checked before anything runs.

- Windows: Huawei's agent is a GUI installer (SMS-Agent-Py3.exe; SMS user guide, "Installing the SMS-Agent on
  Windows", via huaweicloud-skills): mgc-iac cannot run it, so a Windows source is `agent: preinstalled`.
- mgc-iac starts the agent over SSH: a `cloud.provider: huaweicloud` source it starts needs `ssh:`.
- Temporary or federated credentials (a security token) cannot start the agent: its startup.sh asks only for an
  AK and SK (no token prompt; SMS FAQ). Where the environment holds a token, an agent mgc-iac would start is
  refused here, with the reason (and again at StartUpAgent: mgc_iac.ssh.agent._startup.startup_answers).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mgc_iac.stack.rule_context import RuleContext

TOKEN_ENV = "HUAWEICLOUD_SDK_SECURITY_TOKEN"


def rule_agent_installer(ctx: RuleContext, env: Mapping[str, str] | None = None) -> None:
    environ = os.environ if env is None else env
    real = ctx.stack.cloud.provider == "huaweicloud"
    token = real and bool(environ.get(TOKEN_ENV))
    for i, src in enumerate(ctx.stack.sources):
        loc = ("sources", i, "agent")
        if src.os == "windows" and src.agent == "mgc-iac":
            ctx.error(loc, f"mgc-iac cannot install the SMS-Agent on the Windows source `{src.name}`: Huawei's "
                      "Windows agent is the GUI installer SMS-Agent-Py3.exe",
                      "set `agent: preinstalled`, install SMS-Agent-Py3.exe on the source (its proxy in the "
                      "installer or config\\auth.cfg); apply then waits for it to register", "agent")
            continue
        if src.agent_installer != "mgc-iac":
            continue
        if real and src.ssh is None:
            ctx.error(("sources", i), f"mgc-iac starts the SMS-Agent on `{src.name}` over SSH, and it has no `ssh:`",
                      "add `ssh:` (host, user, key_file) or set `agent: preinstalled` and install the agent "
                      "with the console's command yourself", "agent")
        if token:
            ctx.error(loc, f"the SMS-Agent on `{src.name}` cannot be started with temporary credentials: "
                      f"{TOKEN_ENV} is set, and the agent's startup.sh asks only for an AK and SK (SMS does not "
                      "accept temporary or federated keys for an agent)",
                      f"run apply with a permanent AK/SK of an IAM user (unset {TOKEN_ENV}), or set `agent: "
                      "preinstalled` and install the agent yourself", "agent-credentials")


AGENT_RULES = (rule_agent_installer,)
