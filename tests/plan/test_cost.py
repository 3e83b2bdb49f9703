"""The plan's cost: the monthly on-demand price of what it creates and deletes, per server, per workflow and in
total, from the lab seed offline, from BSS through the SDK, or "price unknown" when prices cannot be had.

Expected figures are worked out here from the demo seed's price list (stacks/demo/lab-seed.yaml, CNY per hour),
730 hours a month, never read back from the code under test.
"""

from __future__ import annotations

import json
import socket
import time
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
import yaml

from mgc_iac.operations._planning import plan_stack
from mgc_iac.operations._pricing import price_plan
from mgc_iac.operations._schema import SCHEMA_DIR
from mgc_iac.plan.cost import parts_of
from mgc_iac.plan.planfile import plan_to_dict, read_plan, write_plan
from mgc_iac.render import render_plan

H = Decimal(730)
S6_LARGE, S6_XLARGE = Decimal("0.46") * H, Decimal("0.92") * H
SSD_GB = Decimal("0.00139") * H
EIP_100 = (5 * Decimal("0.063") + 95 * Decimal("0.25")) * H      # tiered: 5 Mbit/s at 0.063, 95 at 0.25
WEB = S6_LARGE + 40 * SSD_GB + EIP_100                            # s6.large.2, 40 GB system disk, EIP
DB = S6_XLARGE + 40 * SSD_GB + 200 * SSD_GB + EIP_100             # s6.xlarge.2, 40 + 200 GB, EIP


@pytest.fixture(autouse=True)
def no_lab_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MGC_IAC_LAB_DIR", str(tmp_path / "no-lab"))


def _record_applied(stack: Path) -> None:
    """State as if the stack had been applied as written (every resource recorded)."""
    from mgc_iac.graph import build_graph
    from mgc_iac.operations._planning import check
    from mgc_iac.state import ResourceRecord, open_store

    checked = check(stack)
    graph = build_graph(checked.loaded.stack)
    store = open_store(checked.state_path)
    with store.transaction(graph.stack) as txn:
        for res in graph.resources.values():
            txn.put_resource(ResourceRecord(res.address, res.kind, res.workflow, res.server, res.attrs, {"id": "x"}))
    store.close()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_plan_prices_each_created_server_its_workflow_and_the_total(demo_stack: Path) -> None:
    plan = price_plan(plan_stack(demo_stack).plan, demo_stack)
    cost = plan.cost
    assert cost is not None and cost.status == "known" and cost.currency == "CNY"
    assert "lab-seed.yaml" in cost.source
    servers = {s.server: s for s in cost.servers}
    assert set(servers) == {"web-01", "db-01"} and {s.action for s in cost.servers} == {"create"}
    web = {p.part: p for p in servers["web-01"].after}
    assert web["flavor"].key.spec == "s6.large.2.linux" and web["flavor"].monthly == S6_LARGE
    assert web["system_disk"].key.size == 40 and web["system_disk"].monthly == 40 * SSD_GB
    assert web["eip_bandwidth"].key.spec == "19_bgp" and web["eip_bandwidth"].monthly == EIP_100
    assert servers["web-01"].delta == WEB and servers["db-01"].delta == DB
    [wave] = cost.workflows()
    assert (wave.name, wave.added, wave.removed, wave.unknown) == ("shop-wave-1", WEB + DB, 0, 0)
    assert cost.total().delta == WEB + DB

    text = render_plan(plan, "text")
    assert "Monthly cost (on-demand, 730 h a month, CNY" in text
    assert f"Total: +{WEB + DB:,.2f} CNY a month" in text
    assert f"+ web-01: +{WEB:,.2f} (s6.large.2.linux {S6_LARGE:,.2f}, system disk 40 GB SSD" in text
    markdown = render_plan(plan, "markdown")
    assert "### Monthly cost" in markdown and f"**+{WEB + DB:,.2f} CNY a month**" in markdown
    assert "| `shop-wave-1/db-01` | create |" in markdown and f"| +{DB:,.2f} |" in markdown
    body = json.loads(render_plan(plan, "json"))["cost"]
    assert Decimal(body["total"]["delta"]) == WEB + DB and body["currency"] == "CNY"
    assert [Decimal(w["added"]) for w in body["workflows"]] == [WEB + DB]


