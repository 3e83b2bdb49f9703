"""`mgc-iac discover`: run the facts script on every source and compare what it reports with the inventory.
Nothing here prints.

Sources are reached the way apply reaches them (mgc_iac.ssh.hosts): the spec's `ssh:` block, or the lab
host of the same name in a lab stack. `plan --refresh` uses the same facts for the live rules.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mgc_iac.errors import MgcIacError


@dataclass(frozen=True)
class Discovered:
    """One source: its facts, or why they could not be gathered, and how they differ from the inventory."""

    name: str
    facts: Any = None  # mgc_iac.ssh.HostFacts
    error: str | None = None
    differences: list[Any] = field(default_factory=list)  # mgc_iac.ssh.Difference


def discover_sources(spec: dict[str, Any], hosts: Any = None, *, concurrency: int = 16) -> list[Discovered]:
    """Gather facts from every reachable source (bounded concurrency); unreachable ones carry the error.
    `hosts`: how sources are reached (the workspace's MigrationHosts; default: their `ssh:` blocks only)."""
    from mgc_iac.ssh import MigrationHosts

    return asyncio.run(_discover(spec, hosts or MigrationHosts(spec), concurrency))


async def _discover(spec: dict[str, Any], hosts: Any, concurrency: int) -> list[Discovered]:
    from mgc_iac.ssh import SSHConnector, compare_inventory, gather_facts

    limit = asyncio.Semaphore(concurrency)

    async def one(source: dict[str, Any]) -> Discovered:
        name = source["name"]
        try:
            access = await asyncio.to_thread(hosts.source, name)
        except MgcIacError as exc:
            return Discovered(name, error=str(exc))
        if access is None:
            return Discovered(name, error="no SSH access: add `ssh:` to the source (or a lab host of that name)")
        async with limit:
            connector = SSHConnector(access.settings, name=name)
            try:
                await connector.connect()
                facts = await gather_facts(connector)
            except MgcIacError as exc:
                return Discovered(name, error=str(exc))
            finally:
                await connector.close()
        return Discovered(name, facts, None, compare_inventory(source, facts))

    return list(await asyncio.gather(*(one(s) for s in spec.get("sources", []))))


def duplicate_macs(found: list[Discovered], elsewhere: dict[str, tuple[str, str]]) -> list[str]:
    """Discovered MACs shared by two servers (of this stack, or of another stack of the same backend)."""
    owners: dict[str, str] = {}
    out = []
    for item in found:
        for mac in item.facts.macs if item.facts is not None else ():
            mac = mac.lower()
            if mac in owners and owners[mac] != item.name:
                out.append(f"MAC {mac} is reported by both `{owners[mac]}` and `{item.name}`")
            elif mac in elsewhere:
                out.append(f"MAC {mac} of `{item.name}` is also source `{elsewhere[mac][1]}` of stack "
                           f"`{elsewhere[mac][0]}`")
            owners.setdefault(mac, item.name)
    return out


def sources_document(spec: dict[str, Any], found: list[Discovered]) -> dict[str, Any]:
    """The inventory rewritten with what the servers reported (a `sources:` YAML document)."""
    by_name = {d.name: d for d in found}
    sources = []
    for source in spec.get("sources", []):
        entry = {k: v for k, v in source.items() if v is not None and k != "facts"}
        facts = by_name.get(source["name"]).facts if source["name"] in by_name else None
        if facts is not None:
            if facts.macs:
                entry["mac"] = source["mac"] if source["mac"] in facts.macs else facts.macs[0]
            entry["cpus"] = facts.cpu_count or entry.get("cpus")
            entry["memory_mb"] = facts.memory_total_kb // 1024 or entry.get("memory_mb")
            if facts.os.id:
                entry["os_version"] = f"{facts.os.id}-{facts.os.version_id}".rstrip("-")
            entry["facts"] = {"rsync": facts.rsync_present, "available_memory_mb": int(facts.memory_available_mb),
                              "available_cpus": round(max(facts.cpu_count - facts.load1, 0.0), 2)}
        sources.append(entry)
    return {"sources": sources}


@dataclass(frozen=True)
class Discovery:
    """What `mgc-iac discover` found: each source, the MACs two servers share, the file written (if asked)."""

    found: list[Discovered]
    duplicates: list[str]
    written: Path | None = None

    @property
    def problems(self) -> int:
        return sum(1 for d in self.found if d.error or d.differences) + len(self.duplicates)


def discover(ws: Any, write_to: Path | None = None) -> Discovery:  # ws: mgc_iac.operations._workspace.Workspace
    """Run the read-only facts script on every source of the workspace's stack and compare with the inventory;
    `write_to`: write the inventory with the discovered facts as a sources YAML file (to review, then commit)."""
    import yaml

    found = discover_sources(ws.spec, ws.hosts)
    from mgc_iac.state import is_url

    recorded = ws.has_state or is_url(ws.state_path)  # an unreachable database is an error here, as in plan
    elsewhere = ws.store.macs_elsewhere(ws.name) if recorded else {}
    if write_to is not None:
        text = yaml.safe_dump(sources_document(ws.spec, found), sort_keys=False, allow_unicode=True)
        write_to.write_text("# Written by `mgc-iac discover`: the inventory with what the servers reported.\n" + text)
    return Discovery(found, duplicate_macs(found, elsewhere), write_to)
