"""Faults the data path must survive: a dropped connection, a file changing mid-copy, a full target disk.

The drops are real (the lab host aborts its SSH connections, as a network cut would); no mocks.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from mgc_iac.lab.agent import (
    Progress,
    ReplicationInterrupted,
    ReplicationJob,
    TargetEndpoint,
    TargetFullError,
    replicate,
    verify_paths,
)
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.lab.hosts.testing import transfer_key
from mgc_iac.ssh import SSHConnector

MAKE_BIG = "mkdir -p /big && for i in 0 1 2 3 4 5 6 7; do head -c 400000 /dev/urandom > /big/f$i; done"


async def inodes(host: SSHConnector, path: str) -> dict[str, str]:
    """Completed files (final name, full size) on the target, by inode: a recopied file gets a new inode."""
    out = (await host.run(f"find {path} -type f -name 'f?' -size 400000c -printf '%p %i\\n'")).stdout
    return dict(line.split() for line in out.splitlines())


@pytest.mark.parametrize("method", ["rsync", "sftp"])
def test_dropped_connection_resumes_without_recopying_finished_files(lab: LabHosts, method: str) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(SSHConnector(lab.settings("src" if method == "rsync" else "nrs")))
            tgt = await stack.enter_async_context(SSHConnector(lab.settings("tgt")))
            await src.run(MAKE_BIG)
            agent = None
            if method == "rsync":
                agent = await transfer_key(src, tgt, TargetEndpoint("127.0.0.1", lab["tgt"].port,
                                                                   tgt.server_host_key()))
            job = ReplicationJob(paths=("/big",), bandwidth_limit_mbps=16, parallel_files=1)  # 2 MB/s

            def cut(p: Progress) -> None:
                if p.bytes_done >= 1_300_000:
                    lab["tgt"].drop_connections()

            with pytest.raises(ReplicationInterrupted, match="run it again"):
                await replicate(src, tgt, job, agent=agent, on_progress=cut)
            async with SSHConnector(lab.settings("tgt")) as tgt2:
                done_before = await inodes(tgt2, "/big")
                assert 1 <= len(done_before) < 8
                resumed = await replicate(src, tgt2, ReplicationJob(paths=("/big",)), agent=agent)
                assert resumed.files_transferred == 8 - len(done_before)
                done_after = await inodes(tgt2, "/big")
                assert {p: done_after[p] for p in done_before} == done_before  # same inodes: not recopied
                assert (await verify_paths(src, tgt2, ["/big"], mode="hash")).consistent

    lab.loop.run_until_complete(scenario())


def test_file_changed_during_full_replication_is_caught_by_the_next_sync(lab: LabHosts) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(SSHConnector(lab.settings("src")))
            tgt = await stack.enter_async_context(SSHConnector(lab.settings("tgt")))
            await src.run("mkdir -p /chg && for i in 0 1 2 3 4 5; do head -c 300000 /dev/urandom > /chg/f$i; done")
            agent = await transfer_key(src, tgt, TargetEndpoint("127.0.0.1", lab["tgt"].port, tgt.server_host_key()))
            edits: list[asyncio.Task[object]] = []

            def edit_once(p: Progress) -> None:
                if not edits and p.bytes_done >= 600_000:  # f0 is copied by then (rsync goes in name order)
                    edits.append(asyncio.ensure_future(src.run("sleep 0.05; printf more >> /chg/f0")))

            full = await replicate(src, tgt, ReplicationJob(paths=("/chg",), bandwidth_limit_mbps=8),
                                   agent=agent, on_progress=edit_once)
            await edits[0]
            assert full.files_transferred == 6
            stale = await verify_paths(src, tgt, ["/chg"], mode="hash")
            assert [d.path for d in stale.paths] == ["/chg/f0"]
            sync = await replicate(src, tgt, ReplicationJob(paths=("/chg",)), agent=agent, phase="sync")
            assert sync.files_transferred == 1
            assert (await verify_paths(src, tgt, ["/chg"], mode="hash")).consistent

    lab.loop.run_until_complete(scenario())


@pytest.mark.parametrize("method", ["rsync", "sftp"])
def test_full_target_disk_fails_clearly_and_reports_nothing_done(lab: LabHosts, method: str) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(SSHConnector(lab.settings("src" if method == "rsync" else "nrs")))
            tiny = await stack.enter_async_context(SSHConnector(lab.settings("tiny")))
            assert lab["tiny"].quota_enforced
            await src.run(MAKE_BIG)  # 3.2 MB for a 3 MB disk
            agent = None
            if method == "rsync":
                agent = await transfer_key(src, tiny, TargetEndpoint("127.0.0.1", lab["tiny"].port,
                                                                    tiny.server_host_key()))
            events: list[Progress] = []
            with pytest.raises(TargetFullError, match="ran out of disk space"):
                await replicate(src, tiny, ReplicationJob(paths=("/big",)), agent=agent, on_progress=events.append)
            assert not any(e.done for e in events)

    lab.loop.run_until_complete(scenario())
