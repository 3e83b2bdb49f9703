"""What keeps apply's cloud calls per server low: per-apply lookups, the source found by name first, SDK
signing in the calling thread. Behaviour only (the figures are bench/apply_scale.py's)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from mgc_iac.cloud import SourceFacts
from mgc_iac.cloud._base import _InlineExecutor
from mgc_iac.cloud.lookups import lookup, lookup_scope
from mgc_iac.providers.migration_task import find_source


def test_lookups_are_kept_only_within_a_scope() -> None:
    calls: list[str] = []

    def fetch(name: str) -> str:
        calls.append(name)
        return f"id-{name}"

    config = {"provider": "lab", "url": "http://127.0.0.1:1"}
    assert lookup(config, "vpc", "a", lambda: fetch("a")) == "id-a"
    assert lookup(config, "vpc", "a", lambda: fetch("a")) == "id-a"
    assert calls == ["a", "a"]  # no scope (e.g. under Pulumi's provider host): always live

    calls.clear()
    cache: dict = {}
    with lookup_scope(cache):
        for _ in range(3):
            assert lookup(config, "vpc", "a", lambda: fetch("a")) == "id-a"
        assert lookup(config, "subnet", "a", lambda: fetch("a")) == "id-a"  # another kind: its own entry
        assert lookup({**config, "url": "http://127.0.0.1:2"}, "vpc", "a", lambda: fetch("a")) == "id-a"
    assert calls == ["a", "a", "a"]
    with lookup_scope({}):  # a new apply: looked up again
        lookup(config, "vpc", "a", lambda: fetch("a"))
    assert len(calls) == 4


def test_a_failed_lookup_is_not_kept() -> None:
    def missing() -> str:
        raise LookupError("no such vpc")

    with lookup_scope({}):
        with pytest.raises(LookupError):
            lookup({}, "vpc", "x", missing)
        assert lookup({}, "vpc", "x", lambda: "found") == "found"


def _facts(name: str, mac: str) -> SourceFacts:
    return SourceFacts(name=name, ip="192.168.1.20", os_type="LINUX", macs=(mac,), cpu_quantity=2,
                       memory_bytes=4 << 30, disks=({"name": "/dev/vda", "size": 40 << 30, "used_size": 1 << 30,
                                                     "device_use": "BOOT"},),
                       os_version="debian-12", agent_version="test")


def test_find_source_asks_by_name_first_and_the_mac_decides(cloud) -> None:
    wanted = cloud.sms.register_source(_facts("host-a", "fa:16:3e:aa:00:01"))
    cloud.sms.register_source(_facts("web-01", "fa:16:3e:aa:00:02"))  # same name as the spec, another MAC
    assert find_source(cloud, "FA:16:3E:AA:00:01", "host-a").id == wanted
    assert find_source(cloud, "fa:16:3e:aa:00:01", "web-01").id == wanted  # named otherwise: full scan
    assert find_source(cloud, "fa:16:3e:aa:00:01").id == wanted


def test_the_sdk_signs_in_the_calling_thread(cloud) -> None:
    http = cloud.sms.sdk.get_http_client()
    assert isinstance(http.executor, _InlineExecutor)
    assert not isinstance(http.executor, ThreadPoolExecutor)
    future = _InlineExecutor().submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result()
    assert cloud.sms.list_sources() == []  # calls still work
