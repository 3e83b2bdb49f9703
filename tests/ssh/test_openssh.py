"""The client proven against the server real sources run: OpenSSH's sshd, started here on a loopback port.

The sshd host is this machine itself (the source); the target is a lab host, so files land in its own root.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from mgc_iac.lab.agent import ReplicationJob, TargetEndpoint, replicate, verify_paths
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.lab.hosts.testing import transfer_key
from mgc_iac.ssh import SSHConnector, SSHSettings, gather_facts

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SSHSettings]:
    if not SSHD.exists():  # pragma: no cover - CI installs openssh-server (.ci/run)
        pytest.skip("openssh-server is not installed (/usr/sbin/sshd)")
    d = tmp_path / "sshd"
    d.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")], check=True)
    client = asyncssh.generate_private_key("ssh-ed25519")
    client.write_private_key(str(d / "client_key"))
    (d / "authorized_keys").write_bytes(client.export_public_key())
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\nPidFile {d / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\nLogLevel ERROR\n")
    key_type, key_body = (d / "host_key.pub").read_text().split()[:2]
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {key_type} {key_body}\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(d / "sshd_config")], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.05)
        yield SSHSettings(host="127.0.0.1", port=port, user="root", key_file=str(d / "client_key"),
                          known_hosts=str(d / "known_hosts"))
    finally:
        proc.terminate()
        proc.wait(10)


def test_facts_and_replication_against_openssh(sshd: SSHSettings, lab: LabHosts, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for i in range(12):
        (data / "sub" / f"f{i}.bin").write_bytes(bytes([i]) * (i * 7000 + 1))
    (data / "link").symlink_to("sub/f1.bin")
    job = ReplicationJob(paths=(str(data),))

    async def scenario() -> None:
        async with SSHConnector(sshd, name="sshd-source") as src, SSHConnector(lab.settings("web-01")) as tgt:
            assert "OpenSSH" in src.connection.get_extra_info("server_version")
            facts = await gather_facts(src)
            assert facts.hostname == socket.gethostname() and facts.rsync_present and facts.is_root
            agent = await transfer_key(src, tgt, TargetEndpoint("127.0.0.1", lab["web-01"].port,
                                                               tgt.server_host_key()),
                                      folder=str(tmp_path / "agent"))
            full = await replicate(src, tgt, job, agent=agent)
            assert full.method == "rsync" and full.files_transferred == 12
            assert (await verify_paths(src, tgt, job.paths, mode="hash")).consistent
            (data / "sub" / "f3.bin").write_bytes(b"changed")
            sync = await replicate(src, tgt, job, agent=agent, phase="sync")
            assert sync.files_transferred == 1
            assert (await verify_paths(src, tgt, job.paths, mode="hash")).consistent
            # the SFTP path reads through OpenSSH's own sftp-server
            async with SSHConnector(lab.settings("db-01")) as tgt2:
                copied = await replicate(src, tgt2, job, method="sftp")
                assert copied.files_transferred == 12
                assert (await tgt2.run(f"readlink {data}/link")).stdout.strip() == "sub/f1.bin"
                assert (await verify_paths(src, tgt2, job.paths, mode="hash")).consistent

    lab.loop.run_until_complete(scenario())
