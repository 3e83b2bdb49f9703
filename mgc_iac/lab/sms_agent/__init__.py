"""The lab's SMS-Agent: its package at the lab's download location, and SMS's side of the target.

Download (public, like Huawei's per-region OBS bucket of SMS-Agent.tar.gz: no signature):

    GET /sms-agent/SMS-Agent.tar.gz             the package (mgc_iac.lab.sms_agent._build)
    GET /sms-agent/SMS-Agent.tar.gz.sha256      "<sha256>  SMS-Agent.tar.gz", published beside it

The target side (signed, SMS v3): GET /v3/tasks/{task_id}/certkey (ShowCertKey; Huawei's API reference,
"Obtaining an SSL Certificate and Private Key", documents it for the block-level channel). On Huawei Cloud SMS
prepares the target for the copy itself (it boots the target from its agent image on a temporary disk, see the
SMS constraints on disks: "SMS reserves one slot for a temporary disk during migration"); the agent never gets
a password of the target. The lab models that with this call: per task, SMS makes an SSH key pair, authorizes
its public half on the target lab host (root's authorized_keys, what SMS's image would accept), and hands the
agent the private half (`private_key`, public half in `cert`) and the target's SSH host key
(`target_data_cert`, so the agent pins it). A lab deviation, listed in the lab README.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from mgc_iac.lab.context import LabError, lab_of, not_found, reply
from mgc_iac.lab.sms_agent._build import LAB_EXCLUDES as LAB_EXCLUDES  # the engine's verification skips them
from mgc_iac.lab.sms_agent._build import PACKAGE, build_package

DOWNLOAD_PREFIX = "/sms-agent/"
routes = web.RouteTableDef()


def _state_dir(request: web.Request) -> Path:
    return Path(lab_of(request).store.path).parent


async def _package(request: web.Request) -> tuple[Path, str]:
    return await asyncio.to_thread(build_package, _state_dir(request) / "sms-agent")


@routes.get(f"{DOWNLOAD_PREFIX}{PACKAGE}", name="agent.download_package")
async def download_package(request: web.Request) -> web.StreamResponse:
    path, _ = await _package(request)
    return web.FileResponse(path, headers={"Content-Type": "application/gzip"})


@routes.get(f"{DOWNLOAD_PREFIX}{PACKAGE}.sha256", name="agent.download_sha256")
async def download_sha256(request: web.Request) -> web.Response:
    _, digest = await _package(request)
    return web.Response(text=f"{digest}  {PACKAGE}\n", content_type="text/plain")


def _target_host(state_dir: Path, name: str) -> tuple[Path, str]:
    """The lab host that plays the target `name`: its root on this machine and its SSH host key."""
    try:
        inventory = json.loads((state_dir / "hosts" / "hosts.json").read_text())
    except (OSError, ValueError):
        inventory = {}
    entry = inventory.get(name)
    if not entry or entry.get("role") != "target":
        raise LabError(409, "LAB.0409", f"the target server {name} of this task is not reachable for the migration "
                       "(no lab host of role target with that name runs)")
    return state_dir / "hosts" / "hosts" / name / "root", str(entry["host_key"])


def _new_key_pair() -> tuple[str, str]:
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519", comment="sms-migration")
    return key.export_private_key("openssh").decode(), key.export_public_key("openssh").decode().strip()


def _authorize(root: Path, public_key: str) -> None:
    ssh = root / "root" / ".ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    auth = ssh / "authorized_keys"
    lines = auth.read_text().splitlines() if auth.exists() else []
    if public_key not in lines:
        with auth.open("a") as out:
            out.write(public_key + "\n")
    auth.chmod(0o600)


@routes.get("/v3/tasks/{task_id}/certkey", name="sms.show_cert_key")
async def show_cert_key(request: web.Request) -> web.Response:
    lab = lab_of(request)
    task = lab.store.get("sms_task", request.match_info["task_id"])
    if task is None:
        raise not_found("SMS.1804", f"task {request.match_info['task_id']}")
    target = (task.get("target_server") or {}).get("name", "")
    root, host_key = _target_host(_state_dir(request), target)
    doc: dict[str, Any] | None = lab.store.get("sms_certkey", task["id"])
    if doc is None:
        private, public = await asyncio.to_thread(_new_key_pair)
        doc = lab.store.put("sms_certkey", {"id": task["id"], "private_key": private, "public_key": public})
    await asyncio.to_thread(_authorize, root, doc["public_key"])
    return reply({"cert": doc["public_key"], "private_key": doc["private_key"], "ca": "",
                  "target_mgmt_cert": "", "target_mgmt_private_key": "", "target_data_cert": host_key,
                  "target_data_private_key": ""})


def revoke_transfer_key(request: web.Request, task: dict[str, Any]) -> None:
    """When SMS deletes a task, the transfer key it authorized on the task's target goes too (on Huawei Cloud it
    goes with the agent image the target booted for the migration)."""
    lab = lab_of(request)
    doc = lab.store.get("sms_certkey", task["id"])
    if doc is None:
        return
    name = (task.get("target_server") or {}).get("name", "")
    auth = _state_dir(request) / "hosts" / "hosts" / name / "root" / "root" / ".ssh" / "authorized_keys"
    if name and auth.exists():
        kept = [line for line in auth.read_text().splitlines() if line.strip() != doc["public_key"]]
        auth.write_text("".join(f"{line}\n" for line in kept))
    lab.store.delete("sms_certkey", task["id"])
