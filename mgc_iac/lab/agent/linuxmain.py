"""The lab SMS-Agent, `linuxmain`: runs ON a lab source (from the lab's SMS-Agent package), never on the controller.

What Huawei's SMS-Agent does, with the same SMS v3 agent API through mgc_iac.cloud's SmsClient (the official
SDK, its SDK-HMAC-SHA256 signer): it reports the source (register_server: hostname, MACs, CPUs, memory, disks,
OS), polls its commands (show_command, which is also its heartbeat), and for START/SYNC pushes the source's
files with rsync over SSH to the task's target at its migration IP and port (DYNAMIC_PORT), with the transfer
key SMS gives it for that task (show_cert_key; see mgc_iac.lab.sms_agent), verifies when the task asks, and
reports progress, the consistency result and the command result.

Started by the package's startup.sh, which pipes it, one a line: `new`, the AK, the SK, the SMS domain (a bare
host), the enterprise project's id and name (saved in agent/config/registration.cfg, the keys sealed: see
_registration.py), or `saved` to reuse that saved configuration. The keys stay in this process's memory and
that sealed file: never in argv, the environment or the log. It reaches SMS through the proxy of
agent/config/auth.cfg [proxy-config] when one is enabled (what StartUpAgent writes there). It writes its pid to
<home>/linuxmain.pid and logs to stderr (agent/Logs/linuxmain.log). SIGTERM ends it. `linuxmain
--list-enterprise-projects DOMAIN` prints the account's enterprise projects (`<id> <name>` a line, 0 default).

In the lab, the SMS domain Huawei names (`sms.<region>.myhuaweicloud.com`) is mapped onto the lab by the host's
/.mgc-lab-network.json (`cloud`: the lab's URL, project and enterprise projects: what DNS, IAM and EPS answer
on Huawei Cloud); a host declared `internet: false` reaches it only through a proxy (a lab model of a firewall).

Runs on the source's /usr/bin/python3 with only what the package vendors: no asyncssh, no pydantic.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mgc_iac.cloud import Cloud, CloudSettings, SourceFacts
from mgc_iac.lab.agent._commands import AgentCommand, run_agent_loop
from mgc_iac.lab.agent._errors import ReplicationError
from mgc_iac.lab.agent._job import AgentInstall, ReplicationJob
from mgc_iac.lab.agent._openssh import OpenSSHTarget
from mgc_iac.lab.agent._registration import (  # noqa: F401 - LAB_NETWORK: the lab hosts name it
    LAB_NETWORK,
    Registration,
    enterprise_projects,
    lab_network,
    load,
    proxy_url,
    save,
)
from mgc_iac.lab.agent._rsync import TARGET_ALIAS
from mgc_iac.lab.agent.sms import SmsAgentCommands
from mgc_iac.ssh import LocalConnector, TargetEndpoint

log = logging.getLogger("mgc_iac.lab.agent.linuxmain")

PROCESS_NAME = b"linuxmain"
PSEUDO_EXCLUDES = ("/proc", "/sys", "/dev", "/run", "/tmp")
# the target user's authorized_keys holds the transfer key SMS placed there: the source's must not replace it
TARGET_KEYS = "/root/.ssh/authorized_keys"
POLL_SECONDS = 0.2  # show_command, the heartbeat: a started task's command is taken within this


def _name_process() -> None:
    """`ps -e`, `pgrep linuxmain` and /proc/PID/comm show linuxmain (argv[0] is set by the launcher)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(15, PROCESS_NAME, 0, 0, 0)  # PR_SET_NAME


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _lab_network() -> dict[str, Any]:
    return lab_network()


def source_ip(sms_url: str) -> str:
    """The address this source reaches SMS from (a UDP socket's local address: nothing is sent); in the lab,
    the host's declared address (its loopback-only network has none of its own)."""
    declared = str((_lab_network().get("self") or {}).get("ip") or "")
    if declared:
        return declared
    parsed = urlparse(sms_url)
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((parsed.hostname or "127.0.0.1", parsed.port or 443))
        return str(s.getsockname()[0])
    return "127.0.0.1"


