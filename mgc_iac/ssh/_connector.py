"""The small contract every connector honours (pyinfra-like): connect, run, put_file, get_file, close."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mgc_iac.errors import SSHCommandError

OutputCallback = Callable[[bytes], None]


@dataclass(frozen=True)
class CommandResult:
    """What a finished command left: its exit status and both outputs (decoded as UTF-8, replaced)."""

    command: str
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def check(self) -> CommandResult:
        """Return self when the command succeeded, else raise SSHCommandError with its stderr tail."""
        if self.exit_status != 0:
            tail = self.stderr.strip()[-2000:]
            raise SSHCommandError(f"command exited {self.exit_status}: {tail or '(no stderr)'}",
                                  exit_status=self.exit_status, stderr=self.stderr)
        return self


@runtime_checkable
class Connector(Protocol):
    """A host you can run commands on and copy files to and from."""

    name: str

    async def connect(self) -> None: ...

    async def run(self, command: str, *, input: bytes | str | None = None, timeout: float | None = None,
                  on_stdout: OutputCallback | None = None) -> CommandResult: ...

    async def put_file(self, local_path: str, remote_path: str) -> None: ...

    async def get_file(self, remote_path: str, local_path: str) -> None: ...

    async def close(self) -> None: ...
