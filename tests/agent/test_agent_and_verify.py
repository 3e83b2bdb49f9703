"""Verification results, and the agent loop's SMS seam (what the SMS-Agent on a source runs)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from mgc_iac.lab.agent import (
    AgentCommand,
    Progress,
    ReplicationJob,
    TargetEndpoint,
    replicate,
    run_agent_loop,
    verify_paths,
)
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.lab.hosts.testing import transfer_key
from mgc_iac.ssh import SSHConnector


def test_verify_reports_each_kind_of_difference_and_hash_sees_what_size_mtime_cannot(lab: LabHosts) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(SSHConnector(lab.settings("nrs")))
            tgt = await stack.enter_async_context(SSHConnector(lab.settings("tgt")))
            await replicate(src, tgt, ReplicationJob(paths=("/srv/app", "/data")))
            # same size and mtime, other bytes: a silent corruption only hashes catch
            await tgt.run("f=/data/d000/f00001.bin; t=$(stat -c %Y $f); printf X | dd of=$f bs=1 seek=0 "
                          "conv=notrunc 2>/dev/null; touch -d @$t $f")
            await tgt.run("rm /srv/app/d000/f00000.bin; echo extra > /data/extra.txt")
            await tgt.run("printf more >> /srv/app/d000/f00002.bin")
            quick = await verify_paths(src, tgt, ["/srv/app", "/data"])
            assert (quick.different, quick.missing_on_target, quick.extra_on_target) == (1, 1, 1)
            deep = await verify_paths(src, tgt, ["/srv/app", "/data"], mode="hash")
            assert (deep.different, deep.missing_on_target, deep.extra_on_target) == (2, 1, 1)
            assert {(d.path, d.kind) for d in deep.paths} == {
                ("/data/d000/f00001.bin", "different"), ("/srv/app/d000/f00002.bin", "different"),
                ("/srv/app/d000/f00000.bin", "missing_on_target"), ("/data/extra.txt", "extra_on_target")}
            excluded = await verify_paths(src, tgt, ["/srv/app", "/data"], exclude_paths=["/data"], mode="hash")
            assert {d.path for d in excluded.paths} == {"/srv/app/d000/f00002.bin", "/srv/app/d000/f00000.bin"}
            capped = await verify_paths(src, tgt, ["/srv/app", "/data"], mode="hash", cap=2)
            assert capped.capped and len(capped.paths) == 2 and capped.different == 2
            # "/" with the seed page's default exclusions: /etc differs (hostname) but is not looked at
            whole = await verify_paths(src, tgt, ["/"],
                                       exclude_paths=["/root", "/.mgc-lab-files", "/.mgc-lab-network.json"])
            assert whole.total == quick.total and "/etc/hostname" not in {d.path for d in whole.paths}

    lab.loop.run_until_complete(scenario())


class ScriptedCommands:
    """An in-memory AgentCommands: the lab SMS API plugs in here (the seam under test, not a mock of SSH)."""

    def __init__(self, commands: list[AgentCommand]) -> None:
        self.queue = list(commands)
        self.registered = False
        self.progress: list[tuple[str, Progress]] = []
        self.results: list[tuple[str, bool, dict[str, Any]]] = []

    async def register(self, info: dict[str, Any]) -> str:
        self.registered = True
        return "agent-1"

    async def next_command(self) -> AgentCommand | None:
        await asyncio.sleep(0)
        return self.queue.pop(0) if self.queue else None

    async def report_progress(self, command_id: str, progress: Progress) -> None:
        self.progress.append((command_id, progress))

    async def report_result(self, command_id: str, ok: bool, result: dict[str, Any]) -> None:
        self.results.append((command_id, ok, result))


def test_agent_loop_runs_sms_commands_and_reports_results(lab: LabHosts) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(SSHConnector(lab.settings("src")))
            tgt = await stack.enter_async_context(SSHConnector(lab.settings("tgt")))
            agent = await transfer_key(src, tgt, TargetEndpoint("127.0.0.1", lab["tgt"].port, tgt.server_host_key()))
            sms = ScriptedCommands([AgentCommand("c1", "start"), AgentCommand("c2", "verify", {"hash": True}),
                                    AgentCommand("c3", "stop"), AgentCommand("c4", "sync")])
            asked: list[str] = []

            async def resolve(cmd: AgentCommand) -> Any:  # each command's task names its target
                asked.append(cmd.id)
                return tgt, agent

            await run_agent_loop(sms, src, ReplicationJob(paths=("/data",)), resolve=resolve)
            assert sms.registered
            assert [(cid, ok) for cid, ok, _ in sms.results] == [("c1", True), ("c2", True), ("c3", True),
                                                                  ("c4", True)]
            assert asked == ["c1", "c2", "c4"]  # a stop needs no target
            assert sms.results[0][2]["files_transferred"] > 0
            assert sms.results[1][2]["total"] == sms.results[0][2]["files_total"]
            assert sms.results[3][2]["files_transferred"] == 0  # the sync after a stop finds nothing new
            assert sms.progress and sms.progress[-1][1].done

    lab.loop.run_until_complete(scenario())
