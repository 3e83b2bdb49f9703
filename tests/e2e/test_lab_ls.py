"""`mgc-iac lab ls`: what a migration created, and what is left behind, read through the lab's API."""

from __future__ import annotations

import json

from .helpers import Demo


def _ls(demo: Demo, kind: str) -> list[dict]:
    out = demo.cli("lab", "ls", kind, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_lab_ls_shows_what_a_migration_created_and_what_a_crash_leaves(demo: Demo) -> None:
    assert demo.cli("apply", str(demo.stack), "--auto-approve").returncode == 3  # at BusinessValidation
    servers = {s["name"]: s for s in _ls(demo, "servers")}
    assert set(servers) == {"web-01-hw", "db-01-hw"}
    assert servers["db-01-hw"]["flavor"] == "s6.xlarge.2" and servers["db-01-hw"]["status"] == "ACTIVE"
    assert servers["web-01-hw"]["tags"] == {"app": "shop", "owner": "platform"}
    [key] = [k for k in _ls(demo, "keys") if k["alias"] == "shop-disk-key"]
    volumes = _ls(demo, "volumes")
    assert len(volumes) == 3  # web-01: one disk, db-01: two
    assert all(v["encrypted"] and v["kms_key_id"] == key["key_id"] for v in volumes)
    tasks = _ls(demo, "tasks")
    assert {t["target_server_id"] for t in tasks} == {s["id"] for s in servers.values()}
    assert {t["state"] for t in tasks} == {"SYNCING"}          # continuous synchronisation goes on until cutover
    sources = {s["name"]: s for s in _ls(demo, "sources")}
    assert set(sources) == {"web-01", "db-01"} and {t["source_id"] for t in tasks} == {s["id"] for s in
                                                                                       sources.values()}
    [topic] = _ls(demo, "topics")
    [message] = _ls(demo, "messages")
    assert message["topic_urn"] == topic["urn"]
    assert message["subject"] == "[mgc-iac] shop-wave-1: waiting for manual confirmation"
    assert "[mgc-iac] shop-wave-1: waiting for manual confirmation" in demo.cli("lab", "ls", "messages").stdout

    # what a crash can leave: a server deleted without its disks leaves them unattached, and ls shows them
    cloud = demo.cloud()
    cloud.ecs.delete_server(servers["db-01-hw"]["id"], delete_volumes=False)
    left = [v for v in _ls(demo, "volumes") if not v["server_ids"]]
    assert len(left) == 2 and {v["status"] for v in left} == {"available"}
    table = demo.cli("lab", "ls", "volumes")
    assert table.returncode == 0 and table.stdout.splitlines()[0].split() == [
        "id", "name", "size_gb", "status", "encrypted", "kms_key_id", "server_ids"]
    assert sum("available" in line for line in table.stdout.splitlines()) == 2
    assert table.stdout.rstrip().endswith("3 volumes")
    assert "db-01-hw" not in demo.cli("lab", "ls", "servers").stdout


def test_lab_ls_without_a_lab_says_how_to_start_one(demo: Demo) -> None:
    out = demo.cli("lab", "ls", "servers")
    assert out.returncode == 1 and "no lab runs from" in out.stderr and "mgc-iac lab up" in out.stderr
    assert "Traceback" not in out.stderr
