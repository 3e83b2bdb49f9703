"""StartUpAgent / SourceClear on a lab source, verification results, and the agent loop's SMS seam."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import pytest

from mgc_iac.agent import (
    AgentCommand,
    Progress,
    ReplicationError,
    ReplicationJob,
    TargetEndpoint,
    agent_running,
    replicate,
    run_agent_loop,
    start_agent,
    stop_agent,
    verify,
)
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.ssh import SSHConnector


def test_agent_starts_once_and_source_clear_removes_everything(lab: LabHosts) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(SSHConnector(lab.settings("src")))
            tgt = await stack.enter_async_context(SSHConnector(lab.settings("tgt")))
            endpoint = TargetEndpoint("127.0.0.1", lab["tgt"].port, tgt.server_host_key())
            first = await start_agent(src, tgt, endpoint)
            again = await start_agent(src, tgt, endpoint)
            assert (again.pid, again.public_key) == (first.pid, first.public_key)  # idempotent
            assert await agent_running(src, first)
            assert (await src.run("cat /opt/mgc-agent/heartbeat")).ok
            keys = (await tgt.run("cat ~/.ssh/authorized_keys")).stdout
            assert keys.count(first.public_key.split()[1]) == 1
            # the private key was made on the source and is readable by root only
            assert (await src.run("stat -c %a /opt/mgc-agent/id_ed25519")).stdout.strip() == "600"

            await stop_agent(src, tgt, first)
            assert not await agent_running(src, first)
            assert (await src.run("test -e /opt/mgc-agent")).exit_status == 1
            assert first.public_key.split()[1] not in (await tgt.run("cat ~/.ssh/authorized_keys")).stdout
            with pytest.raises(ReplicationError):  # the source can no longer push to the target
                await replicate(src, tgt, ReplicationJob(paths=("/data",)), agent=first, method="rsync")

    lab.loop.run_until_complete(scenario())


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
            quick = await verify(src, tgt, ["/srv/app", "/data"])
            assert (quick.different, quick.missing_on_target, quick.extra_on_target) == (1, 1, 1)
            deep = await verify(src, tgt, ["/srv/app", "/data"], mode="hash")
            assert (deep.different, deep.missing_on_target, deep.extra_on_target) == (2, 1, 1)
            assert {(d.path, d.kind) for d in deep.paths} == {
                ("/data/d000/f00001.bin", "different"), ("/srv/app/d000/f00002.bin", "different"),
                ("/srv/app/d000/f00000.bin", "missing_on_target"), ("/data/extra.txt", "extra_on_target")}
            excluded = await verify(src, tgt, ["/srv/app", "/data"], exclude_paths=["/data"], mode="hash")
            assert {d.path for d in excluded.paths} == {"/srv/app/d000/f00002.bin", "/srv/app/d000/f00000.bin"}
            capped = await verify(src, tgt, ["/srv/app", "/data"], mode="hash", cap=2)
            assert capped.capped and len(capped.paths) == 2 and capped.different == 2
            # "/" with the seed page's default exclusions: /etc differs (hostname) but is not looked at
            whole = await verify(src, tgt, ["/"], exclude_paths=["/root", "/.mgc-lab-files"])
            assert whole.total == quick.total and "/etc/hostname" not in {d.path for d in whole.paths}

    lab.loop.run_until_complete(scenario())


class ScriptedCommands:
    """An in-memory AgentCommands: the lab SMS API plugs in here (the seam under test, not a mock of SSH)."""

    def __init__(self, commands: list[AgentCommand]) -> None:
        self.queue = list(commands)
        self.registered: dict[str, Any] = {}
        self.progress: list[tuple[str, Progress]] = []
        self.results: list[tuple[str, bool, dict[str, Any]]] = []

    async def register(self, info: dict[str, Any]) -> str:
        self.registered = info
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
            agent = await start_agent(src, tgt, TargetEndpoint("127.0.0.1", lab["tgt"].port, tgt.server_host_key()))
            sms = ScriptedCommands([AgentCommand("c1", "start"), AgentCommand("c2", "verify", {"hash": True}),
                                    AgentCommand("c3", "stop"), AgentCommand("c4", "sync")])
            await run_agent_loop(sms, src, tgt, ReplicationJob(paths=("/data",)), agent=agent,
                                 info={"name": "src", "mac": "fa:16:3e:00:00:01"})
            assert sms.registered["mac"] == "fa:16:3e:00:00:01"
            assert [(cid, ok) for cid, ok, _ in sms.results] == [("c1", True), ("c2", True), ("c3", True)]
            assert sms.results[0][2]["files_transferred"] > 0
            assert sms.results[1][2]["total"] == sms.results[0][2]["files_total"]
            assert sms.progress and sms.progress[-1][1].done
            assert sms.queue == [AgentCommand("c4", "sync")]  # nothing runs after stop

    lab.loop.run_until_complete(scenario())
