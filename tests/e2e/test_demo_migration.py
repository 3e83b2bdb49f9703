"""The demo, end to end, as a user runs it: `mgc-iac apply stacks/demo` on the lab with instant_transfers OFF.

Real parts only: the lab cloud process (signed SDK calls), the lab SSH hosts process (asyncssh + bubblewrap),
the SMS-Agent installed by StartUpAgent from the lab's package and running ON each source as `linuxmain`
(SMS agent protocol), its rsync pushing to the target with the transfer key SMS gave it, sha256 verification
on both hosts. Nothing is mocked.
"""

from __future__ import annotations

from pathlib import Path

from .helpers import Demo, host_processes, lab_secrets, ps_on, same_tree

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
    # the agents run on the sources, not here, and outlive the apply that stopped at the gate; what a user
    # logged in to a source sees (`ps -ef | grep linuxmain`, MgC's check) names linuxmain and no key
    secrets = lab_secrets(demo)
    assert len(secrets) == 2
    for source in SERVERS:
        agents = [(pid, cmd) for pid, comm, cmd in host_processes(demo, source) if comm == "linuxmain"]
        assert len(agents) == 1 and agents[0][1].startswith("linuxmain"), agents
        seen = ps_on(demo, source)
        assert "linuxmain" in seen and not any(s in seen for s in secrets)
        environ = Path(f"/proc/{agents[0][0]}/environ").read_bytes().decode(errors="replace")
        assert not any(s in environ for s in secrets)
        assert not any(s in (demo.root(source) / "opt/SMS-Agent/agent/Logs/linuxmain.log").read_text() for s in secrets)

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
        # SourceClear: the agent is stopped and gone from the source, with its transfer key
        assert not (demo.root(source) / "opt" / "SMS-Agent").exists()
        assert [c for _, c, _ in host_processes(demo, source) if c == "linuxmain"] == []
        assert not (demo.root(target) / "opt" / "SMS-Agent").exists()  # the agent's own directory never travels
        # MigrationTaskClear: SMS deleted the task, and the transfer key it had authorized on the target with it
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
        # mgc-iac's own verification (hash, with the demo's exclude /data/tmp), over SSH on both hosts, and said so:
        # the agent was sent no invented CONSISTENCY_MODE nor `!` exclude (huawei-behaviour.md)
        assert (verification["engine"], verification["mode"]) == ("mgc-iac", "hash")
        assert verification["label"] == "mgc-iac's own verification (hash, over SSH)"
        rows = {r["dir"]: r for r in verification["results"]}
        assert set(rows) == {"/srv", "/data"}  # the demo's include paths, hashed
        assert all(r["different"] == r["missing"] == r["extra"] == 0 for r in rows.values())
        assert rows["/data"]["total"] > 0
    # the demo's SMN notifications, as the lab received them: each checkpoint once, then the success
    subjects = [line.split("  ", 2)[2] for line in demo.cli("lab", "messages").stdout.splitlines()
                if not line.startswith(" ")]
    assert subjects == ["[mgc-iac] shop-wave-1: waiting for manual confirmation"] * 2 + [
        "[mgc-iac] shop-wave-1: migration succeeded"]
    # the controller ran no agent of its own
    assert not (demo.lab_dir / "agents").exists()
