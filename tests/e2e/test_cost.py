"""Cost in the plan, end to end on the lab: the real CLI prices the demo through the lab's BSS (the official SDK's
BssClient, signed, every answer checked against the SDK's response model), the priced plan file is applied (the
cost is outside the digest), a resize is priced before and after, and a BSS that fails leaves the plan going on
with "price unknown". Expected figures come from the demo seed's price list (CNY per hour) x 730 hours."""

from __future__ import annotations

import json
from decimal import Decimal

from mgc_iac.cloud import Fault, LabControl

from .helpers import Demo

H = Decimal(730)
WEB = (Decimal("0.46") + 40 * Decimal("0.00139") + 5 * Decimal("0.063") + 95 * Decimal("0.25")) * H
DB = (Decimal("0.92") + 240 * Decimal("0.00139") + 5 * Decimal("0.063") + 95 * Decimal("0.25")) * H


def test_the_plan_prices_the_migration_through_bss_on_the_lab(demo: Demo) -> None:
    stack = str(demo.stack)
    up = demo.cli("lab", "up", "--seed", str(demo.stack / "lab-seed.yaml"))
    assert up.returncode == 0, up.stderr
    plan = demo.cli("plan", stack, "--out", "plan.json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    lab_url = demo.cloud().settings.endpoint("bss")
    assert f"CNY; prices: BSS price inquiry at {lab_url}):" in plan.stdout
    assert f"+ web-01: +{WEB:,.2f} (s6.large.2.linux 335.80, system disk 40 GB SSD 40.59, EIP 100 Mbit/s 19_bgp " \
           "17,567.45)" in plan.stdout
    assert f"Total: +{WEB + DB:,.2f} CNY a month" in plan.stdout
    saved = json.loads((demo.stack.parent / "plan.json").read_text())
    assert saved["cost"]["status"] == "known" and Decimal(saved["cost"]["total"]["delta"]) == WEB + DB
    comment = demo.cli("pr-comment", "plan.json")
    assert comment.returncode == 0 and f"**+{WEB + DB:,.2f} CNY a month**" in comment.stdout
    assert "| `shop-wave-1/web-01` | create |" in comment.stdout
    markdown = demo.cli("show", "plan.json", "--format", "markdown")
    assert "### Monthly cost" in markdown.stdout

    # the priced plan is applied: apply re-plans without asking for prices, and the digests agree
    run = demo.cli("apply", "plan.json", "--stack-dir", stack, timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr

    # a resize of web-01 (allowed at BusinessValidation) is priced before and after, through BSS again
    workflows = demo.stack / "workflows.yaml"
    workflows.write_text(workflows.read_text().replace("web-01: {target_name: web-01-hw}",
                                                        "web-01: {target_name: web-01-hw, flavor: s6.xlarge.2}"))
    resize = demo.cli("plan", stack, "--format", "json")
    assert resize.returncode == 0, resize.stderr
    cost = json.loads(resize.stdout)["cost"]
    [server] = cost["servers"]
    assert (server["address"], server["action"]) == ("shop-wave-1/web-01", "update")
    assert Decimal(server["monthly_before"]) == WEB and Decimal(server["delta"]) == Decimal("0.46") * H
    assert Decimal(cost["total"]["delta"]) == Decimal("0.46") * H

    # BSS failing (every inquiry answered 500) never fails the plan: it says why and goes on, exit 0
    control = LabControl(demo.cloud().settings)
    control.set_faults([Fault(service="bss", operation="list_on_demand_resource_ratings", error_rate=1.0)])
    failing = demo.cli("plan", stack)
    assert failing.returncode == 0, failing.stderr
    assert "price unknown: BSS did not answer: still failing after retries" in failing.stdout
    assert "Plan: 0 to create, 1 to update" in failing.stdout
    control.clear_faults()
    assert "Monthly cost" not in demo.cli("plan", stack, "--no-cost").stdout
