"""The demo, end to end, as a user runs it: `mgc-iac apply stacks/demo` on the lab with instant_transfers OFF.

Real parts only: the lab cloud process (signed SDK calls), the lab SSH hosts process (asyncssh + bubblewrap),
the agent daemons (SMS agent protocol), rsync run on each source pushing to its target with the agent's key,
sha256 verification on both hosts. Nothing is mocked.
"""

from __future__ import annotations

import json

from .helpers import Demo, same_tree

SERVERS = {"web-01": ("web-01-hw", ["srv/app", "data"], 1), "db-01": ("db-01-hw", ["data"], 2)}


def test_demo_migrates_real_files_through_both_gates(demo: Demo) -> None:
    stack = str(demo.stack)
    run = demo.cli("apply", stack, "--auto-approve")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "shop-wave-1/web-01/BusinessValidation: needs 1 approval(s)" in run.stdout
    # the bytes are on the targets before anyone approves the business validation
    for source, (target, dirs, _) in SERVERS.items():
        for d in dirs:
            assert same_tree(demo.root(source) / d, demo.root(target) / d) == [], (source, d)
    # the daemons outlive the apply that stopped at the gate
    assert len(list(demo.lab_dir.glob("agents/demo/*/daemon.pid"))) == 2

    assert demo.cli("approve", stack, "--all-waiting", "--by", "alice").returncode == 0
    run = demo.cli("apply", stack, "--auto-approve")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "shop-wave-1/web-01/Cutover: needs" in run.stdout
    assert demo.cli("approve", stack, "--all-waiting", "--by", "alice").returncode == 0
    run = demo.cli("apply", stack, "--auto-approve")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Apply complete." in run.stdout

    for source, (target, dirs, _) in SERVERS.items():
        for d in dirs:
            assert same_tree(demo.root(source) / d, demo.root(target) / d) == [], (source, d)
        # modes and the relative symlink travel too; the lab-only exclusions stay untouched on the target
        assert (demo.root(target) / dirs[0] / "current").is_symlink() or source == "db-01"
        assert (demo.root(target) / "usr").is_dir() and not any((demo.root(target) / "usr").iterdir())
        # SourceClear: the agent is gone from the source and its key from the target
        assert not (demo.root(source) / "opt" / "mgc-agent").exists()
        assert (demo.root(target) / "root/.ssh/authorized_keys").read_text().strip() == ""
    web = demo.root("web-01") / "srv/app/d000"
    modes = {p.name: p.stat().st_mode & 0o777 for p in web.iterdir()}
    assert modes == {p.name: p.stat().st_mode & 0o777 for p in (demo.root("web-01-hw") / "srv/app/d000").iterdir()}

    cloud = demo.cloud()
    key = cloud.kms.describe_key("shop-disk-key")
    for target, _, disks in SERVERS.values():
        [server] = cloud.ecs.find_servers(name=target)
        assert server.status == "ACTIVE"  # start_target_after_migration: true
        assert server.tags == {"app": "shop", "owner": "platform"}
        volumes = [cloud.evs.show_volume(v) for v in server.volume_ids]
        assert len(volumes) == disks and all(v.encrypted and v.kms_key_id == key.key_id for v in volumes)
    assert cloud.sms.list_tasks() == []  # MigrationTaskClear

    status = demo.status()
    assert {s["state"] for s in status.values()} == {"done"}
    for s in status.values():
        verification = s["verification"]
        assert verification["clean"] is True
        rows = {r["dir"]: r for r in verification["results"]}
        assert set(rows) == {"/srv", "/data"}  # the demo's include paths, hashed
        assert all(r["different"] == r["missing"] == r["extra"] == 0 for r in rows.values())
        assert rows["/data"]["total"] > 0
    # the demo's SMN notifications, as the lab received them: each checkpoint once, then the success
    subjects = [line.split("  ", 2)[2] for line in demo.cli("lab", "messages").stdout.splitlines()
                if not line.startswith(" ")]
    assert subjects == ["[mgc-iac] shop-wave-1: waiting for manual confirmation"] * 2 + [
        "[mgc-iac] shop-wave-1: migration succeeded"]
    # no daemon is left running: SourceClear stopped them (they ended on SMS's CLEAR command)
    assert list(demo.lab_dir.glob("agents/demo/*/daemon.pid")) == []
    assert {json.loads(p.read_text())["state"] for p in demo.lab_dir.glob("agents/demo/*/status.json")} == {"stopped"}
