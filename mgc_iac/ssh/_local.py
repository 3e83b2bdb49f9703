"""The local connector: the same contract on this machine (an agent running on its own source)."""

from __future__ import annotations

import asyncio
import shutil

from mgc_iac.errors import SSHCommandError
from mgc_iac.ssh._connector import CommandResult, OutputCallback


class LocalConnector:
    """Runs commands with /bin/sh on this machine."""

    def __init__(self, name: str = "localhost") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"LocalConnector({self.name!r})"

    async def connect(self) -> None:
        return None

    async def run(self, command: str, *, input: bytes | str | None = None, timeout: float | None = None,
                  on_stdout: OutputCallback | None = None) -> CommandResult:
        data = input.encode() if isinstance(input, str) else input
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        assert proc.stdin and proc.stdout and proc.stderr
        out: list[bytes] = []

        async def pump() -> None:
            assert proc.stdout
            while chunk := await proc.stdout.read(262144):
                out.append(chunk)
                if on_stdout is not None:
                    on_stdout(chunk)

        async def feed() -> None:
            assert proc.stdin
            if data:
                proc.stdin.write(data)
                await proc.stdin.drain()
            proc.stdin.close()

        try:
            async with asyncio.timeout(timeout):
                _, _, err = await asyncio.gather(feed(), pump(), proc.stderr.read())
                status = await proc.wait()
        except TimeoutError as exc:
            proc.kill()
            raise SSHCommandError(f"{self.name}: command timed out after {timeout:g}s: {command[:120]}") from exc
        return CommandResult(command, status, b"".join(out).decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    async def put_file(self, local_path: str, remote_path: str) -> None:
        await asyncio.to_thread(shutil.copy2, local_path, remote_path)

    async def get_file(self, remote_path: str, local_path: str) -> None:
        await asyncio.to_thread(shutil.copy2, remote_path, local_path)

    async def close(self) -> None:
        return None
