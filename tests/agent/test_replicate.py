"""Full replication and incremental sync over real SSH, by rsync (run on the source) and by SFTP."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import pytest

from mgc_iac.lab.agent import (
    Progress,
    ReplicationError,
    ReplicationInterrupted,
    ReplicationJob,
    TargetEndpoint,
    replicate,
    verify_paths,
)
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.lab.hosts.testing import transfer_key
from mgc_iac.ssh import SSHConnector

JOB = ReplicationJob(paths=("/srv/app", "/data"), exclude=("/data/d001",))


async def connect(stack: AsyncExitStack, lab: LabHosts, name: str) -> SSHConnector:
    return await stack.enter_async_context(SSHConnector(lab.settings(name), name=name))


async def pair(stack: AsyncExitStack, lab: LabHosts, method: str, target: str = "tgt"):
    src = await connect(stack, lab, "src" if method == "rsync" else "nrs")
    tgt = await connect(stack, lab, target)
    agent = None
    if method == "rsync":
        agent = await transfer_key(src, tgt, TargetEndpoint("127.0.0.1", lab[target].port, tgt.server_host_key()))
    return src, tgt, agent


@pytest.mark.parametrize("method", ["rsync", "sftp"])
def test_full_then_incremental_moves_only_changes_and_verifies_clean(lab: LabHosts, method: str) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src, tgt, agent = await pair(stack, lab, method)
            events: list[Progress] = []
            full = await replicate(src, tgt, JOB, agent=agent, on_progress=events.append)
            assert full.method == method
            assert full.files_transferred == full.files_total > 0
            assert events[-1].done and events[-1].bytes_done == events[-1].bytes_total > 0
            assert all(a.bytes_done <= b.bytes_done for a, b in zip(events, events[1:], strict=False))
            clean = await verify_paths(src, tgt, JOB.paths, exclude_paths=JOB.exclude, mode="hash")
            assert clean.consistent and clean.total == full.files_total
            # the excluded subtree never reached the target
            assert (await tgt.run("test -e /data/d001")).exit_status == 1
            assert (await tgt.run("readlink /srv/app/current")).stdout.strip() == "d000"

            # change: one modified, one new, one deleted, one chmod, one symlink retargeted
            await src.run("set -e; cd /srv/app/d000; printf changed >> f00000.bin; head -c 5000 /dev/urandom > new.bin;"
                          " rm /data/d000/f00001.bin; chmod 600 /srv/app/d000/f00002.bin;"
                          " ln -sfn d000/new.bin /srv/app/current")
            sync = await replicate(src, tgt, JOB, agent=agent, phase="sync")
            assert sync.files_transferred == 2
            assert sync.files_deleted >= 1
            assert sync.bytes_transferred < full.bytes_transferred / 5
            again = await verify_paths(src, tgt, JOB.paths, exclude_paths=JOB.exclude, mode="hash")
            assert again.consistent, again.paths
            stat = await verify_paths(src, tgt, JOB.paths, exclude_paths=JOB.exclude)  # mtimes were carried over
            assert stat.consistent, stat.paths
            modes = await tgt.run("stat -c %a /srv/app/d000/f00002.bin; readlink /srv/app/current")
            assert modes.stdout.split() == ["600", "d000/new.bin"]
            nothing = await replicate(src, tgt, JOB, agent=agent, phase="sync")
            assert nothing.files_transferred == 0 and nothing.files_deleted == 0

    lab.loop.run_until_complete(scenario())


@pytest.mark.parametrize("method", ["rsync", "sftp"])
def test_bandwidth_limit_is_honoured(lab: LabHosts, method: str) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src, tgt, agent = await pair(stack, lab, method)
            await src.run("mkdir -p /bw && head -c 1500000 /dev/urandom > /bw/blob")
            job = ReplicationJob(paths=("/bw",), bandwidth_limit_mbps=8)  # 1 MB/s
            began = time.monotonic()
            res = await replicate(src, tgt, job, agent=agent)
            took = time.monotonic() - began
            assert res.bytes_transferred == 1_500_000
            assert took >= 1.0, f"1.5 MB at 1 MB/s took only {took:.2f}s"

    lab.loop.run_until_complete(scenario())


def test_rsync_missing_on_the_target_is_named_not_called_an_interruption(lab: LabHosts) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await connect(stack, lab, "src")
            bare = await connect(stack, lab, "nrs")  # a host without rsync, used as the target
            agent = await transfer_key(src, bare, TargetEndpoint("127.0.0.1", lab["nrs"].port, bare.server_host_key()))
            with pytest.raises(ReplicationError, match="rsync is missing on the target") as info:
                await replicate(src, bare, ReplicationJob(paths=("/data",)), agent=agent)
            assert not isinstance(info.value, ReplicationInterrupted)

    lab.loop.run_until_complete(scenario())
