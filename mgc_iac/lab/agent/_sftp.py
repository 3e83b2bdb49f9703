"""The SFTP data path (no rsync on the source): the agent streams files from the source's SFTP to the target's.

Quick check like rsync (size + whole-second mtime); files land under a temporary name and are renamed when
complete, so an interrupted run never leaves a half file that looks finished and a re-run skips what finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncssh

from mgc_iac.errors import SSHError
from mgc_iac.lab.agent._bucket import TokenBucket
from mgc_iac.lab.agent._errors import ReplicationError, ReplicationInterrupted, TargetFullError
from mgc_iac.lab.agent._job import ReplicationJob, ReplicationResult
from mgc_iac.lab.agent._listing import Entry, list_tree
from mgc_iac.lab.agent._progress import ProgressMeter
from mgc_iac.lab.agent._space import disk_full
from mgc_iac.ssh import PARTIAL_SUFFIX, SFTP_BLOCK, SSHConnector

_READ = 16 * SFTP_BLOCK  # one read call = 16 pipelined SFTP requests


async def _xargs(host: SSHConnector, command: str, paths: list[str]) -> None:
    if not paths:
        return
    data = b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)
    (await host.run(f"xargs -0 -r {command}", input=data)).check()


async def _copy_file(src: asyncssh.SFTPClient, dst: asyncssh.SFTPClient, entry: Entry,
                     bucket: TokenBucket | None, meter: ProgressMeter) -> int:
    part = f"{entry.path}{PARTIAL_SUFFIX}"
    copied = 0
    async with src.open(entry.path, "rb", block_size=SFTP_BLOCK) as fin, \
            dst.open(part, "wb", block_size=SFTP_BLOCK) as fout:
        size = _READ if bucket is None else SFTP_BLOCK  # small reads keep a limited copy smooth
        while True:
            data = await fin.read(size)
            if not data:
                break
            if bucket is not None:
                await bucket.take(len(data))
            await fout.write(data)
            copied += len(data)
            meter.update(add=len(data))
    await dst.chmod(part, entry.mode)
    with contextlib.suppress(asyncssh.SFTPError):  # ownership needs root on the target; data and modes still match
        await dst.chown(part, entry.uid, entry.gid)
    await dst.utime(part, (entry.mtime, entry.mtime))
    await dst.posix_rename(part, entry.path)
    meter.update(files=1)
    return copied


async def _explain_write_failure(target: SSHConnector, path: str, exc: Exception) -> Exception:
    """sftp-server reports ENOSPC as a bare 'Failure': ask the target's df what happened."""
    if await disk_full(target, path):
        return TargetFullError(f"the target {target.name} ran out of disk space writing {path}; grow its disk "
                               "or exclude paths, then run again")
    return ReplicationError(f"writing {path} on {target.name} failed: {exc}")


async def sftp_replicate(source: SSHConnector, target: SSHConnector, job: ReplicationJob,
                         meter: ProgressMeter) -> ReplicationResult:
    started = time.monotonic()
    try:
        src_tree, dst_tree = await asyncio.gather(list_tree(source, job.paths, job.all_excludes),
                                                  list_tree(target, job.paths, job.all_excludes))
        meter.bytes_total = sum(e.size for e in src_tree.values() if e.kind == "f")
        # what the target has and the source does not, or has with another type: removed first
        stale = sorted((p for p, e in dst_tree.items() if p not in src_tree or src_tree[p].kind != e.kind),
                       key=len)
        top: list[str] = []
        for p in stale:  # removing a directory removes what is under it
            if not any(p.startswith(t + "/") for t in top):
                top.append(p)
        await _xargs(target, "rm -rf --", top)
        for p in top:
            dst_tree = {k: v for k, v in dst_tree.items() if k != p and not k.startswith(p + "/")}
        dirs = [e for e in src_tree.values() if e.kind == "d"]
        await _xargs(target, "mkdir -p --", [e.path for e in dirs if e.path not in dst_tree])
        src_sftp, dst_sftp = await source.sftp(), await target.sftp()
        for e in src_tree.values():
            if e.kind == "l" and (e.path not in dst_tree or dst_tree[e.path].link != e.link):
                if e.path in dst_tree:
                    await dst_sftp.remove(e.path)
                await dst_sftp.symlink(e.link, e.path)
        todo = [e for e in src_tree.values()
                if e.kind == "f" and not (e.path in dst_tree and e.same_content(dst_tree[e.path]))]
        meta_only = [e for e in src_tree.values() if e.kind == "f" and e.path in dst_tree
                     and e.same_content(dst_tree[e.path]) and e.mode != dst_tree[e.path].mode]
        for e in meta_only:
            await dst_sftp.chmod(e.path, e.mode)
        rate = job.bandwidth_limit_mbps * 1_000_000 / 8 if job.bandwidth_limit_mbps else None
        bucket = TokenBucket(rate) if rate else None
        slots = asyncio.Semaphore(job.parallel_files)

        async def one(e: Entry) -> int:
            async with slots:
                try:
                    return await _copy_file(src_sftp, dst_sftp, e, bucket, meter)
                except asyncssh.SFTPFailure as exc:
                    raise await _explain_write_failure(target, e.path, exc) from exc

        # big files first: the tail of the run is not one large file copied alone
        sent = await asyncio.gather(*(one(e) for e in sorted(todo, key=lambda e: -e.size)))
        for e in sorted(dirs, key=lambda d: -len(d.path)):  # deepest first: a child's utime touches no parent
            await dst_sftp.chmod(e.path, e.mode)
            await dst_sftp.utime(e.path, (e.mtime, e.mtime))
    except (asyncssh.ConnectionLost, asyncssh.DisconnectError, ConnectionError, asyncssh.SFTPNoConnection,
            asyncssh.SFTPConnectionLost) as exc:
        raise ReplicationInterrupted(f"the SFTP copy was interrupted ({exc}); run it again to resume") from exc
    except ReplicationError:
        raise
    except SSHError as exc:
        raise ReplicationInterrupted(f"the SFTP copy was interrupted ({exc}); run it again to resume") from exc
    except asyncssh.SFTPError as exc:
        raise ReplicationError(f"the SFTP copy failed: {exc}") from exc
    meter.update(meter.bytes_total)
    return ReplicationResult(
        method="sftp", phase=meter.phase, files_total=sum(1 for e in src_tree.values() if e.kind == "f"),
        files_transferred=len(todo), files_deleted=len(top), bytes_total=meter.bytes_total,
        bytes_transferred=sum(sent), bytes_on_wire=None, seconds=time.monotonic() - started)
