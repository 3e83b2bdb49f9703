"""What a plan does to the monthly bill: the on-demand price of the targets it creates and deletes.

Data and pure functions only; the prices come from Huawei's BSS price inquiry (mgc_iac.operations._pricing asks it). A
pay-per-use ECS server is billed for its flavor, its system and data disks and its EIP bandwidth (Huawei's
"Pay-per-Use Billing" of ECS, support.huaweicloud.com/intl/en-us/price-ecs/ecs_billing_2003.html); an EIP bound to
an instance has no reservation price, only its bandwidth (productdesc-eip/eip_price_0001.html). A month is 730
hours (8,760 / 12).

A plan's cost is shown, never digested: prices change when Huawei changes them, and an approval binds to what
runs (the resource changes and steps), not to a quote (see planfile.UNDIGESTED).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mgc_iac.graph import EIP_BANDWIDTH_MBPS, MIGRATION_TASK, TARGET_SERVER

if TYPE_CHECKING:
    from mgc_iac.plan.model import Plan

HOURS_PER_MONTH = 730
PRICED_ATTRS = ("region", "flavor", "volume_type", "disks", "eip")  # a target update that changes the bill
EIP_BANDWIDTH_SPEC = "19_bgp"  # BSS resource_spec of dynamic-BGP bandwidth billed by bandwidth (an EIP of 5_bgp)
PARTS = ("flavor", "system_disk", "data_disk", "eip_bandwidth")


@dataclass(frozen=True, slots=True)
class PriceKey:
    """One product BSS prices: resource vm | volume | bandwidth, the region, its resource_spec and size."""

    resource: str
    region: str
    spec: str                    # "s6.large.2.linux", "SSD", "19_bgp"
    size: int | None = None      # GB of a disk, Mbit/s of a bandwidth


@dataclass(frozen=True, slots=True)
class CostPart:
    part: str                    # flavor | system_disk | data_disk | eip_bandwidth
    key: PriceKey
    monthly: Decimal | None = None   # None: not priced (unknown)


@dataclass(frozen=True, slots=True)
class ServerCost:
    """One target whose bill the plan changes: what stops being billed (before) and what starts (after)."""

    workflow: str
    server: str
    action: str                  # create | delete | replace | update
    before: tuple[CostPart, ...] = ()
    after: tuple[CostPart, ...] = ()

    @property
    def address(self) -> str:
        return f"{self.workflow}/{self.server}"

    @property
    def monthly_before(self) -> Decimal | None:
        return _sum(p.monthly for p in self.before)

    @property
    def monthly_after(self) -> Decimal | None:
        return _sum(p.monthly for p in self.after)

    @property
    def delta(self) -> Decimal | None:
        before, after = self.monthly_before, self.monthly_after
        return None if before is None or after is None else after - before

    @property
    def known(self) -> bool:
        return self.delta is not None


@dataclass(frozen=True, slots=True)
class CostSums:
    """Sums over servers: `added` starts being billed, `removed` stops, `delta` = added - removed (known only)."""

    name: str                    # the workflow, or "" for the total
    added: Decimal
    removed: Decimal
    unknown: int                 # servers left out of the sums: some price unknown

    @property
    def delta(self) -> Decimal:
        return self.added - self.removed


@dataclass(frozen=True)
class Cost:
    """The monthly on-demand price of what a plan creates and deletes.

    `status`: known (every part priced), partial (some servers unknown), unknown (nothing priced: `reason` says
    why, e.g. no credentials or BSS unreachable); `source` where the prices came from."""

    status: str
    currency: str | None
    source: str
    servers: tuple[ServerCost, ...] = ()
    reason: str | None = None
    hours_per_month: int = HOURS_PER_MONTH

    def by_workflow(self) -> list[tuple[CostSums, list[ServerCost]]]:
        """Each workflow's sums with its servers, in plan order (one pass: a plan may hold 10,000 servers)."""
        groups: dict[str, list[ServerCost]] = {}
        for s in self.servers:
            groups.setdefault(s.workflow, []).append(s)
        return [(_sums(name, servers), servers) for name, servers in groups.items()]

    def workflows(self) -> list[CostSums]:
        return [sums for sums, _ in self.by_workflow()]

    def total(self) -> CostSums:
        return _sums("", self.servers)


