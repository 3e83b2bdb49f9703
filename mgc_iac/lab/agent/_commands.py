"""The seam to SMS: the agent loop takes commands from an AgentCommands and reports back through it.

The lab's SMS API (mgc_iac.lab.agent.sms over mgc_iac.cloud) implements AgentCommands; the loop does not know
which cloud. A command's params may narrow the job (what the task's configuration says):

    exclude               more subtrees left out of this copy (added to the job's)
    bandwidth_limit_mbps  the speed limit now in force
    verify                {mode: hash|size_mtime, include_paths, exclude_paths, default_excludes}: after a
                          start/sync, verify each include path and add {"verify": [{dir, ...VerifyResult}]}
                          to the command's result (consistency is reported, not a failure of the copy)

    task_id               the task the command is for (its target: migration IP, port, transfer key)

Progress is forwarded while the copy runs. A failed command (a ReplicationError, or the connection to a host
lost) is reported, not raised; the loop connects to both hosts afresh before each command. `alive` (optional)
says whether the agent still runs on the source: when it does not, the command fails with `agent_gone` and
the loop ends (an agent that is gone takes no more commands). Copy excludes (`exclude`) and verification
excludes (`verify.exclude_paths`) are separate inputs: what is left out of verification is still copied.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mgc_iac.errors import MgcIacError
from mgc_iac.lab.agent._job import AgentInstall, ReplicationJob
from mgc_iac.lab.agent._progress import Progress
from mgc_iac.lab.agent._replicate import replicate
from mgc_iac.ssh import verify_paths

if TYPE_CHECKING:
    from mgc_iac.ssh import Connector

CommandName = Literal["start", "sync", "verify", "stop"]
AGENT_GONE = "agent_gone"


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


def job_for(job: ReplicationJob, params: dict[str, Any]) -> ReplicationJob:
    """The job narrowed by a command's params (more excludes, the bandwidth limit in force)."""
    extra = tuple(p for p in params.get("exclude") or () if p)
    limit = params.get("bandwidth_limit_mbps", job.bandwidth_limit_mbps)
    return replace(job, exclude=tuple(dict.fromkeys((*job.exclude, *extra))), bandwidth_limit_mbps=limit or None)


async def _verify_dirs(source: Connector, target: Connector, policy: dict[str, Any],
                       job: ReplicationJob) -> list[dict[str, Any]]:
    mode = "hash" if policy.get("mode") == "hash" else "size_mtime"
    includes = list(policy.get("include_paths") or ()) or ["/"]
    excludes = [*job.exclude, *(policy.get("exclude_paths") or ())]
    defaults = bool(policy.get("default_excludes", not policy.get("include_paths")))
    out = []
    for path in includes:
        vr = await verify_paths(source, target, [path], exclude_paths=excludes, mode=mode, default_excludes=defaults)
        out.append({"dir": path, **asdict(vr)})
    return out


async def _reconnect(*hosts: Connector) -> None:
    for host in hosts:
        with contextlib.suppress(MgcIacError, OSError):
            await host.close()
    for host in hosts:
        await host.connect()


Resolver = Callable[["AgentCommand"], Awaitable[tuple["Connector", AgentInstall]]]


async def _copy(commands: AgentCommands, cmd: AgentCommand, source: Connector, target: Connector,
                job: ReplicationJob, agent: AgentInstall | None) -> dict[str, Any]:
    events: asyncio.Queue[Progress | None] = asyncio.Queue()

    async def forward() -> None:
        while (p := await events.get()) is not None:
            with contextlib.suppress(MgcIacError):
                await commands.report_progress(cmd.id, p)

    reporter = asyncio.create_task(forward())
    try:
        res = await replicate(source, target, job, agent=agent, on_progress=events.put_nowait,
                              phase="full" if cmd.name == "start" else "sync")
    finally:
        events.put_nowait(None)
        await reporter
    result: dict[str, Any] = asdict(res)
    if cmd.params.get("verify"):
        result["verify"] = await _verify_dirs(source, target, cmd.params["verify"], job)
    return result


async def run_agent_loop(commands: AgentCommands, source: Connector, job: ReplicationJob, *, resolve: Resolver,
                         alive: Callable[[], Awaitable[bool]] | None = None) -> None:
    """Register, then run commands until there are no more (the agent is stopped, or gone). `resolve` gives
    the target of a command (its connector and the transfer key): each task names its own target."""
    await commands.register({})
    while (cmd := await commands.next_command()) is not None:
        if cmd.name == "stop":
            await commands.report_result(cmd.id, True, {})
            continue  # the task stopped; the agent keeps taking commands until it is shut down
        target: Connector | None = None
        try:
            target, agent = await resolve(cmd)
            await _reconnect(source, target)  # a connection dropped since the last command is made again
            if alive is not None and not await alive():
                await commands.report_result(cmd.id, False, {"error": "the agent is not running on the source "
                                                             "(the source rebooted?)", AGENT_GONE: True})
                return
            run_job = job_for(job, cmd.params)
            if cmd.name in ("start", "sync"):
                await commands.report_result(cmd.id, True, await _copy(commands, cmd, source, target, run_job, agent))
            else:
                vr = await verify_paths(source, target, cmd.params.get("include_paths", run_job.paths),
                                  exclude_paths=cmd.params.get("exclude_paths", run_job.exclude),
                                  mode="hash" if cmd.params.get("hash") else "size_mtime",
                                  default_excludes=cmd.params.get("default_excludes", False))
                await commands.report_result(cmd.id, vr.consistent, asdict(vr))
        except MgcIacError as exc:  # ReplicationError, a lost connection (SSHError), a failed command
            gone = alive is not None and not await _safe(alive)
            detail: dict[str, Any] = {"error": str(exc)}
            if gone:
                detail.update(error=f"the agent is not running on the source any more (the source rebooted?): {exc}",
                              **{AGENT_GONE: True})
            await commands.report_result(cmd.id, False, detail)
            if gone:
                return
        finally:
            if target is not None:
                with contextlib.suppress(MgcIacError, OSError):
                    await target.close()


async def _safe(alive: Callable[[], Awaitable[bool]]) -> bool:
    """A liveness probe that cannot reach the source says "alive": a network cut is not a reboot."""
    try:
        return await alive()
    except (MgcIacError, OSError):
        return True
