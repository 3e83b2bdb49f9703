"""Host keys are matched by asyncssh's own known_hosts support, under both policies: hashed entries (Debian's
default), wildcards, @revoked and @cert-authority. accept-new records a key only for a host the file says
nothing about; it never connects without checking against the file (issue 9, item 7)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncssh
import pytest

from mgc_iac.errors import SSHConnectError
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.ssh import SSHConnector


def _other_key() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()


def _hashed(kh: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(kh)], check=True, capture_output=True)
    assert kh.read_text().startswith("|1|")


def _connect(lab: LabHosts, kh: Path, policy: str) -> None:
    async def go() -> None:
        async with SSHConnector(lab.settings("web-01", known_hosts=str(kh), host_key_policy=policy)) as c:
            assert (await c.run("true")).ok

    lab.loop.run_until_complete(go())


def _refused(lab: LabHosts, kh: Path, policy: str) -> str:
    with pytest.raises(SSHConnectError) as info:
        _connect(lab, kh, policy)
    return str(info.value)


@pytest.mark.parametrize("policy", ["strict", "accept-new"])
def test_a_hashed_entry_with_the_right_key_is_trusted(lab: LabHosts, tmp_path: Path, policy: str) -> None:
    kh = tmp_path / "kh"
    kh.write_text(f"[127.0.0.1]:{lab['web-01'].port} {lab['web-01'].host_key_public}\n")
    _hashed(kh)
    before = kh.read_text()
    _connect(lab, kh, policy)
    assert kh.read_text() == before  # known: nothing appended


@pytest.mark.parametrize("policy", ["strict", "accept-new"])
def test_a_hashed_entry_with_another_key_is_refused(lab: LabHosts, tmp_path: Path, policy: str) -> None:
    kh = tmp_path / "kh"
    kh.write_text(f"[127.0.0.1]:{lab['web-01'].port} {_other_key()}\n")
    _hashed(kh)
    before = kh.read_text()
    assert "not trusted" in _refused(lab, kh, policy)
    assert kh.read_text() == before  # accept-new did not add the attacker's key next to the hashed one


def test_a_wildcard_entry_with_another_key_is_refused(lab: LabHosts, tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    kh.write_text(f"127.0.0.* {_other_key()}\n")
    assert "not trusted" in _refused(lab, kh, "accept-new")
    kh.write_text(f"127.0.0.* {lab['web-01'].host_key_public}\n")
    _connect(lab, kh, "strict")  # and a wildcard with the right key is trusted


def test_a_revoked_key_is_refused_even_on_first_contact(lab: LabHosts, tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    kh.write_text(f"@revoked * {lab['web-01'].host_key_public}\n")
    assert "revoked" in _refused(lab, kh, "accept-new")
    assert "[127.0.0.1]" not in kh.read_text()


def test_a_host_under_a_certificate_authority_is_not_accepted_with_a_plain_key(lab: LabHosts,
                                                                                tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    kh.write_text(f"@cert-authority 127.0.0.1,[127.0.0.1]:* {_other_key()}\n")
    # asyncssh then asks the host for a certificate only; a plain key is never offered a first-contact pass
    assert "host key" in _refused(lab, kh, "accept-new")
    assert kh.read_text().count("\n") == 1


def test_accept_new_records_a_host_the_file_does_not_know(lab: LabHosts, tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    kh.write_text(f"other.example {_other_key()}\n")
    _hashed(kh)
    _connect(lab, kh, "accept-new")
    assert kh.read_text().splitlines()[-1] == f"[127.0.0.1]:{lab['web-01'].port} {lab['web-01'].host_key_public}"
    _connect(lab, kh, "strict")
