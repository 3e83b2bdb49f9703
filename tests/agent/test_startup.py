"""StartUpAgent's install path (templates/sms_agent.sh.j2) run on a real lab source over SSH.

The packages are served from loopback: a small test package (its startup.sh starts a process named linuxmain
and keeps a digest of the answers it was given) to check the procedure itself; for a huaweicloud stack, the
official download location through the workflow's proxy, where the proxy is a loopback socket that accepts and
never answers, so the real curl command can be seen in the source's `ps` while it waits.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import io
import socket
import tarfile
import threading
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from mgc_iac.cloud import CloudSettings
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.ssh import SSHConnector
from mgc_iac.ssh.agent import AgentPackage, agent_status, install_agent, uninstall_agent
from mgc_iac.ssh.agent._startup import AgentInstallError, render, startup_answers

AK, SK = "AKTESTSTARTUP0000001", "sk-test-startup-secret-0123456789abcdef"
_STARTUP = """#!/bin/bash
HERE=$(cd "$(dirname "$0")" && pwd)
IFS= read -r ak; IFS= read -r sk; IFS= read -r domain; IFS= read -r project
printf '%s|%s|%s|%s' "$ak" "$sk" "$domain" "$project" | sha256sum | cut -d' ' -f1 > "$HERE/answers.sha256"
setsid bash -c 'echo $$ > '"$HERE"'/linuxmain.pid; exec -a linuxmain sleep 300' >/dev/null 2>&1 < /dev/null &
for _ in $(seq 1 50); do [ -s "$HERE/linuxmain.pid" ] && exit 0; sleep 0.1; done
exit 1
"""


def _package(version: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, mode in (("startup.sh", _STARTUP, 0o755), ("version", version + "\n", 0o644),
                                 ("linuxmain.py", "# marks a package that keeps a pid file\n", 0o644)):
            info = tarfile.TarInfo(f"SMS-Agent/{name}")
            info.size, info.mode = len(data.encode()), mode
            tar.addfile(info, io.BytesIO(data.encode()))
    return buf.getvalue()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A loopback HTTP server of tmp_path/www (where the tests put packages and their .sha256)."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(www), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _publish(www: Path, name: str, data: bytes, published: str | None = None) -> None:
    (www / name).write_bytes(data)
    (www / f"{name}.sha256").write_text(f"{published or hashlib.sha256(data).hexdigest()}  SMS-Agent_Linux.tgz\n")


def _answers(domain: str = "https://sms.cn-north-4.myhuaweicloud.com") -> str:
    settings = CloudSettings(region="cn-north-4", project_id="0123456789abcdef0123456789abcdef", ak=AK, sk=SK,
                             endpoints={"sms": domain})
    return startup_answers(settings)


def test_install_checks_the_checksum_refuses_an_older_agent_and_is_idempotent(lab: LabHosts,
                                                                            served: tuple[Path, str]) -> None:
    www, base = served
    v1, v2 = _package("1.0"), _package("2.0")
    _publish(www, "bad.tgz", v1, published="0" * 64)
    _publish(www, "v1.tgz", v1)
    _publish(www, "v2.tgz", v2)

    def pkg(name: str) -> AgentPackage:
        return AgentPackage(f"{base}/{name}", f"{base}/{name}.sha256")

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(SSHConnector(lab.settings("src")))
            with pytest.raises(AgentInstallError, match="not the published"):
                await install_agent(src, pkg("bad.tgz"), _answers())
            assert (await agent_status(src))["state"] == "absent"  # nothing was extracted

            first = await install_agent(src, pkg("v1.tgz"), _answers())
            assert first["state"] == "started" and first["sha256"] == hashlib.sha256(v1).hexdigest()
            status = await agent_status(src)
            assert status == {"state": "running", "pid": first["pid"]}
            assert (await src.run(f"tr '\\0' ' ' < /proc/{first['pid']}/cmdline")).stdout.startswith("linuxmain")
            # the agent got the answers on stdin, and none of them was left in a file
            want = hashlib.sha256(f"{AK}|{SK}|sms.cn-north-4.myhuaweicloud.com|0123456789abcdef0123456789abcdef"
                                  .encode()).hexdigest()
            assert (await src.run("cat /opt/SMS-Agent/answers.sha256")).stdout.strip() == want
            leftovers = await src.run(f"grep -rlF {SK} /opt /tmp /root 2>/dev/null")
            assert leftovers.stdout == ""

            again = await install_agent(src, pkg("v1.tgz"), _answers())
            assert (again["state"], again["pid"]) == ("running", first["pid"])  # the same agent, not a second

            with pytest.raises(AgentInstallError, match="SMS.0609") as older:
                await install_agent(src, pkg("v2.tgz"), _answers())
            assert older.value.code == "SMS.0609" and SK not in str(older.value)

            assert await uninstall_agent(src)
            assert (await agent_status(src))["state"] == "absent"
            pid = first["pid"]  # gone, or a zombie its new parent has not reaped yet
            assert (await src.run(f"[ ! -e /proc/{pid} ] || [ $(awk '{{print $3}}' /proc/{pid}/stat) = Z ]")).ok
            assert not await uninstall_agent(src)  # nothing left to remove
            assert (await install_agent(src, pkg("v2.tgz"), _answers()))["state"] == "started"

    lab.loop.run_until_complete(scenario())


def test_a_huaweicloud_source_runs_the_official_download_through_the_proxy_with_no_secret_in_ps(
        lab: LabHosts) -> None:
    stalled = socket.socket()
    stalled.bind(("127.0.0.1", 0))
    stalled.listen(8)  # the proxy: accepts (the kernel does) and never answers
    proxy_port = stalled.getsockname()[1]
    network = {"type": "private", "proxy": {"host": "127.0.0.1", "port": proxy_port}}
    package = AgentPackage.for_stack({"provider": "huaweicloud", "region": "cn-north-4"}, network, "cn-north-4")
    assert package.url == "https://sms-agent-2.obs.cn-north-4.myhuaweicloud.com/SMS-Agent_Linux.tgz"
    assert package.sha256_url == package.url + ".sha256"
    script = render("install", package)
    assert "sha256sum" in script and f"--proxy http://127.0.0.1:{proxy_port}" in script
    assert AK not in script and SK not in script
    own = AgentPackage.for_stack({"provider": "huaweicloud"}, {**network, "agent_package_url":
                                                               "http://10.1.2.3/pkgs/SMS-Agent_Linux.tgz"}, "x")
    assert own.url == "http://10.1.2.3/pkgs/SMS-Agent_Linux.tgz"

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(SSHConnector(lab.settings("src")))
            watcher = await stack.enter_async_context(SSHConnector(lab.settings("src")))
            install = asyncio.ensure_future(install_agent(src, package, _answers()))
            seen, curl = "", []
            for _ in range(200):  # until curl itself runs (the script's own command line names it too)
                seen = (await watcher.run("ps -eo args")).stdout
                curl = [line for line in seen.splitlines() if line.startswith("curl ") and package.url in line]
                if curl:
                    break
                await asyncio.sleep(0.05)
            assert curl and f"--proxy http://127.0.0.1:{proxy_port}" in curl[0]
            assert AK not in seen and SK not in seen  # argv of every process on the source
            stalled.close()  # the proxy goes away: the download fails, with a message that names it
            with pytest.raises(AgentInstallError, match="download failed") as failed:
                await asyncio.wait_for(install, 120)
            assert package.url in str(failed.value) and f"127.0.0.1:{proxy_port}" in str(failed.value)
            assert SK not in str(failed.value) and AK not in str(failed.value)
            assert (await agent_status(src))["state"] == "absent"

    try:
        lab.loop.run_until_complete(scenario())
    finally:
        stalled.close()


def test_a_huaweicloud_stack_s_start_up_agent_reaches_the_install_commands(lab: LabHosts,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the engine's StartUpAgent side, as an apply of a `cloud.provider: huaweicloud` stack runs it on a
    source with `ssh:` (here a lab host): the official package through the proxy, which refuses (no Internet
    here), so the step fails at the download, saying where from, and with no key in its message."""
    from types import SimpleNamespace

    from mgc_iac.engine.runners.agent import AgentSide
    from mgc_iac.engine.steps import StepContext
    from mgc_iac.ssh.hosts import MigrationHosts

    for k, v in {"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK, "HUAWEICLOUD_SDK_PROJECT_ID": "p" * 32}.items():
        monkeypatch.setenv(k, v)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ssh = {"host": "127.0.0.1", "port": lab["src"].port, "user": "root", "key_file": str(lab.client_key_path),
           "known_hosts": str(lab.known_hosts_path)}
    spec = {"sources": [{"name": "src", "os": "linux", "mac": "fa:16:3e:00:00:01", "ssh": ssh}],
            "workflows": [{"name": "wf", "network": {"type": "private",
                                                     "proxy": {"host": "127.0.0.1", "port": closed}}}]}
    cloud = {"provider": "huaweicloud", "region": "cn-north-4"}
    side = AgentSide(MigrationHosts(spec), cloud)
    ctx = StepContext(stack="s", step="StartUpAgent", spec=spec, changes={}, records={}, attempt=1,
                      server=SimpleNamespace(workflow="wf", server="src", target_name="src-hw"))  # type: ignore[arg-type]
    # no lab target needed: the SMS side of a real target is Huawei's (the lab hosts answer on lab.loop)
    assert lab.loop.run_until_complete(asyncio.to_thread(side.precheck, ctx, {})) is not None
    with pytest.raises(AgentInstallError, match="download failed") as failed:
        lab.loop.run_until_complete(asyncio.to_thread(side.start, ctx, {}))
    message = str(failed.value)
    assert "https://sms-agent-2.obs.cn-north-4.myhuaweicloud.com/SMS-Agent_Linux.tgz" in message
    assert f"through the proxy http://127.0.0.1:{closed}" in message
    assert AK not in message and SK not in message
