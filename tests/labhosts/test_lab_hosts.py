"""Lab hosts behave like separate servers: own /, own facts, own keys, a real disk limit, public-key auth."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import asyncssh
import pytest
import yaml

from mgc_iac.errors import ConfigError, SSHConnectError
from mgc_iac.lab.hosts import FilesSpec, LabHosts, LabHostSpec, LabHostsProcess, load_hosts_spec
from mgc_iac.ssh import SSHConnector, SSHSettings, gather_facts

REPO = Path(__file__).resolve().parents[2]


def two_hosts(tmp_path: Path, **extra: object) -> LabHosts:
    return LabHosts([
        LabHostSpec(name="a", role="source", mac="fa:16:3e:00:00:0a", files=FilesSpec(count=12, seed=5)),
        LabHostSpec(name="b", role="target", mac="fa:16:3e:00:00:0b", disk_size_mb=2, rsync=False),
    ], tmp_path / "lab")


def run(coro_fn, lab: LabHosts):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        async with lab:
            return await coro_fn()
    try:
        return asyncio.run(main())
    finally:
        lab.destroy()


def test_each_host_has_its_own_root_and_absolute_paths_stay_inside(tmp_path: Path) -> None:
    lab = two_hosts(tmp_path)

    async def scenario() -> None:
        async with SSHConnector(lab.settings("a")) as a, SSHConnector(lab.settings("b")) as b:
            await a.run("echo from-a > /srv/marker; ln -s /etc/hostname /srv/abs-link")
            assert (await b.run("test -e /srv/marker")).exit_status == 1
            assert (await a.run("cat /srv/abs-link")).stdout == "a\n"  # an absolute link resolves in a's root
            assert (lab["a"].root / "srv/marker").read_text() == "from-a\n"
            assert (await b.run("uname -n; command -v rsync || echo none")).stdout.split() == ["b", "none"]
            sftp = await b.sftp()  # the sftp subsystem runs in the same sandbox
            await sftp.symlink("/etc/hostname", "/host-link")
            async with sftp.open("/host-link") as fh:
                assert await fh.read() == "b\n"

    run(scenario, lab)


def test_disk_size_is_a_real_limit_and_df_shows_it(tmp_path: Path) -> None:
    lab = two_hosts(tmp_path)

    async def scenario() -> None:
        assert lab["b"].quota_enforced
        async with SSHConnector(lab.settings("b")) as b:
            facts = await gather_facts(b)
            root = next(d for d in facts.disks if d.mount == "/")
            assert root.size_kb == 2048
            full = await b.run("head -c 3000000 /dev/zero > /fill")
            assert full.exit_status != 0 and "No space left on device" in full.stderr

    run(scenario, lab)


def test_only_authorized_keys_get_in(tmp_path: Path) -> None:
    lab = two_hosts(tmp_path)
    stranger = tmp_path / "stranger"
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(stranger))

    async def scenario() -> None:
        with pytest.raises(SSHConnectError, match="authentication failed"):
            await SSHConnector(lab.settings("a", key_file=str(stranger))).connect()
        async with SSHConnector(lab.settings("a")) as a:  # like sshd: ~root/.ssh/authorized_keys counts
            await a.run("cat >> /root/.ssh/authorized_keys", input=key.export_public_key())
        async with SSHConnector(lab.settings("a", key_file=str(stranger))) as a:
            assert (await a.run("true")).ok
        with pytest.raises(SSHConnectError):
            await SSHConnector(lab.settings("a", key_file=str(stranger), user="admin")).connect()

    run(scenario, lab)


def test_generated_files_are_deterministic_and_varied(tmp_path: Path) -> None:
    spec = FilesSpec(count=30, sizes="mixed", seed=11, paths=("/srv/app", "/data"))
    digests = []
    for n in (1, 2):
        lab = LabHosts([LabHostSpec(name="a", role="source", mac="fa:16:3e:00:00:0a", files=spec)],
                       tmp_path / f"lab{n}")

        async def scenario(lab: LabHosts = lab) -> str:
            async with SSHConnector(lab.settings("a")) as a:
                return (await a.run("cd / && find srv/app data -type f | sort | xargs sha256sum; "
                                    "find srv/app data -type f | wc -l; find /srv/app /data -type f -printf '%s\\n'"
                                    " | sort -un | wc -l")).stdout

        out = run(scenario, lab)
        lines = out.splitlines()
        assert lines[-2] == "30" and int(lines[-1]) > 20  # 30 files, nearly all of different sizes
        digests.append(hashlib.sha256(out.encode()).hexdigest())
    assert digests[0] == digests[1]


def test_seed_hosts_section_loads_and_demo_seed_is_valid(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump({"cloud": {"anything": 1}, "hosts": [
        {"name": "x", "role": "source", "mac": "fa:16:3e:00:00:01", "files": {"count": 5}}]}))
    (host,) = load_hosts_spec(seed)
    assert host.files is not None and host.files.count == 5 and host.rsync
    seed.write_text(yaml.safe_dump({"hosts": [{"name": "x", "role": "source", "mac": "fa:16:3e:00:00:01"}] * 2}))
    with pytest.raises(ConfigError, match="unique: x"):
        load_hosts_spec(seed)
    seed.write_text(yaml.safe_dump({"hosts": [{"name": "x", "role": "source", "mac": "FA-16"}]}))
    with pytest.raises(ConfigError, match="invalid hosts section"):
        load_hosts_spec(seed)
    demo = {h.name: h for h in load_hosts_spec(REPO / "stacks/demo/lab-seed.yaml")}
    assert (demo["web-01"].mac, demo["web-01"].ip, demo["db-01"].mac) == (
        "fa:16:3e:00:00:01", "192.168.1.10", "fa:16:3e:00:00:02")
    assert {n: h.role for n, h in demo.items()} == {"web-01": "source", "db-01": "source", "web-01-hw": "target",
                                                    "db-01-hw": "target"}


def test_background_process_serves_the_seed_and_publishes_ports(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump({"hosts": [
        {"name": "web-01", "role": "source", "mac": "fa:16:3e:00:00:01", "cpus": 3},
        {"name": "web-01-hw", "role": "target", "mac": "fa:16:3e:00:01:01"}]}))
    proc = LabHostsProcess(seed, tmp_path / "bg")
    inventory = proc.start()
    try:
        web = inventory["web-01"]

        async def scenario() -> str:
            settings = SSHSettings(host=str(web["host"]), port=int(str(web["port"])), key_file=str(web["key_file"]),
                                   known_hosts=str(web["known_hosts"]))
            async with SSHConnector(settings) as c:
                return (await c.run("uname -n; nproc")).stdout

        assert asyncio.run(scenario()).split() == ["web-01", "3"]
    finally:
        proc.stop()
    assert not (tmp_path / "bg" / "hosts.json").exists()
