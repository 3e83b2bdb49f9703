"""The seam to SMS: the agent loop takes commands from an AgentCommands and reports back through it.

The lab's SMS API (mgc_iac.lab / mgc_iac.cloud) implements AgentCommands; the loop does not know which cloud.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from mgc_iac.agent._errors import ReplicationError
from mgc_iac.agent._install import AgentInstall
from mgc_iac.agent._job import ReplicationJob
from mgc_iac.agent._progress import Progress
from mgc_iac.agent._replicate import replicate
from mgc_iac.agent._verify import verify
from mgc_iac.ssh import Connector, SSHConnector

CommandName = Literal["start", "sync", "verify", "stop"]


@dataclass(frozen=True)
class AgentCommand:
    id: str
    name: CommandName
    params: dict[str, Any] = field(default_factory=dict)


class AgentCommands(Protocol):
    async def register(self, info: dict[str, Any]) -> str: ...

    async def next_command(self) -> AgentCommand | None: ...

    async def report_progress(self, command_id: str, progress: Progress) -> None: ...

    async def report_result(self, command_id: str, ok: bool, result: dict[str, Any]) -> None: ...


async def run_agent_loop(commands: AgentCommands, source: Connector, target: SSHConnector, job: ReplicationJob,
                         *, agent: AgentInstall | None, info: dict[str, Any]) -> None:
    """Register, then run commands until `stop` (or no more commands). A failed command is reported, not raised."""
    await commands.register(info)
    pending: list[Any] = []
    while (cmd := await commands.next_command()) is not None:
        if cmd.name == "stop":
            await commands.report_result(cmd.id, True, {})
            return
        try:
            if cmd.name in ("start", "sync"):

                def on_progress(p: Progress, cid: str = cmd.id) -> None:
                    pending.append((cid, p))

                res = await replicate(source, target, job, agent=agent, on_progress=on_progress,
                                      phase="full" if cmd.name == "start" else "sync")
                for cid, p in pending:
                    await commands.report_progress(cid, p)
                pending.clear()
                await commands.report_result(cmd.id, True, asdict(res))
            else:
                vr = await verify(source, target, cmd.params.get("include_paths", job.paths),
                                  exclude_paths=cmd.params.get("exclude_paths", job.exclude),
                                  mode="hash" if cmd.params.get("hash") else "size_mtime",
                                  default_excludes=cmd.params.get("default_excludes", False))
                await commands.report_result(cmd.id, vr.consistent, asdict(vr))
        except ReplicationError as exc:
            pending.clear()
            await commands.report_result(cmd.id, False, {"error": str(exc)})
