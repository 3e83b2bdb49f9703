"""Wording of a plan's cost for the templates: amounts with their currency, what each server is billed for."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from mgc_iac.plan import CostPart, CostSums, ServerCost

MARKDOWN_SERVERS = 50  # per-server cost rows in a PR comment; `show --format json` lists every one
_CENT = Decimal("0.01")
SYMBOLS = {"create": "+", "delete": "-", "replace": "-/+", "update": "~"}  # as the resource actions
_PART_LABEL = {"flavor": "", "system_disk": "system disk ", "data_disk": "data disk ", "eip_bandwidth": "EIP "}


def money(value: Decimal | None, sign: bool = False) -> str:
    """12345.678 -> '12,345.68' ('+12,345.68' with sign); None -> 'price unknown'."""
    if value is None:
        return "price unknown"
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    text = f"{abs(rounded):,.2f}"
    if rounded < 0:
        return f"-{text}"
    return f"+{text}" if sign else text


def part_label(part: CostPart) -> str:
    """'s6.large.2.linux', 'system disk 40 GB SSD', 'EIP 100 Mbit/s 19_bgp'."""
    key = part.key
    if part.part == "flavor":
        return key.spec
    if part.part == "eip_bandwidth":
        return f"EIP {key.size} Mbit/s {key.spec}"
    return f"{_PART_LABEL[part.part]}{key.size} GB {key.spec}"


def billed_for(server: ServerCost) -> str:
    """What the server is billed for, each with its monthly price: the new parts (the old ones for a delete)."""
    return _parts_text(server.before if server.action == "delete" else server.after)


@lru_cache(maxsize=4096)
def _parts_text(parts: tuple[CostPart, ...]) -> str:  # alike servers share their parts: worded once
    return ", ".join(f"{part_label(p)} {money(p.monthly)}" for p in parts)


def server_change(server: ServerCost) -> str:
    """'+17,943.83' (create), '-376.39' (delete), '376.39 -> 711.07 (+334.68)' (update, replace)."""
    if server.action == "create":
        return money(server.monthly_after, sign=True)
    if server.action == "delete":
        return money(-server.monthly_before if server.monthly_before is not None else None)
    return f"{money(server.monthly_before)} -> {money(server.monthly_after)} ({money(server.delta, sign=True)})"


def sums_line(sums: CostSums, currency: str | None) -> str:
    """'+36,584.24 CNY a month (36,584.24 created, 0.00 deleted)', with the servers left out when unknown."""
    unit = f" {currency}" if currency else ""
    text = f"{money(sums.delta, sign=True)}{unit} a month ({money(sums.added)} added, {money(sums.removed)} removed)"
    if sums.unknown:
        text += f"; {sums.unknown} server{'s' if sums.unknown != 1 else ''} not counted: price unknown"
    return text

