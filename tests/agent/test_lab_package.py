"""The lab's SMS-Agent package at its download location, and SMS's side of the target (ShowCertKey)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mgc_iac.cloud import Cloud
from mgc_iac.lab.testing import lab_task, running_lab


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - the lab on loopback
        return resp.read()


def test_the_lab_serves_a_self_contained_package_with_its_published_sha256(tmp_path: Path) -> None:
    with running_lab(tmp_path / "lab") as lab:
        base = f"{lab.endpoint.url}/sms-agent/SMS-Agent.tar.gz"
        package = _get(base)  # no signature: a public download location, as Huawei's is
        published = _get(base + ".sha256").decode()
        assert published == f"{hashlib.sha256(package).hexdigest()}  SMS-Agent.tar.gz\n"
        with pytest.raises(urllib.error.HTTPError) as unsigned:  # the SMS API itself still wants a signature
            _get(f"{lab.endpoint.url}/v3/sources")
        assert unsigned.value.code == 401

    with tarfile.open(fileobj=io.BytesIO(package)) as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path / "x", filter="data")
    # Huawei's layout: startup.sh, shutdown.sh, agent/config/auth.cfg ([proxy-config] off), the process agent/linuxmain
    assert {"SMS-Agent/startup.sh", "SMS-Agent/shutdown.sh", "SMS-Agent/agent/linuxmain", "SMS-Agent/version",
            "SMS-Agent/agent/config/auth.cfg", "SMS-Agent/agent/lib/huaweicloudsdkcore/signer/signer.py",
            "SMS-Agent/agent/lib/mgc_iac/lab/agent/linuxmain.py"} <= names
    assert not [n for n in names if n.endswith((".so", ".pyc")) or "/asyncssh/" in n or "/pydantic" in n]
    # the package runs on the system's Python alone (a lab source shares only /usr with this machine)
    home = tmp_path / "x" / "SMS-Agent" / "agent"
    assert (home / "config" / "auth.cfg").read_text().startswith("[proxy-config]\nenable = false\n")
    check = ("import sys; sys.path.insert(0, sys.argv[1]); import mgc_iac.lab.agent.linuxmain as m; m.warm_imports(); "
             "import huaweicloudsdksms.v3; print('ok')")
    out = subprocess.run(["/usr/bin/python3", "-I", "-c", check, str(home / "lib")], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_show_cert_key_authorizes_a_transfer_key_on_the_task_s_target_until_the_task_is_deleted(tmp_path: Path) -> None:
    state = tmp_path / "lab"
    root = state / "hosts" / "hosts" / "web-01-hw" / "root"
    root.mkdir(parents=True)
    (state / "hosts" / "hosts.json").write_text(json.dumps({"web-01-hw": {"role": "target", "host_key":
                                                                          "ssh-ed25519 AAAAHOSTKEY"}}))
    with running_lab(state) as lab:
        cloud = Cloud(lab.settings)
        _source, task, _target = lab_task(cloud)  # a complete task onto an existing web-01-hw
        from huaweicloudsdksms.v3 import ShowCertKeyRequest

        first = cloud.sms.call("show_cert_key", ShowCertKeyRequest(task_id=task))
        again = cloud.sms.call("show_cert_key", ShowCertKeyRequest(task_id=task))
        authorized = (root / "root/.ssh/authorized_keys").read_text().splitlines()
        cloud.sms.delete_task(task)  # the key leaves the target with its task
        revoked = (root / "root/.ssh/authorized_keys").read_text()
    raw = first if isinstance(first, dict) else first.to_json_object()
    assert raw["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert raw["target_data_cert"] == "ssh-ed25519 AAAAHOSTKEY"  # the target's host key, for the agent to pin
    assert (again if isinstance(again, dict) else again.to_json_object())["cert"] == raw["cert"]  # one per task
    assert authorized == [raw["cert"]] and revoked == ""
    assert (root / "root/.ssh/authorized_keys").stat().st_mode & 0o777 == 0o600
