"""Prechecks and inventory comparison: pure functions over HostFacts, one passing and one failing case each."""

from __future__ import annotations

from typing import Any

import pytest

from mgc_iac.ssh import HostFacts, Requirements, compare_inventory, run_prechecks
from mgc_iac.ssh.facts import Disk, Identity, Interface, OsInfo

GOOD = HostFacts(
    hostname="web-01", identity=Identity(uid=0, user="root"), os=OsInfo(id="ubuntu", version_id="22.04"),
    cpu_count=2, load1=0.5, memory_total_kb=4096 * 1024, memory_available_kb=3000 * 1024,
    interfaces=(Interface(name="eth0", mac="fa:16:3e:00:00:01"),),
    disks=(Disk(filesystem="/dev/vda1", mount="/", size_kb=40 * 1024 * 1024, used_kb=1,
                available_kb=30 * 1024 * 1024),),
    free_kb={"/": 30 * 1024 * 1024, "/tmp": 30 * 1024 * 1024}, rsync_path="/usr/bin/rsync", sudo="root",
    package_manager="apt")


def check(facts: HostFacts, req: Requirements | None = None, name: str = "") -> Any:
    return next(r for r in run_prechecks(facts, req) if r.name == name)


def bad(**changes: Any) -> HostFacts:
    return GOOD.model_copy(update=changes)


def test_healthy_source_passes_everything() -> None:
    results = run_prechecks(GOOD, Requirements(migration_port_reachable=True, download_bandwidth_mbps=100))
    assert [(r.name, r.status) for r in results] == [
        ("os", "pass"), ("memory", "pass"), ("cpu", "pass"), ("free_space_root", "pass"), ("free_space_tmp", "pass"),
        ("rsync", "pass"), ("sudo", "pass"), ("migration_port", "pass"), ("bandwidth", "pass")]


def test_os_mismatch_fails() -> None:
    r = check(GOOD, Requirements(os="windows"), "os")
    assert r.status == "fail" and "os: linux" in r.remedy


def test_memory_below_520_mb_fails() -> None:
    assert check(bad(memory_available_kb=519 * 1024), name="memory").status == "fail"
    assert check(bad(memory_available_kb=520 * 1024), name="memory").status == "pass"


def test_cpu_is_judged_as_cpus_minus_load() -> None:
    busy = bad(cpu_count=2, load1=1.8)  # 0.2 left < 0.3
    r = check(busy, name="cpu")
    assert r.status == "fail" and "minus load average" in r.detail
    assert check(bad(cpu_count=2, load1=1.6), name="cpu").status == "pass"
    assert check(bad(cpu_count=2, load1=1.6, os=OsInfo(family="windows")), Requirements(os="windows"),
                 "cpu").status == "fail"


def test_low_free_space_warns_and_never_fails() -> None:
    tight = bad(free_kb={"/": 1024 * 1024, "/tmp": 100 * 1024})
    assert check(tight, name="free_space_root").status == "warn"
    assert check(tight, name="free_space_tmp").status == "warn"


@pytest.mark.parametrize(("pm", "proxy", "command"), [("apt", "/etc/apt/apt.conf", "apt-get install -y rsync"),
                                                      ("yum", "/etc/yum.conf", "yum install -y rsync")])
def test_missing_rsync_fails_with_package_manager_and_proxy_file(pm: str, proxy: str, command: str) -> None:
    r = check(bad(rsync_path=None, package_manager=pm), name="rsync")
    assert r.status == "fail" and command in r.remedy and proxy in r.remedy and "install_rsync" in r.remedy
    allowed = check(bad(rsync_path=None, package_manager=pm), Requirements(install_rsync=True), "rsync")
    assert allowed.status == "warn" and proxy in allowed.remedy


def test_non_root_without_passwordless_sudo_fails() -> None:
    user = Identity(uid=1000, user="deploy")
    r = check(bad(identity=user, sudo="password"), name="sudo")
    assert r.status == "fail" and "deploy ALL=(ALL) NOPASSWD: ALL" in r.remedy
    assert check(bad(identity=user, sudo="nopasswd"), name="sudo").status == "pass"


def test_unreachable_migration_port_fails() -> None:
    r = check(GOOD, Requirements(migration_port=10022, migration_port_reachable=False), "migration_port")
    assert r.status == "fail" and "10022" in r.remedy
    assert "migration_port" not in {x.name for x in run_prechecks(GOOD)}  # not measured: not judged


def test_bandwidth_thresholds_dedicated_30_shared_50() -> None:
    assert check(GOOD, Requirements(download_bandwidth_mbps=40), "bandwidth").status == "pass"
    assert check(GOOD, Requirements(download_bandwidth_mbps=40, bandwidth_shared=True), "bandwidth").status == "fail"
    assert check(GOOD, Requirements(download_bandwidth_mbps=20), "bandwidth").status == "fail"


def test_compare_inventory_lists_what_the_host_contradicts() -> None:
    declared = {"mac": "FA:16:3E:00:00:01", "memory_mb": 4096, "cpus": 2,
                "disks": [{"device": "/dev/vda", "size_gb": 40}]}
    assert compare_inventory(declared, GOOD) == []
    wrong = {"mac": "fa:16:3e:00:00:09", "memory_mb": 8192, "cpus": 4, "disks": [{"size_gb": 100}]}
    diffs = {d.field: (d.declared, d.discovered) for d in compare_inventory(wrong, GOOD)}
    assert diffs == {"mac": ("fa:16:3e:00:00:09", "fa:16:3e:00:00:01"), "memory_mb": (8192, 4096),
                     "cpus": (4, 2), "disks_size_gb": (100, 40)}
