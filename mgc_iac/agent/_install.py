"""StartUpAgent and SourceClear on a source: the agent directory, its key (made on the source), its process.

The agent's private key is generated ON the source and never leaves it; its public key is authorized on the
target, and the target's host key is pinned in the agent's known_hosts (no trust-on-first-use).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from mgc_iac.agent._job import TargetEndpoint
from mgc_iac.agent._paths import AGENT_DIR
from mgc_iac.errors import SSHCommandError
from mgc_iac.ssh import Connector, known_hosts_name

_AGENT_SH = """#!/bin/sh
# mgc-agent heartbeat: proves the agent runs; the controller drives copies through this directory's key
while [ -d {dir} ] && [ ! -e {dir}/stop ]; do date +%s > {dir}/heartbeat || exit 1; sleep 2 || exit 1; done
"""


@dataclass(frozen=True)
class AgentInstall:
    """Where the agent lives on the source and how it reaches the target."""

    agent_dir: str
    key_file: str
    known_hosts: str
    public_key: str
    pid: int
    target: TargetEndpoint


async def start_agent(source: Connector, target: Connector, endpoint: TargetEndpoint, *,
                      agent_dir: str = AGENT_DIR) -> AgentInstall:
    """Install and start the agent on `source`, authorize it on `target` (idempotent: a re-run reuses the key)."""
    d = shlex.quote(agent_dir)
    key = f"{agent_dir}/id_ed25519"
    kh = f"{agent_dir}/known_hosts"
    host_line = f"{known_hosts_name(endpoint.host, endpoint.port)} {endpoint.host_key}"
    script = (
        f"set -e; umask 077; mkdir -p {d}; "
        f"[ -f {shlex.quote(key)} ] || ssh-keygen -q -t ed25519 -N '' -C mgc-agent@$(uname -n) -f {shlex.quote(key)}; "
        f"printf '%s\\n' {shlex.quote(host_line)} > {shlex.quote(kh)}; "
        f"cat > {d}/agent.sh <<'MGC_EOF'\n{_AGENT_SH.format(dir=agent_dir)}MGC_EOF\n"
        f"rm -f {d}/stop; "
        f"if [ -f {d}/pid ] && kill -0 $(cat {d}/pid) 2>/dev/null; then :; else "
        f"nohup setsid sh {d}/agent.sh >{d}/agent.log 2>&1 </dev/null & echo $! > {d}/pid; fi; "
        f"cat {d}/pid; cat {shlex.quote(key)}.pub")
    res = (await source.run(script)).check()
    lines = res.stdout.split("\n")
    pid, public_key = int(lines[0].strip()), lines[1].strip()
    auth = (f"set -e; umask 077; mkdir -p ~/.ssh; touch ~/.ssh/authorized_keys; "
            f"grep -qxF {shlex.quote(public_key)} ~/.ssh/authorized_keys || "
            f"printf '%s\\n' {shlex.quote(public_key)} >> ~/.ssh/authorized_keys")
    (await target.run(auth)).check()
    return AgentInstall(agent_dir, key, kh, public_key, pid, endpoint)


async def agent_running(source: Connector, install: AgentInstall) -> bool:
    """The agent process exists, is not a zombie (killed, not yet reaped), and its directory is there."""
    pid = int(install.pid)
    res = await source.run(f"kill -0 {pid} 2>/dev/null && [ \"$(sed 's/.*) //' /proc/{pid}/stat 2>/dev/null "
                           f"| cut -c1)\" != Z ] && [ -d {shlex.quote(install.agent_dir)} ]")
    return res.ok


async def stop_agent(source: Connector, target: Connector | None, install: AgentInstall) -> None:
    """SourceClear: stop the agent, remove its directory and its key from the target's authorized_keys."""
    d = shlex.quote(install.agent_dir)
    stop = (f"touch {d}/stop 2>/dev/null; if [ -f {d}/pid ]; then kill $(cat {d}/pid) 2>/dev/null; fi; "
            f"rm -rf {d}")
    (await source.run(stop)).check()
    if target is not None:
        body = install.public_key.split()[1]
        clean = (f"f=~/.ssh/authorized_keys; [ -f $f ] || exit 0; grep -vF {shlex.quote(body)} $f > $f.mgc || true; "
                 "cat $f.mgc > $f; rm -f $f.mgc")
        res = await target.run(clean)
        if not res.ok:
            raise SSHCommandError(f"could not remove the agent key from {target.name}: {res.stderr.strip()}",
                                  exit_status=res.exit_status, stderr=res.stderr)