def source_facts(version: str, ip: str) -> SourceFacts:
    """What SMS collects about a source ("What Information Does SMS Collect About Source Servers?")."""
    macs = []
    net = Path("/sys/class/net")
    for iface in sorted(p.name for p in net.iterdir()) if net.is_dir() else []:
        mac = _read(f"/sys/class/net/{iface}/address").strip().lower()
        if iface != "lo" and mac and mac != "00:00:00:00:00:00":
            macs.append(mac)
    mem = next((int(line.split()[1]) * 1024 for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal:")), 0)
    cpus = int(os.environ.get("OMP_NUM_THREADS") or 0) or _read("/proc/cpuinfo").count("processor\t") or 1
    release = dict(line.split("=", 1) for line in _read("/etc/os-release").splitlines() if "=" in line)
    st = os.statvfs("/")
    size, used = st.f_blocks * st.f_frsize, (st.f_blocks - st.f_bfree) * st.f_frsize
    fs = next((f.split()[2] for f in _read("/proc/self/mounts").splitlines() if f.split()[1:2] == ["/"]), "ext4")
    # the root partition as SMS has it (ServerDisk.physical_volumes): CreateTask needs it back (SMS.0515)
    disk = {"name": "/dev/vda", "size": size, "used_size": used, "device_use": "BOOT",
            "physical_volumes": [{"name": "/dev/vda1", "size": size, "used_size": used, "index": 0, "device_use": "OS",
                                  "file_system": fs, "mount_point": "/", "uuid": ""}]}
    os_version = f"{release.get('ID', '').strip(chr(34))} {release.get('VERSION_ID', '').strip(chr(34))}".strip()
    return SourceFacts(name=socket.gethostname(), ip=ip, os_type="LINUX", macs=tuple(macs), cpu_quantity=cpus,
                       memory_bytes=mem, disks=(disk,), os_version=os_version, agent_version=version)


def _raw(answer: Any) -> dict[str, Any]:
    """A JSON answer of the client layer, as a dict (raw JSON, or an SDK response model)."""
    if isinstance(answer, dict):
        return answer
    for reader in ("to_json_object", "to_dict"):
        if hasattr(answer, reader):
            return dict(getattr(answer, reader)())
    return {}


class TaskTargets:
    """The target of each task, as this source reaches it, and the transfer key SMS gives for it."""

    def __init__(self, sms: Any, home: Path) -> None:
        self.sms = sms
        self.home = home

    def _call(self, operation: str, request: Any) -> dict[str, Any]:
        return _raw(self.sms.call(operation, request))

    def _endpoint(self, task_id: str) -> tuple[str, int, str]:
        from huaweicloudsdksms.v3 import ShowTaskRequest

        task = self._call("show_task", ShowTaskRequest(task_id=task_id))
        name = str((task.get("target_server") or {}).get("name") or "")
        port = int(self.sms.configuration(task_id).get("DYNAMIC_PORT") or 22)
        host = str(task.get("migration_ip") or "")
        lab = _lab_network().get("targets", {})
        if name in lab:  # the lab's hosts all answer on 127.0.0.1, each on its own port
            host, port = str(lab[name]["host"]), int(lab[name]["port"])
        if not host:
            raise ReplicationError(f"task {task_id} has no migration IP for its target {name or '?'}")
        return host, port, name

    def _keys(self, task_id: str) -> dict[str, Any]:
        from huaweicloudsdksms.v3 import ShowCertKeyRequest

        return self._call("show_cert_key", ShowCertKeyRequest(task_id=task_id))

    def _resolve(self, cmd: AgentCommand, keys: dict[str, Any], where: tuple[str, int, str]
                 ) -> tuple[OpenSSHTarget, AgentInstall]:
        task_id = str(cmd.params["task_id"])
        host, port, name = where
        folder = self.home / "keys" / task_id
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_file, known_hosts = folder / "id_transfer", folder / "known_hosts"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(str(keys.get("private_key") or ""))
        known_hosts.write_text(f"{TARGET_ALIAS} {keys.get('target_data_cert') or ''}\n")
        endpoint = TargetEndpoint(host=host, port=port, host_key=str(keys.get("target_data_cert") or ""))
        install = AgentInstall(str(self.home), str(key_file), str(known_hosts), endpoint)
        return OpenSSHTarget(install, name=name or host), install

    async def resolve(self, cmd: AgentCommand) -> tuple[OpenSSHTarget, AgentInstall]:
        task_id = str(cmd.params["task_id"])
        keys, where = await asyncio.gather(asyncio.to_thread(self._keys, task_id),
                                           asyncio.to_thread(self._endpoint, task_id))
        return self._resolve(cmd, keys, where)


def _excludes(home: Path) -> tuple[str, ...]:
    lab = [line.strip() for line in _read(str(home / "config" / "excludes")).splitlines() if line.strip()]
    return (*PSEUDO_EXCLUDES, TARGET_KEYS, *lab)


class NoRouteError(Exception):
    """The lab host has no route to the cloud but through a proxy, and auth.cfg enables none."""


def settings_for(home: Path, reg: Registration) -> CloudSettings:
    """The SMS client settings from the saved answers and auth.cfg's proxy."""
    network = _lab_network()
    cloud = network.get("cloud") or {}
    domain = reg.domain
    parts = domain.split(".")
    region = parts[1] if len(parts) > 3 and parts[0] == "sms" else str(cloud.get("region") or "cn-north-4")
    url = f"https://{domain}"
    if cloud.get("url") and domain.endswith(".myhuaweicloud.com"):
        url = str(cloud["url"])  # the lab answers for Huawei's names (a lab deviation: DNS)
    proxy = proxy_url(home)
    if network.get("internet") is False and proxy is None:
        raise NoRouteError(f"cannot reach {domain}: this host has no route out but through a proxy, and "
                           "agent/config/auth.cfg [proxy-config] enables none")
    projects = cloud.get("projects") or {}
    return CloudSettings(region=region, project_id=str(projects.get(region) or cloud.get("project_id") or ""),
                         ak=reg.ak, sk=reg.sk, endpoints={"sms": url}, proxy=proxy)


def read_registration(home: Path, lines: list[str]) -> Registration:
    """What startup.sh piped: `new` and the answers (saved for a restart), or `saved`."""
    mode = lines[0] if lines else ""
    if mode == "saved":
        return load(home)
    if mode != "new" or len(lines) < 4 or not all(lines[1:4]):
        raise ValueError("startup: expected `new`, the AK, SK, SMS domain and enterprise project, or `saved`")
    ak, sk, domain, ep_id, ep_name = (lines[1:] + ["0", "default"])[:5]
    reg = Registration(ak=ak, sk=sk, domain=domain, enterprise_project_id=ep_id or "0",
                       enterprise_project=ep_name or "default")
    save(home, reg)
    return reg


async def run(home: Path, settings: CloudSettings) -> None:
    version = _read(str(home.parent / "version")).strip() or "unknown"
    cloud = Cloud(settings)
    facts = source_facts(version, source_ip(settings.endpoint("sms")))
    commands = SmsAgentCommands(cloud.sms, facts, poll_seconds=POLL_SECONDS)
    commands.on_registered = lambda sid: log.info("registered with SMS as source %s", sid)
    targets = TaskTargets(cloud.sms, home)
    job = ReplicationJob(paths=("/",), exclude=_excludes(home))
    await run_agent_loop(commands, LocalConnector(socket.gethostname()), job, resolve=targets.resolve)


def warm_imports() -> None:
    """Import what the agent needs at run time, one SMS call included (to a closed port): the lab's package
    vendors exactly what this imports (mgc_iac.lab.sms_agent._build)."""
    import huaweicloudsdksms.v3  # noqa: F401 - the request models the agent sends

    from mgc_iac.cloud import RetryPolicy

    settings = CloudSettings(region="cn-north-4", project_id="p", ak="a", sk="s", connect_timeout=0.5,
                             endpoints={"sms": "http://127.0.0.1:9"}, retry=RetryPolicy(max_attempts=1))
    with contextlib.suppress(Exception):
        Cloud(settings).sms.show_command("warm")


def main(home: str, argv: list[str] | None = None) -> int:
    args = list(argv or [])
    if args[:1] == ["--list-enterprise-projects"]:
        for ep_id, name in enterprise_projects():
            print(f"{ep_id} {name}")
        return 0
    _name_process()
    lines = [line.rstrip("\n") for line in sys.stdin.readlines()[:6]]
    with contextlib.suppress(OSError):
        sys.stdin.close()
    # WARNING for libraries (the SDK's request logs carry the access key id); INFO for the agent's own lines
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mgc_iac").setLevel(logging.INFO)
    root = Path(home)
    try:
        reg = read_registration(root, lines)
        settings = settings_for(root, reg)
    except (OSError, ValueError, KeyError, NoRouteError) as exc:
        log.error("startup: %s", exc)
        return 2
    log.info("SMS domain %s, enterprise project %s (%s)%s", reg.domain, reg.enterprise_project,
             reg.enterprise_project_id, f", through the proxy {settings.proxy}" if settings.proxy else "")
    pid_file = root / "linuxmain.pid"
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(str(os.getpid()))
    tmp.replace(pid_file)

    async def guarded() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
        with contextlib.suppress(asyncio.CancelledError):
            await run(root, settings)

    try:
        asyncio.run(guarded())
    except Exception:  # noqa: BLE001 - logged (no secret is in an exception of the client layer), then it ends
        log.exception("the SMS-Agent failed")
        return 1
    finally:
        with contextlib.suppress(OSError):
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
    log.info("the SMS-Agent stops")
    return 0
