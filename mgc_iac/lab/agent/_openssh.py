"""The target as the agent on a source reaches it: commands through OpenSSH's client with the transfer key."""

from __future__ import annotations

import shlex

from mgc_iac.lab.agent._job import AgentInstall
from mgc_iac.lab.agent._rsync import ssh_command
from mgc_iac.ssh import CommandResult, LocalConnector, OutputCallback


class OpenSSHTarget(LocalConnector):
    """Runs each command on the target (`ssh ... root@migration-ip -- command`), from the source itself."""

    def __init__(self, install: AgentInstall, name: str = "target") -> None:
        super().__init__(name)
        self.install = install

    def __repr__(self) -> str:
        return f"OpenSSHTarget({self.install.target.host!r}:{self.install.target.port})"

    async def run(self, command: str, *, input: bytes | str | None = None, timeout: float | None = None,
                  on_stdout: OutputCallback | None = None) -> CommandResult:
        t = self.install.target
        host = f"[{t.host}]" if ":" in t.host else t.host
        ssh = ssh_command(t, self.install.key_file, self.install.known_hosts)
        res = await super().run(f"{ssh} {shlex.quote(f'{t.user}@{host}')} -- {shlex.quote(command)}", input=input,
                                timeout=timeout, on_stdout=on_stdout)
        return CommandResult(command, res.exit_status, res.stdout, res.stderr)
