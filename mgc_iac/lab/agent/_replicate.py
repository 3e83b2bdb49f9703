"""replicate(): full replication or incremental sync of a source's paths to a target, by rsync or SFTP."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

from mgc_iac.lab.agent._errors import ReplicationError
from mgc_iac.lab.agent._job import AgentInstall, ReplicationJob, ReplicationResult
from mgc_iac.lab.agent._progress import ProgressCallback, ProgressMeter
from mgc_iac.lab.agent._rsync import rsync_replicate
from mgc_iac.ssh import existing_roots_sh, find_selector

if TYPE_CHECKING:
    from mgc_iac.ssh import Connector

Method = Literal["auto", "rsync", "sftp"]


async def _source_bytes(source: Connector, job: ReplicationJob) -> int:
    cmd = (f"{existing_roots_sh(job.paths)}; [ $# -eq 0 ] && echo 0 || "
           f"find \"$@\" {find_selector((), job.all_excludes)} -type f -printf '%s\\n' "
           "| awk '{s+=$1} END {print s+0}'")
    res = (await source.run(cmd)).check()
    return int(res.stdout.strip() or 0)


async def replicate(source: Connector, target: Connector, job: ReplicationJob, *,
                    agent: AgentInstall | None = None, phase: str = "full", method: Method = "auto",
                    on_progress: ProgressCallback | None = None) -> ReplicationResult:
    """Copy the job's paths so the target matches the source (new, changed and deleted files, modes, owners,
    symlinks, mtimes). The same call does the full replication and every later sync: only changes move.

    rsync (run on the source, needs `agent` for its key) when the source has rsync; SFTP streaming otherwise
    (both hosts over asyncssh: a test bench of the data path, not what the SMS-Agent does).
    Raises ReplicationInterrupted (re-run to resume), TargetFullError, ReplicationError; the final Progress
    event with done=True is sent only on success.
    """
    if method == "auto":
        has_rsync = (await source.run("command -v rsync >/dev/null")).ok
        method = "rsync" if has_rsync and agent is not None else "sftp"
    meter = ProgressMeter(phase, 0, on_progress)
    if method == "rsync":
        if agent is None:
            raise ReplicationError("rsync replication needs the agent started on the source (start_agent)")
        async def total() -> None:  # counted while rsync already copies: the copy does not wait for a find
            meter.bytes_total = await _source_bytes(source, job)

        counting = asyncio.create_task(total())
        try:
            result = await rsync_replicate(source, job, agent.target, key_file=agent.key_file,
                                           known_hosts=agent.known_hosts, meter=meter, target_host=target)
            await counting
        finally:
            counting.cancel()
    else:
        from mgc_iac.lab.agent._sftp import sftp_replicate
        from mgc_iac.ssh import SSHConnector

        if not isinstance(source, SSHConnector) or not isinstance(target, SSHConnector):
            raise ReplicationError("the SFTP path reads the source over SSH: give an SSHConnector")
        result = await sftp_replicate(source, target, job, meter)
    meter.finish()
    return result
