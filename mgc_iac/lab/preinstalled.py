"""Sources whose SMS-Agent a user installed by hand, played by the lab: a LAB MODEL (Windows cannot run here).

Huawei's Windows agent is a GUI installer (SMS-Agent-Py3.exe; SMS user guide, "Installing the SMS-Agent on
Windows", via huaweicloud-skills): the user runs it, gives it the AK/SK and the SMS domain, and the server
registers with SMS on its own; a tool that cannot run the installer waits for that registration and matches the
source by its MACs and IPs (huawei-behaviour.md). The lab plays that server from the seed:

    cloud:
      preinstalled_agents:
        - {name: win-01, os: windows, ip: 192.168.1.20, mac: "fa:16:3e:00:00:03", cpus: 2, memory_mb: 4096,
           disks: [{name: "C:", size_gb: 40, used_gb: 18}], register_after_seconds: 3}

`register_after_seconds` after the lab starts, a thread of the lab process acts as that server's agent through
the SMS agent API itself (mgc_iac.cloud's SmsClient, signed with the lab's keys, like any agent): it registers
the server (its MAC and IP in `networks`), polls its commands (the heartbeat: connected), and answers START and
SYNC as a block-level copy that is done at once: the consistency result (clean; per drive, its `files` or 1000
a used GB compared), progress 100 on MIGRATE_WINDOWS_BLOCK / SYNC_WINDOWS_BLOCK, the command result. No byte
moves, and none of this is mgc-iac's code under test: the client side (the wait, the MAC-and-IP match, the
block-level task) is.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from mgc_iac.lab.context import LabContext

log = logging.getLogger("mgc_iac.lab.preinstalled")
POLL_SECONDS = 0.5


def facts(agent: dict[str, Any]) -> Any:
    """What the installed agent registers (PostSourceServerBody through SourceFacts)."""
    from mgc_iac.cloud import SourceFacts

    gib = 1024 ** 3
    disks = tuple({"name": str(d.get("name") or f"disk{n}"), "size": int(float(d.get("size_gb", 40)) * gib),
                   "used_size": int(float(d.get("used_gb", 0)) * gib), "device_use": "BOOT" if n == 0 else "NORMAL"}
                  for n, d in enumerate(agent.get("disks") or [{"name": "C:", "size_gb": 40, "used_gb": 10}]))
    return SourceFacts(name=str(agent["name"]), ip=str(agent["ip"]), os_type=str(agent.get("os", "windows")).upper(),
                       macs=(str(agent["mac"]).lower(),), cpu_quantity=int(agent.get("cpus", 2)),
                       memory_bytes=int(agent.get("memory_mb", 4096)) * 1024 * 1024, disks=disks,
                       os_version=str(agent.get("os_version", "")), agent_version="lab-preinstalled")


class PreinstalledAgents:
    """One thread playing every seeded preinstalled agent against the lab at `url`."""

    def __init__(self, lab: LabContext, url: str) -> None:
        self.lab = lab
        self.url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mgc-iac-lab-preinstalled", daemon=True)

    def start(self) -> PreinstalledAgents:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _client(self) -> Any:
        from mgc_iac.cloud import Cloud, CloudSettings, RetryPolicy

        ak, sk = next(iter(self.lab.keys.items()))
        return Cloud(CloudSettings(region=self.lab.region, project_id=self.lab.project_id, ak=ak, sk=sk,
                                   endpoints={"sms": self.url}, retry=RetryPolicy(max_attempts=2, base_delay=0.1)))\
            .sms

    def _run(self) -> None:
        from mgc_iac.errors import CloudError, CloudNotFoundError

        sms = self._client()
        started = time.monotonic()
        ids: dict[str, str] = {}
        while not self._stop.wait(POLL_SECONDS):
            for agent in self.lab.seed.preinstalled_agents:
                if time.monotonic() - started < float(agent.get("register_after_seconds", 0)):
                    continue
                name = str(agent["name"])
                try:
                    if name not in ids:
                        ids[name] = sms.register_source(facts(agent))
                        log.info("preinstalled agent %s registered as %s", name, ids[name])
                    self._answer(sms, agent, ids[name])
                except CloudNotFoundError:
                    ids.pop(name, None)  # the lab was reset: the agent registers again
                except CloudError as exc:
                    log.warning("preinstalled agent %s: %s", name, exc)

    @staticmethod
    def _answer(sms: Any, agent: dict[str, Any], source_id: str) -> None:
        from mgc_iac.cloud import ConsistencyResult, Progress

        command = sms.show_command(source_id)  # also the heartbeat
        if not command.name:
            return
        if command.name in ("START", "SYNC") and command.task_id:
            phase = "MIGRATE" if command.name == "START" else "SYNC"
            total = sum(int(float(d.get("used_gb", 0)) * 1024 ** 3) for d in agent.get("disks") or [])
            # the quick check's count per drive: the seed's `files`, else 1000 a used GB (no file exists here)
            sms.report_consistency_result(command.task_id, [
                ConsistencyResult(str(d.get("name") or "C:"),
                                  int(d.get("files", float(d.get("used_gb", 0)) * 1000)), 0, 0, 0)
                for d in agent.get("disks") or [{"name": "C:", "used_gb": 10}]])
            sms.report_progress(command.task_id, Progress(f"{phase}_WINDOWS_BLOCK", 100, total, total, 0.0))
            log.info("preinstalled agent %s: %s of task %s done (simulated)", agent["name"], command.name,
                     command.task_id)
        sms.report_command_result(source_id, command.name, True, {"method": "lab-preinstalled"})


def start(lab: LabContext, url: str) -> PreinstalledAgents | None:
    """The lab's preinstalled agents, started once the lab answers at `url` (None when the seed has none)."""
    return PreinstalledAgents(lab, url).start() if lab.seed.preinstalled_agents else None