def server_costs(plan: Plan) -> list[ServerCost]:
    """The targets the plan creates, deletes, replaces or changes in a priced attribute, not yet priced."""
    from mgc_iac._gc import gc_paused

    with gc_paused():  # 10,000 servers of a big plan: no collection passes over the plan while they are built
        os_of = {(s.workflow, s.server): s.os for s in plan.server_changes}
        task_os: dict[tuple[str, str | None], str] | None = None
        alike: dict[tuple[Any, ...], tuple[CostPart, ...]] = {}  # servers of one shape share their parts
        out = []
        for change in plan.resource_changes:
            if change.kind != TARGET_SERVER or change.server is None:
                continue
            action = change.action.value
            if action == "update" and all((change.before or {}).get(a) == (change.after or {}).get(a)
                                          for a in PRICED_ATTRS):
                continue
            if action not in ("create", "delete", "replace", "update"):
                continue
            os = os_of.get((change.workflow, change.server))
            if os is None:  # a server that left the spec: its recorded migration task knows
                task_os = _task_os(plan) if task_os is None else task_os
                os = task_os.get((change.workflow, change.server), "linux")
            before = _shared(alike, change.before, os) if action != "create" else ()
            after = _shared(alike, change.after, os) if action != "delete" else ()
            out.append(ServerCost(change.workflow, change.server, action, before, after))
        return out


def _shared(alike: dict[tuple[Any, ...], tuple[CostPart, ...]], attrs: Mapping[str, Any] | None,
            os: str) -> tuple[CostPart, ...]:
    if not attrs:
        return ()
    shape = (attrs.get("region"), attrs.get("flavor"), os, attrs.get("volume_type"), bool(attrs.get("eip")),
             tuple(int(d.get("size_gb") or 0) for d in attrs.get("disks") or ()))
    parts = alike.get(shape)
    if parts is None:
        parts = alike[shape] = parts_of(attrs, os)
    return parts


def parts_of(attrs: Mapping[str, Any] | None, os: str) -> tuple[CostPart, ...]:
    """What a target of these attributes is billed for: flavor, system disk, data disks, EIP bandwidth."""
    if not attrs:
        return ()
    region = str(attrs.get("region") or "")
    flavor = f"{attrs.get('flavor')}.{'win' if os == 'windows' else 'linux'}"  # the spec BSS prices an ECS by
    parts = [CostPart("flavor", PriceKey("vm", region, flavor))]
    volume_type = str(attrs.get("volume_type") or "SSD")
    for n, disk in enumerate(attrs.get("disks") or []):
        parts.append(CostPart("system_disk" if n == 0 else "data_disk",
                              PriceKey("volume", region, volume_type, int(disk.get("size_gb") or 0))))
    if attrs.get("eip"):
        parts.append(CostPart("eip_bandwidth", PriceKey("bandwidth", region, EIP_BANDWIDTH_SPEC, EIP_BANDWIDTH_MBPS)))
    return tuple(parts)


def price_keys(servers: Iterable[ServerCost]) -> list[PriceKey]:
    """Every distinct product to price (a plan of 10,000 alike servers asks for a handful)."""
    shapes = {id(parts): parts for s in servers for parts in (s.before, s.after)}  # alike servers share parts
    return list(dict.fromkeys(p.key for parts in shapes.values() for p in parts))


