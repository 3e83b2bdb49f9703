"""The SSH connector against lab hosts: commands, files, host keys, auth errors, the connection bound, jumps."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from pathlib import Path

import asyncssh
import pytest

from mgc_iac.errors import ConfigError, SSHCommandError, SSHConnectError
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.ssh import ConnectionPool, JumpHost, SSHConnector, SSHSettings, port_reachable


def test_settings_hold_no_secret_and_are_checked() -> None:
    s = SSHSettings(host="10.0.0.5", password_env="MGC_SOURCE_PASSWORD")
    assert "MGC_SOURCE_PASSWORD" in repr(s)
    with pytest.raises(ConfigError, match="give key_file, password_env or use_agent"):
        SSHSettings(host="10.0.0.5")
    with pytest.raises(ConfigError, match="strict or accept-new"):
        SSHSettings(host="10.0.0.5", key_file="k", host_key_policy="trust-all")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="MGC_SOURCE_PASSWORD is not set"):
        s.password()


def test_commands_files_and_timeouts(lab: LabHosts, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with SSHConnector(lab.settings("web-01"), name="web-01") as c:
            r = await c.run("echo out; echo err >&2; exit 3")
            assert (r.exit_status, r.stdout, r.stderr) == (3, "out\n", "err\n")
            with pytest.raises(SSHCommandError, match="exited 3: err"):
                r.check()
            assert (await c.run("wc -c", input=b"x" * 3_000_000)).stdout.strip() == "3000000"
            with pytest.raises(SSHCommandError, match="timed out after 0.3s"):
                await c.run("sleep 5", timeout=0.3)
            local = tmp_path / "up.bin"
            local.write_bytes(b"payload" * 1000)
            await c.put_file(str(local), "/tmp/up.bin")
            remote = (await c.run("sha256sum < /tmp/up.bin")).stdout.split()[0]
            assert remote == hashlib.sha256(local.read_bytes()).hexdigest()
            await c.get_file("/etc/hostname", str(tmp_path / "hostname"))
            assert (tmp_path / "hostname").read_text() == "web-01\n"

    lab.loop.run_until_complete(scenario())


def test_unknown_host_key_strict_refuses_and_accept_new_records(lab: LabHosts, tmp_path: Path) -> None:
    kh = tmp_path / "kh"

    async def scenario() -> None:
        with pytest.raises(SSHConnectError, match="no known_hosts file .* ssh-keyscan -p"):
            await SSHConnector(lab.settings("web-01", known_hosts=str(kh))).connect()
        kh.write_text("")
        with pytest.raises(SSHConnectError, match="not trusted"):
            await SSHConnector(lab.settings("web-01", known_hosts=str(kh))).connect()
        async with SSHConnector(lab.settings("web-01", known_hosts=str(kh), host_key_policy="accept-new")) as c:
            assert (await c.run("true")).ok
        assert kh.read_text() == f"[127.0.0.1]:{lab['web-01'].port} {lab['web-01'].host_key_public}\n"
        async with SSHConnector(lab.settings("web-01", known_hosts=str(kh))) as c:  # now trusted, strictly
            assert (await c.run("true")).ok

    lab.loop.run_until_complete(scenario())


def test_changed_host_key_says_how_to_remove_the_old_one(lab: LabHosts, tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    kh.write_text(f"[127.0.0.1]:{lab['web-01'].port} {other}\n")

    async def scenario() -> None:
        for policy in ("strict", "accept-new"):  # accept-new never accepts a CHANGED key
            with pytest.raises(SSHConnectError) as info:
                await SSHConnector(lab.settings("web-01", known_hosts=str(kh), host_key_policy=policy)).connect()
            assert f"ssh-keygen -f {kh} -R '[127.0.0.1]:{lab['web-01'].port}'" in str(info.value)

    lab.loop.run_until_complete(scenario())


def test_auth_failure_names_user_and_key_and_never_the_password(lab: LabHosts, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    monkeypatch.setenv("LAB_PW", "s3cret-Value")

    async def scenario() -> None:
        with pytest.raises(SSHConnectError) as info:
            await SSHConnector(lab.settings("web-01", key_file=str(stranger), password_env="LAB_PW")).connect()
        text = str(info.value)
        assert "authentication failed for user 'root'" in text and str(stranger) in text and "$LAB_PW" in text
        assert "s3cret-Value" not in text and "s3cret-Value" not in repr(info.value)

    lab.loop.run_until_complete(scenario())


def test_unreachable_port_names_host_and_port(lab: LabHosts) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def scenario() -> None:
        with pytest.raises(SSHConnectError, match=f"refused by root@127.0.0.1 port {port}"):
            await SSHConnector(lab.settings("web-01", port=port)).connect()

    lab.loop.run_until_complete(scenario())


def test_connect_timeout_names_host_and_port(lab: LabHosts) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts TCP but never speaks SSH: the handshake times out
    port = listener.getsockname()[1]

    async def scenario() -> None:
        with pytest.raises(SSHConnectError, match=f"timed out after 0.5s connecting to root@127.0.0.1 port {port}"):
            await SSHConnector(lab.settings("web-01", port=port, connect_timeout=0.5)).connect()

    try:
        lab.loop.run_until_complete(scenario())
    finally:
        listener.close()


def test_pool_bounds_concurrent_connections(lab: LabHosts) -> None:
    pool = ConnectionPool(max_connections=2)

    async def one(i: int) -> str:
        async with pool.connection(lab.settings("web-01" if i % 2 else "db-01")) as c:
            return (await c.run("sleep 0.1; uname -n")).stdout.strip()

    async def scenario() -> list[str]:
        return list(await asyncio.gather(*(one(i) for i in range(6))))

    names = lab.loop.run_until_complete(scenario())
    assert sorted(names) == ["db-01"] * 3 + ["web-01"] * 3
    assert pool.peak == 2 and pool.open_count == 0


def test_jump_host_reaches_a_host_through_another(lab: LabHosts) -> None:
    jump = JumpHost(host="127.0.0.1", port=lab["web-01"].port, key_file=str(lab.client_key_path))

    async def scenario() -> str:
        async with SSHConnector(lab.settings("db-01", jump=jump)) as c:
            return (await c.run("uname -n")).stdout.strip()

    assert lab.loop.run_until_complete(scenario()) == "db-01"


def test_port_probe_feeds_the_migration_port_precheck(lab: LabHosts) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    async def scenario() -> tuple[bool, bool]:
        return (await port_reachable("127.0.0.1", lab["web-01"].port, timeout=2),
                await port_reachable("127.0.0.1", closed, timeout=2))

    assert lab.loop.run_until_complete(scenario()) == (True, False)
