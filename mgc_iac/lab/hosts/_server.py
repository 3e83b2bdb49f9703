"""An asyncssh server for one lab host: public-key auth, exec and the sftp subsystem inside bubblewrap."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import Callable
from pathlib import Path

import asyncssh

CHUNK = 262144
PIPE_SIZE = 1024 * 1024
SERVER_VERSION = "OpenSSH_9.2p1 mgc-lab"  # asyncssh clients order SYMLINK arguments like OpenSSH only then


def _grow_pipe(pipe: object) -> None:
    """1 MiB pipes instead of 64 KiB: a bulk copy then costs a sixteenth of the write() calls."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)  # type: ignore[attr-defined]


class _SandboxSession(asyncssh.SSHServerSession[bytes]):
    """Runs one exec or sftp request as a sandboxed child, pumping bytes both ways with flow control."""

    def __init__(self, argv_for: Callable[[list[str]], list[str]], tasks: set[asyncio.Task[None]]) -> None:
        self._argv_for = argv_for
        self._tasks = tasks
        self._argv: list[str] | None = None
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._early: list[bytes] = []  # stdin that arrived before the child started
        self._eof = False
        self._draining = False
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:  # type: ignore[override]
        self._chan = chan

    def shell_requested(self) -> bool:
        return False

    def exec_requested(self, command: str) -> bool:
        self._argv = self._argv_for(["/bin/bash", "-c", command])
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        if subsystem != "sftp":
            return False
        self._argv = self._argv_for(["/usr/lib/openssh/sftp-server"])
        return True

    def session_started(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._tasks.add(self._task)
        self._task.add_done_callback(self._tasks.discard)

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            self._early.append(data)
            return
        self._write_stdin(proc.stdin, data)

    def _write_stdin(self, stdin: asyncio.StreamWriter, data: bytes) -> None:
        """Straight into the child's pipe (the transport writes at once when it has nothing queued): no task
        wakeup per SSH packet. Above the transport's high-water mark, stop reading the channel until it drains."""
        if stdin.is_closing():
            return  # the child closed its stdin or exited: its exit status tells the client
        stdin.write(data)
        if stdin.transport.get_write_buffer_size() > PIPE_SIZE and not self._draining and self._chan is not None:
            self._draining = True
            self._chan.pause_reading()
            task = asyncio.get_running_loop().create_task(self._drain(stdin))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, stdin: asyncio.StreamWriter) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await stdin.drain()
        self._draining = False
        if self._chan is not None and not self._chan.is_closing():
            self._chan.resume_reading()

    def eof_received(self) -> bool:
        self._eof = True
        if self._proc is not None and self._proc.stdin is not None and not self._proc.stdin.is_closing():
            self._proc.stdin.close()  # after what is still queued
        return True

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
        self._can_write.set()

    async def _pump(self, stream: asyncio.StreamReader, stderr: bool) -> None:
        assert self._chan is not None
        while data := await stream.read(CHUNK):
            await self._can_write.wait()
            if self._chan.is_closing():
                continue
            if stderr:
                self._chan.write_stderr(data)
            else:
                self._chan.write(data)

    async def _run(self) -> None:
        chan = self._chan
        assert chan is not None and self._argv is not None
        try:
            proc = self._proc = await asyncio.create_subprocess_exec(
                *self._argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            chan.write_stderr(f"cannot start the command: {exc}\n".encode())
            chan.exit(127)
            return
        assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
        _grow_pipe(proc.stdin.transport.get_extra_info("pipe"))
        _grow_pipe(proc.stdout._transport.get_extra_info("pipe"))  # type: ignore[attr-defined]
        early, self._early = self._early, []
        for data in early:
            self._write_stdin(proc.stdin, data)
        if self._eof:
            proc.stdin.close()
        await asyncio.gather(self._pump(proc.stdout, False), self._pump(proc.stderr, True))
        status = await proc.wait()
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()  # else the subprocess transport outlives the session
        if not chan.is_closing():
            chan.exit(status if status >= 0 else 128 - status)


class _HostServer(asyncssh.SSHServer):
    def __init__(self, host: _ServerContext) -> None:
        self._host = host
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._host.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._host.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if username != "root":
            return False
        wanted = key.export_public_key("openssh").split()[:2]
        return any(line.split()[:2] == wanted for line in self._host.authorized_keys())

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        # a lab host can be a jump host, but only to other lab services on loopback
        return dest_host in ("127.0.0.1", "localhost")

    def session_requested(self) -> _SandboxSession:
        return _SandboxSession(self._host.argv_for, self._host.tasks)


class _ServerContext:
    """What the server needs from its host: the sandbox, the authorized keys, the open connections."""

    def __init__(self, argv_for: Callable[[list[str]], list[str]], root: Path, extra_keys: list[bytes]) -> None:
        self.argv_for = argv_for
        self.root = root
        self.extra_keys = extra_keys
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def authorized_keys(self) -> list[bytes]:
        lines = list(self.extra_keys)
        with contextlib.suppress(OSError):  # no file: only the lab client key
            lines += (self.root / "root/.ssh/authorized_keys").read_bytes().splitlines()
        return [line for line in lines if line.strip() and not line.startswith(b"#")]


async def start_server(ctx: _ServerContext, host_key: asyncssh.SSHKey, port: int = 0) -> asyncssh.SSHAcceptor:
    return await asyncssh.create_server(
        lambda: _HostServer(ctx), "127.0.0.1", port, server_host_keys=[host_key], encoding=None, allow_pty=False,
        server_version=SERVER_VERSION, allow_scp=False, agent_forwarding=False, x11_forwarding=False,
        encryption_algs=["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
                         "aes128-ctr", "aes256-ctr"],
        keepalive_interval=30, window=8 * 1024 * 1024, max_pktsize=128 * 1024)
