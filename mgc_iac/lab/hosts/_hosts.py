"""LabHosts: start and stop every lab host of a seed in one asyncio loop, and tell clients how to reach them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from mgc_iac.lab.hosts._root import generate_files, mount_quota, scaffold_root, unmount_quota, write_facts
from mgc_iac.lab.hosts._sandbox import sandbox_argv
from mgc_iac.lab.hosts._server import _ServerContext, start_server
from mgc_iac.lab.hosts._spec import LabHostSpec
from mgc_iac.ssh import SSHSettings, known_hosts_name

NETWORK_FILE = "/.mgc-lab-network.json"  # read by the lab agent (mgc_iac.lab.agent.linuxmain.LAB_NETWORK)


@dataclass
class LabHost:
    """One running lab host. `root` is its / on this machine (for the lab's own bookkeeping, not for clients)."""

    spec: LabHostSpec
    root: Path
    facts_dir: Path
    port: int = 0
    host_key_public: str = ""
    quota_enforced: bool = False
    _acceptor: asyncssh.SSHAcceptor | None = field(default=None, repr=False)
    _ctx: _ServerContext | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def argv(self, command: list[str]) -> list[str]:
        return sandbox_argv(self.spec, self.root, self.facts_dir, command)

    def power_off(self) -> int:
        """Kill every process running inside this host's root (what a powered-off server keeps: nothing)."""
        killed = 0
        try:
            mine = os.stat(self.root)
        except OSError:
            return 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                # readlink shows "/" for a process inside bwrap; the root's identity is its device and inode
                seen = os.stat(f"/proc/{entry}/root")
                if (seen.st_dev, seen.st_ino) == (mine.st_dev, mine.st_ino):
                    os.kill(int(entry), signal.SIGKILL)
                    killed += 1
            except OSError:
                continue  # gone already, or not ours to inspect
        return killed

    def drop_connections(self) -> int:
        """Fault injection: abort every open SSH connection to this host (as a network drop would)."""
        conns = list(self._ctx.connections) if self._ctx else []
        for conn in conns:
            conn.abort()
        return len(conns)


class LabHosts:
    """The lab's SSH hosts: one asyncssh server each on 127.0.0.1 (free ports), one client key for all."""

    def __init__(self, specs: list[LabHostSpec], workdir: str | Path, cloud: dict[str, object] | None = None) -> None:
        self.workdir = Path(workdir).resolve()
        # what a source learns of the lab cloud (mgc_iac.lab.agent.linuxmain): its URL for Huawei's domain names, the
        # project of its region and the enterprise projects (what DNS, IAM and EPS tell Huawei's agent)
        self.cloud = cloud
        self.hosts: dict[str, LabHost] = {
            s.name: LabHost(s, self.workdir / "hosts" / s.name / "root", self.workdir / "hosts" / s.name / "facts")
            for s in specs}
        self.clones: set[str] = set()  # hosts made at run time by add_clone (SMS clone_test in the lab)
        self._client_pub = b""
        self.client_key_path = self.workdir / "client_key"
        self.known_hosts_path = self.workdir / "known_hosts"
        self._started = False

    def __getitem__(self, name: str) -> LabHost:
        return self.hosts[name]

    async def __aenter__(self) -> LabHosts:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _key(self, path: Path) -> asyncssh.SSHKey:
        if path.exists():
            return asyncssh.read_private_key(str(path))
        key = asyncssh.generate_private_key("ssh-ed25519")
        path.parent.mkdir(parents=True, exist_ok=True)
        key.write_private_key(str(path))
        path.chmod(0o600)
        return key

    async def start(self) -> None:
        """Prepare every root (kept between runs), then listen; known_hosts lists every host key."""
        if self._started:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        client = self._key(self.client_key_path)
        client_pub = client.export_public_key("openssh").strip()
        (self.workdir / "client_key.pub").write_bytes(client_pub + b"\n")
        self._client_pub = client_pub
        try:
            for host in self.hosts.values():
                await self._start_host(host)
        except BaseException:
            await self.stop()
            raise
        self._write_known_hosts()
        self.write_network()
        self._started = True

    async def _start_host(self, host: LabHost) -> None:
        if host.spec.disk_size_mb:
            host.quota_enforced = await asyncio.to_thread(mount_quota, host.root, host.spec.disk_size_mb)
        host.root.mkdir(parents=True, exist_ok=True)
        scaffold_root(host.root, host.spec)
        write_facts(host.facts_dir, host.spec)
        if host.spec.files is not None:
            await asyncio.to_thread(generate_files, host.root, host.spec.files)
        key = self._key(host.facts_dir.parent / "host_key")
        host.host_key_public = key.export_public_key("openssh").decode().strip()
        host._ctx = _ServerContext(host.argv, host.root, [self._client_pub])
        host._acceptor = await start_server(host._ctx, key)
        host.port = host._acceptor.sockets[0].getsockname()[1]

    def _write_known_hosts(self) -> None:
        lines = [f"{known_hosts_name('127.0.0.1', h.port)} {h.host_key_public}\n" for h in self.hosts.values()
                 if h.port]
        tmp = self.known_hosts_path.with_name(self.known_hosts_path.name + ".tmp")
        tmp.write_text("".join(lines))
        tmp.replace(self.known_hosts_path)

    async def add_clone(self, of: str, name: str) -> LabHost:
        """A new host whose root is a copy of host `of`'s root as it is now (what SMS's clone_test makes of a
        target: a server of its own from snapshots of the target's disks), listening on its own port."""
        if name in self.hosts:
            return self.hosts[name]
        original = self.hosts[of]
        mac = "fa:16:3e:" + ":".join(f"{b:02x}" for b in hashlib.sha256(name.encode()).digest()[:3])
        spec = original.spec.model_copy(update={"name": name, "mac": mac, "files": None, "disk_size_mb": None})
        host = LabHost(spec, self.workdir / "hosts" / name / "root", self.workdir / "hosts" / name / "facts")
        shutil.rmtree(host.root, ignore_errors=True)
        await asyncio.to_thread(shutil.copytree, original.root, host.root, symlinks=True)
        self.hosts[name] = host
        self.clones.add(name)
        await self._start_host(host)
        self._write_known_hosts()
        return host

    async def remove_clone(self, name: str) -> bool:
        """Stop and delete a host made by add_clone (seeded hosts are never removed): False when none."""
        host = self.hosts.get(name)
        if host is None or name not in self.clones:
            return False
        await self._stop_host(host)
        del self.hosts[name]
        self.clones.discard(name)
        shutil.rmtree(self.workdir / "hosts" / name, ignore_errors=True)
        self._write_known_hosts()
        return True

    def write_network(self) -> None:
        """The lab's network as a source sees it, in each source root's /.mgc-lab-network.json: every target
        answers on 127.0.0.1 at its own port (the lab agent reaches a task's target there instead of at its
        migration IP and port; a lab deviation); `cloud` (the lab's URL for Huawei's SMS domain, its project and
        enterprise projects) when known; `internet: false` for a host that reaches the cloud only by a proxy."""
        targets = {h.name: {"host": "127.0.0.1", "port": h.port} for h in self.hosts.values()
                   if h.spec.role == "target"}
        for host in self.hosts.values():
            if host.spec.role == "source":
                path = host.root / NETWORK_FILE.lstrip("/")
                tmp = path.with_name(path.name + ".tmp")
                own = {"ip": host.spec.ip or ""}  # the declared address (the lab's interfaces carry none)
                doc: dict[str, object] = {"self": own, "targets": targets, "internet": host.spec.internet}
                if self.cloud:
                    doc["cloud"] = self.cloud
                tmp.write_text(json.dumps(doc, indent=2))
                tmp.replace(path)

    def settings(self, name: str, **overrides: object) -> SSHSettings:
        """Client settings for a host: 127.0.0.1, its port, root, the lab client key, strict host keys."""
        host = self.hosts[name]
        values: dict[str, object] = {"host": "127.0.0.1", "port": host.port, "user": "root",
                                     "key_file": str(self.client_key_path),
                                     "known_hosts": str(self.known_hosts_path), "connect_timeout": 10.0}
        values.update(overrides)
        return SSHSettings(**values)  # type: ignore[arg-type]

    def inventory(self) -> dict[str, dict[str, object]]:
        """What a client in another process needs, per host name (written to hosts.json by the CLI runner)."""
        return {h.name: {"host": "127.0.0.1", "port": h.port, "user": "root", "role": h.spec.role,
                         "key_file": str(self.client_key_path), "known_hosts": str(self.known_hosts_path),
                         "host_key": h.host_key_public, "quota_enforced": h.quota_enforced}
                for h in self.hosts.values()}

    def write_inventory(self, path: str | Path) -> None:
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(json.dumps(self.inventory(), indent=2))
        tmp.replace(path)

    async def stop(self) -> None:
        for host in self.hosts.values():
            await self._stop_host(host)
        self._started = False

    async def _stop_host(self, host: LabHost) -> None:
        if host._acceptor is not None:
            host._acceptor.close()
            await host._acceptor.wait_closed()
            host._acceptor = None
        host.drop_connections()
        host.power_off()
        if host._ctx is not None and host._ctx.tasks:
            pending = set(host._ctx.tasks)
            _, late = await asyncio.wait(pending, timeout=5)  # let killed children be reaped
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def destroy(self) -> None:
        """Remove every root and key (after stop): the next start begins from the seed again."""
        for host in self.hosts.values():
            unmount_quota(host.root)
        shutil.rmtree(self.workdir / "hosts", ignore_errors=True)
