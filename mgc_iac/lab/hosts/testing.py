"""Lab hosts for tests of any part of mgc-iac: `with serving(specs, tmp_path / "lab") as hosts: ...`."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mgc_iac.lab.agent import AgentInstall, TargetEndpoint
from mgc_iac.lab.hosts._hosts import LabHosts
from mgc_iac.lab.hosts._spec import LabHostSpec

if TYPE_CHECKING:
    from mgc_iac.ssh import Connector


@contextmanager
def serving(specs: list[LabHostSpec], workdir: Path, cloud: dict[str, object] | None = None) -> Iterator[LabHosts]:
    """Start the hosts on a private event loop (`hosts.loop.run_until_complete` drives a test's coroutine);
    `cloud` is what the sources' network file says of the lab cloud (see cloud_view)."""
    loop = asyncio.new_event_loop()
    hosts = LabHosts(specs, workdir, cloud)
    loop.run_until_complete(hosts.start())
    hosts.loop = loop  # type: ignore[attr-defined]
    try:
        yield hosts
    finally:
        loop.run_until_complete(hosts.stop())
        loop.close()
        hosts.destroy()


async def transfer_key(source: Connector, target: Connector, endpoint: TargetEndpoint,
                       folder: str = "/root/.mgc-test-transfer") -> AgentInstall:
    """For data-path tests that drive replicate() directly: what SMS does for a task in the lab
    (mgc_iac.lab.sms_agent), done here over SSH: a key pair made on the source (readable by root only), its
    public half authorized on the target, the target's host key pinned for the agent's ssh."""
    from mgc_iac.lab.agent._rsync import TARGET_ALIAS

    key, known = f"{folder}/id_transfer", f"{folder}/known_hosts"
    script = (f"set -e; umask 077; mkdir -p {folder}; [ -f {key} ] || ssh-keygen -q -t ed25519 -N '' -f {key}; "
              f"printf '%s\\n' {shlex.quote(f'{TARGET_ALIAS} {endpoint.host_key}')} > {known}; cat {key}.pub")
    public = (await source.run(script)).check().stdout.strip()
    auth = (f"set -e; umask 077; mkdir -p ~/.ssh; touch ~/.ssh/authorized_keys; grep -qxF {shlex.quote(public)} "
            f"~/.ssh/authorized_keys || printf '%s\\n' {shlex.quote(public)} >> ~/.ssh/authorized_keys")
    (await target.run(auth)).check()
    return AgentInstall(folder, key, known, endpoint)
