"""Render the facts script, run it through any connector, parse its JSON into HostFacts."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import jinja2

from mgc_iac.errors import SSHCommandError
from mgc_iac.ssh._connector import Connector
from mgc_iac.ssh.facts._facts import (
    ALL_FACTS,
    CpuCount,
    Disks,
    FreeSpace,
    Hostname,
    Interfaces,
    LoadAverage,
    MemInfo,
    OsRelease,
    PackageManager,
    RsyncPath,
    Sudo,
    WhoAmI,
)
from mgc_iac.ssh.facts._model import HostFacts


@cache
def facts_script() -> str:
    """The POSIX sh facts script (read-only on the host)."""
    text = resources.files("mgc_iac.ssh.facts").joinpath("facts.sh.j2").read_text()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(text).render(facts=[{"name": f.name, "command": f.command} for f in ALL_FACTS])


def parse_facts(script_output: str) -> HostFacts:
    """Parse the script's JSON; a fact that printed nothing takes its default."""
    try:
        doc = json.loads(script_output)
        raw: dict[str, str] = doc["facts"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SSHCommandError("the facts script printed something that is not its JSON: "
                              f"{script_output[:200]!r}") from exc
    total, available = MemInfo.value(raw.get("meminfo"))
    return HostFacts(
        hostname=Hostname.value(raw.get("hostname")), identity=WhoAmI.value(raw.get("identity")),
        os=OsRelease.value(raw.get("os_release")), cpu_count=CpuCount.value(raw.get("cpu_count")),
        load1=LoadAverage.value(raw.get("loadavg")), memory_total_kb=total, memory_available_kb=available,
        interfaces=Interfaces.value(raw.get("interfaces")), disks=Disks.value(raw.get("disks")),
        free_kb=FreeSpace.value(raw.get("free_space")), rsync_path=RsyncPath.value(raw.get("rsync")),
        sudo=Sudo.value(raw.get("sudo")), package_manager=PackageManager.value(raw.get("package_manager")))


async def gather_facts(connector: Connector, *, timeout: float = 60.0) -> HostFacts:
    """Run the facts script on the host (fed on stdin, so nothing is written there) and parse it."""
    result = await connector.run("/bin/sh -s", input=facts_script(), timeout=timeout)
    result.check()
    return parse_facts(result.stdout)