def test_the_cost_is_outside_the_digest_and_travels_in_the_plan_file(demo_stack: Path, tmp_path: Path) -> None:
    plain = plan_stack(demo_stack).plan
    priced = price_plan(plain, demo_stack)
    assert plan_to_dict(priced)["digest"] == plan_to_dict(plain)["digest"]  # prices change; approvals bind to runs
    digest = write_plan(priced, tmp_path / "plan.json")
    loaded, loaded_digest = read_plan(tmp_path / "plan.json")
    assert loaded_digest == digest and loaded.cost == priced.cost
    body = json.loads((tmp_path / "plan.json").read_text())
    validator = jsonschema.Draft202012Validator(json.loads((SCHEMA_DIR / "plan.schema.json").read_text()))
    validator.validate(body)
    body["cost"]["total"]["delta"] = 36426.42  # amounts are exact decimal strings, never floats
    assert not validator.is_valid(body)
    assert "Monthly cost" in render_plan(loaded, "text")
    assert "Monthly cost" not in render_plan(plain, "text")  # apply's own plan asks for no prices


def test_a_resize_is_priced_before_and_after_a_removed_server_is_a_saving_tags_are_free(demo_stack: Path) -> None:
    _record_applied(demo_stack)
    _edit(demo_stack / "workflows.yaml", "web-01: {target_name: web-01-hw}",
          "web-01: {target_name: web-01-hw, flavor: s6.xlarge.2}")
    _edit(demo_stack / "workflows.yaml", "tags: {owner: platform, app: shop}", "tags: {owner: payments, app: shop}")
    sources = yaml.safe_load((demo_stack / "sources.yaml").read_text())
    sources["sources"] = [s for s in sources["sources"] if s["name"] != "db-01"]
    sources["migration_plans"][0]["servers"] = ["web-01"]
    (demo_stack / "sources.yaml").write_text(yaml.safe_dump(sources))
    _edit(demo_stack / "workflows.yaml", "      db-01: {target_name: db-01-hw, flavor: s6.xlarge.2}\n", "")
    plan = price_plan(plan_stack(demo_stack).plan, demo_stack)
    servers = {s.server: s for s in plan.cost.servers}
    web, db = servers["web-01"], servers["db-01"]
    assert web.action == "update" and web.monthly_before == WEB and web.delta == S6_XLARGE - S6_LARGE
    assert db.action == "delete" and db.monthly_before == DB and db.delta == -DB and db.after == ()
    total = plan.cost.total()
    resized = WEB - S6_LARGE + S6_XLARGE
    assert (total.added, total.removed, total.delta) == (resized, WEB + DB, resized - WEB - DB)
    text = render_plan(plan, "text")
    assert f"~ web-01: {WEB:,.2f} -> {resized:,.2f} (+{S6_XLARGE - S6_LARGE:,.2f})" in text
    assert f"- db-01: -{DB:,.2f} (s6.xlarge.2.linux" in text

    _edit(demo_stack / "workflows.yaml", "web-01: {target_name: web-01-hw, flavor: s6.xlarge.2}",
          "web-01: {target_name: web-01-hw}")
    tags_only = price_plan(plan_stack(demo_stack).plan, demo_stack)
    assert [s.server for s in tags_only.cost.servers] == ["db-01"]  # a tag costs nothing: not listed


def test_a_windows_target_is_priced_with_its_licence() -> None:
    attrs = {"region": "cn-north-4", "flavor": "s6.large.2", "volume_type": "GPSSD", "eip": False,
             "disks": [{"device": "C:", "size_gb": 80}]}
    parts = parts_of(attrs, "windows")
    assert [(p.part, p.key.spec, p.key.size) for p in parts] == [("flavor", "s6.large.2.win", None),
                                                                  ("system_disk", "GPSSD", 80)]


