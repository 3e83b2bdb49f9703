"""Sources whose SMS-Agent a user installed by hand, played by the lab: a LAB MODEL (Windows cannot run here).

Huawei's Windows agent is a GUI installer (SMS-Agent-Py3.exe; SMS user guide, "Installing the SMS-Agent on
Windows", via huaweicloud-skills): the user runs it, gives it the AK/SK and the SMS domain, and the server
registers with SMS on its own; a tool that cannot run the installer waits for that registration and matches the
source by its MACs and IPs (huawei-behaviour.md). The lab plays that server from the seed:

    cloud:
      preinstalled_agents:
        - {name: win-01, os: windows, ip: 192.168.1.20, mac: "fa:16:3e:00:00:03", cpus: 2, memory_mb: 4096,
           disks: [{name: "C:", size_gb: 40, used_gb: 18}], register_after_seconds: 3}

`register_after_seconds` after the lab starts (or is reset) the lab registers it through the same code as the
register_server API (its MAC and IP in `networks`), then keeps its heartbeat (connected) and answers its
commands as its agent would: START and SYNC complete the block-level copy at once (sub-task
MIGRATE_WINDOWS_BLOCK / SYNC_WINDOWS_BLOCK at 100, the consistency result clean); no byte moves, and nothing of
this is mgc-iac's code under test: the client side (waiting, matching by MAC and IP, the block-level task) is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from mgc_iac.lab.context import LAB, LabContext

log = logging.getLogger("mgc_iac.lab.preinstalled")
TICK_SECONDS = 0.25
EPOCH = "preinstalled_epoch"   # lab setting: when the lab started (again): the registrations count from it
_TASK: web.AppKey[asyncio.Task[None]] = web.AppKey("preinstalled_task", asyncio.Task)


def _body(agent: dict[str, Any]) -> dict[str, Any]:
    """The register_server body the installed agent would send (PostSourceServerBody's fields)."""
    gib = 1024 ** 3
    disks = [{"name": str(d.get("name") or f"disk{n}"), "size": int(float(d.get("size_gb", 40)) * gib),
              "used_size": int(float(d.get("used_gb", 0)) * gib), "device_use": "BOOT" if n == 0 else "NORMAL",
              "partition_style": "MBR", "relation_name": str(d.get("name") or "")}
             for n, d in enumerate(agent.get("disks") or [{"name": "C:", "size_gb": 40, "used_gb": 10}])]
    return {"name": agent["name"], "hostname": agent["name"], "ip": str(agent["ip"]),
            "os_type": str(agent.get("os", "windows")).upper(), "os_version": str(agent.get("os_version", "")),
            "firmware": "BIOS", "cpu_quantity": int(agent.get("cpus", 2)),
            "memory": int(agent.get("memory_mb", 4096)) * 1024 * 1024, "disks": disks,
            "networks": [{"name": "Ethernet0", "ip": str(agent["ip"]), "netmask": "255.255.255.0",
                          "gateway": "", "mac": str(agent["mac"]).lower()}],
            "agent_version": "lab-preinstalled"}


def tick(lab: LabContext) -> None:
    """Register the agents whose time has come, keep their heartbeat, answer their commands."""
    from mgc_iac.lab.services import sms

    agents = lab.seed.preinstalled_agents
    if not agents:
        return
    now = lab.clock()
    with lab.store.tx():
        epoch = lab.store.setting(EPOCH)
        if epoch is None:
            lab.store.set_setting(EPOCH, now)
            epoch = now
        for agent in agents:
            if now < float(epoch) + float(agent.get("register_after_seconds", 0)):
                continue
            source = sms.register(lab, _body(agent))  # the same MACs keep the id: this is also the heartbeat
            while source["commands"]:
                command = source["commands"].pop(0)
                lab.store.put("sms_source", source)
                name = command.get("command_name")
                task = lab.store.get("sms_task", (command.get("command_param") or {}).get("task_id", ""))
                if task is not None and name in ("START", "SYNC") and task["state"] in ("RUNNING", "SYNCING"):
                    sms._instant(lab, task, "MIGRATE" if name == "START" else "SYNC")
                    lab.store.put("sms_task", task)
                    log.info("preinstalled agent %s: %s of task %s done (simulated)", agent["name"], name, task["id"])
                source = lab.store.get("sms_source", source["id"]) or source


async def _run(app: web.Application) -> None:
    lab = app[LAB]
    while True:
        try:
            tick(lab)
        except Exception:  # noqa: BLE001 - a lab model must not stop the lab: logged, tried again
            log.exception("the preinstalled agents' tick failed")
        await asyncio.sleep(TICK_SECONDS)


async def start(app: web.Application) -> None:
    if app[LAB].seed.preinstalled_agents:
        app[_TASK] = asyncio.get_running_loop().create_task(_run(app))


async def stop(app: web.Application) -> None:
    task = app.get(_TASK)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