def priced(servers: Iterable[ServerCost], amounts: Mapping[PriceKey, Decimal], *, currency: str | None,
           source: str, reason: str | None = None) -> Cost:
    """The cost of `servers` at `amounts` (the monthly price of each product; a missing one is unknown)."""
    from mgc_iac._gc import gc_paused

    with gc_paused():
        memo: dict[int, tuple[CostPart, ...]] = {}  # by identity: servers of one shape share one parts tuple
        done = tuple(ServerCost(s.workflow, s.server, s.action, _with(s.before, amounts, memo),
                                _with(s.after, amounts, memo)) for s in servers)
    needed = sum(len(s.before) + len(s.after) for s in done)
    known = sum(p.monthly is not None for s in done for p in (*s.before, *s.after))
    status = "known" if known == needed else ("unknown" if known == 0 else "partial")
    return Cost(status, currency if known else None, source, done, reason if status != "known" else None)


def unknown(servers: Iterable[ServerCost], source: str, reason: str) -> Cost:
    """Nothing priced: why (no credentials, BSS unreachable...); the plan goes on."""
    return priced(servers, {}, currency=None, source=source, reason=reason)


def _with(parts: tuple[CostPart, ...], amounts: Mapping[PriceKey, Decimal],
          memo: dict[int, tuple[CostPart, ...]]) -> tuple[CostPart, ...]:
    done = memo.get(id(parts))  # `parts` outlives the memo: held by the servers being priced
    if done is None:
        done = memo[id(parts)] = tuple(CostPart(p.part, p.key, amounts.get(p.key)) for p in parts)
    return done


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    total = Decimal(0)
    for v in values:
        if v is None:
            return None
        total += v
    return total


def _sums(name: str, servers: Iterable[ServerCost]) -> CostSums:
    added = removed = Decimal(0)
    unknown_count = 0
    for s in servers:
        before, after = s.monthly_before, s.monthly_after
        if before is None or after is None:
            unknown_count += 1
            continue
        added += after
        removed += before
    return CostSums(name, added, removed, unknown_count)


def _task_os(plan: Plan) -> dict[tuple[str, str | None], str]:
    """(workflow, server) -> os of every migration task in the plan (a deleted server has no steps left)."""
    return {(c.workflow, c.server): str((c.after or c.before or {}).get("os") or "linux")
            for c in plan.resource_changes if c.kind == MIGRATION_TASK}


# ---- the plan file's `cost` (amounts as exact decimal strings: no float rounding in a bill) -----------------


def cost_to_dict(cost: Cost) -> dict[str, Any]:
    return {
        "status": cost.status, "currency": cost.currency, "source": cost.source, "reason": cost.reason,
        "hours_per_month": cost.hours_per_month,
        "servers": [{"address": s.address, "workflow": s.workflow, "server": s.server, "action": s.action,
                     "monthly_before": _money(s.monthly_before), "monthly_after": _money(s.monthly_after),
                     "delta": _money(s.delta),
                     "parts": [_part(side, p) for side, parts in (("before", s.before), ("after", s.after))
                               for p in parts]}
                    for s in cost.servers],
        "workflows": [{"workflow": w.name, **_sums_dict(w)} for w in cost.workflows()],
        "total": _sums_dict(cost.total()),
    }


def cost_from_dict(body: Mapping[str, Any]) -> Cost:
    servers = []
    for s in body["servers"]:
        sides: dict[str, list[CostPart]] = {"before": [], "after": []}
        for p in s["parts"]:
            key = PriceKey(p["resource"], p["region"], p["spec"], p["size"])
            sides[p["side"]].append(CostPart(p["part"], key, None if p["monthly"] is None else Decimal(p["monthly"])))
        servers.append(ServerCost(s["workflow"], s["server"], s["action"], tuple(sides["before"]),
                                  tuple(sides["after"])))
    return Cost(body["status"], body["currency"], body["source"], tuple(servers), body["reason"],
                int(body["hours_per_month"]))


def _part(side: str, p: CostPart) -> dict[str, Any]:
    return {"side": side, "part": p.part, "resource": p.key.resource, "region": p.key.region, "spec": p.key.spec,
            "size": p.key.size, "monthly": _money(p.monthly)}


def _sums_dict(sums: CostSums) -> dict[str, Any]:
    return {"added": _money(sums.added), "removed": _money(sums.removed), "delta": _money(sums.delta),
            "unknown": sums.unknown}


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize() if value else Decimal(0), "f")