def test_a_product_the_price_list_lacks_leaves_that_server_unknown(demo_stack: Path) -> None:
    _edit(demo_stack / "lab-seed.yaml", "      s6.xlarge.2.linux: 0.92\n", "")
    plan = price_plan(plan_stack(demo_stack).plan, demo_stack)
    assert plan.cost.status == "partial"
    assert "s6.xlarge.2.linux" in plan.cost.reason and "CBC.6006" in plan.cost.reason
    total = plan.cost.total()
    assert (total.delta, total.unknown) == (WEB, 1)
    text = render_plan(plan, "text")
    assert "+ db-01: price unknown" in text and "1 server not counted: price unknown" in text


def test_without_a_price_list_or_credentials_the_plan_says_price_unknown(demo_stack: Path, base, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (demo_stack / "lab-seed.yaml").unlink()
    plan = price_plan(plan_stack(demo_stack).plan, demo_stack)
    assert plan.cost.status == "unknown" and "no lab is running" in plan.cost.reason
    assert "price unknown: no lab is running" in render_plan(plan, "text")

    for key in ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_PROJECT_ID"):
        monkeypatch.delenv(key, raising=False)
    stack = _huaweicloud_stack(base, tmp_path)
    plan = price_plan(plan_stack(stack).plan, stack)
    assert plan.cost.status == "unknown" and "HUAWEICLOUD_SDK_AK" in plan.cost.reason
    assert "Price unknown" in render_plan(plan, "markdown")


def _huaweicloud_stack(base: dict, tmp_path: Path) -> Path:
    base["cloud"] = {"provider": "huaweicloud", "region": "cn-north-4"}
    base["approvals"] = {"allowed_signers": "allowed_signers"}
    for source in base["sources"]:  # no `ssh:` here: a huaweicloud source mgc-iac cannot log in to is preinstalled
        source["agent"] = "preinstalled"
    stack = tmp_path / "hw"
    stack.mkdir()
    (stack / "stack.yaml").write_text(yaml.safe_dump(base))
    (stack / "allowed_signers").write_text("")
    return stack


def test_bss_that_never_answers_costs_the_plan_its_timeout_only(base, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; nothing is ever read or answered
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    try:
        monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "AKNOTREAL0000000000")
        monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "not-a-secret")
        monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "0" * 32)
        monkeypatch.setenv("HUAWEICLOUD_SDK_DOMAIN_ID", "1" * 32)
        stack = _huaweicloud_stack(base, tmp_path)
        plan = plan_stack(stack).plan
        monkeypatch.setenv("MGC_IAC_ENDPOINT_BSS", f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        hung = price_plan(plan, stack, timeout=1.5)
        assert time.monotonic() - started < 3
        assert hung.cost.status == "unknown" and "did not answer within 1.5 s" in hung.cost.reason
        monkeypatch.setenv("MGC_IAC_ENDPOINT_BSS", f"http://127.0.0.1:{closed.getsockname()[1]}")
        refused = price_plan(plan, stack, timeout=5)
        assert refused.cost.status == "unknown" and refused.cost.reason.startswith("BSS did not answer")
        assert plan_to_dict(refused)["digest"] == plan_to_dict(plan)["digest"]
    finally:
        silent.close()
        closed.close()


def test_prices_come_from_bss_through_the_sdk(demo_stack: Path, base, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from mgc_iac.cloud import Cloud
    from mgc_iac.lab.testing import running_lab

    with running_lab(tmp_path / "lab") as lab:
        plan = price_plan(plan_stack(demo_stack).plan, demo_stack, cloud=Cloud(lab.settings))
        assert plan.cost.status == "known" and lab.endpoint.url in plan.cost.source
        assert plan.cost.total().delta == WEB + DB
        # a huaweicloud stack asks BSS with the credentials of the environment (here: the lab's account)
        for key, value in lab.endpoint.env().items():
            monkeypatch.setenv(key, value)
        stack = _huaweicloud_stack(base, tmp_path)
        hw = price_plan(plan_stack(stack).plan, stack)
        assert hw.cost.status == "known" and hw.cost.currency == "CNY"
        assert {s.server: s.delta for s in hw.cost.servers} == {"web-01": WEB, "db-01": DB}
