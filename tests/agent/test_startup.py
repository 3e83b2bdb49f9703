"""StartUpAgent's install path run on real lab sources over SSH against the lab's real SMS-Agent package.

The lab's startup.sh asks what Huawei's asks, in Huawei's order, and asks a wrong answer again forever
(mgc_iac/lab/sms_agent/startup.sh; huawei-behaviour.md): these tests fail if the client sends what it refuses (a
fixed list of lines, a URL for the domain), skips the sha256 check, or leaves the proxy out of auth.cfg. A
huaweicloud stack's download goes to Huawei's bucket through the workflow's proxy, seen in the source's `ps`.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from mgc_iac.cloud import Cloud
from mgc_iac.cloud.endpoint import sms_agent_domain
from mgc_iac.lab.hosts import LabHosts, LabHostSpec
from mgc_iac.lab.hosts.testing import serving
from mgc_iac.lab.proxy import forward_proxy
from mgc_iac.lab.testing import RunningLab, running_lab
from mgc_iac.ssh import SSHConnector
from mgc_iac.ssh.agent import AgentPackage, agent_status, install_agent, uninstall_agent
from mgc_iac.ssh.agent._dialog import StartupAnswers
from mgc_iac.ssh.agent._startup import LAB_PATH, AgentInstallError, AgentProxy, render, startup_answers

AK, SK = "AKTESTSTARTUP0000001", "sk-test-startup-secret-0123456789abcdef"
AGENT = "/opt/SMS-Agent"


@dataclass
class Lab:
    cloud: RunningLab
    hosts: LabHosts

    @property
    def package(self) -> AgentPackage:
        url = self.cloud.endpoint.url + LAB_PATH
        return AgentPackage(url, url + ".sha256")

    def answers(self, enterprise_project: str = "shop") -> StartupAnswers:
        settings = self.cloud.settings
        return startup_answers(settings.ak, settings.sk, sms_agent_domain(settings, {"provider": "lab"}),
                               enterprise_project=enterprise_project)

    def run(self, coro: Any) -> Any:
        return self.hosts.loop.run_until_complete(coro)

    def connect(self, name: str = "src") -> SSHConnector:
        return SSHConnector(self.hosts.settings(name))

    def registered(self, name: str = "src", timeout: float = 30.0) -> Any:
        cloud = Cloud(self.cloud.settings)
        for _ in range(int(timeout / 0.2)):
            found = [s for s in cloud.sms.list_sources(name=name) if s.connected]
            if found:
                return found[0]
            threading.Event().wait(0.2)
        return None


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """The lab cloud (in this process) and lab hosts whose network maps Huawei's SMS domain onto it."""
    with running_lab(tmp_path / "cloud") as cloud:
        ep = cloud.endpoint
        view = {"url": ep.url, "region": ep.region, "project_id": ep.project_id, "projects": {ep.region: ep.project_id},
                "enterprise_projects": [{"id": "ep-fin", "name": "finance"}, {"id": "ep-shop", "name": "shop"}]}
        specs = [LabHostSpec(name="src", role="source", mac="fa:16:3e:00:00:01", ip="192.168.1.10"),
                 LabHostSpec(name="fw", role="source", mac="fa:16:3e:00:00:02", ip="192.168.1.11", internet=False)]
        with serving(specs, tmp_path / "hosts", view) as hosts:
            yield Lab(cloud, hosts)


def _ps(lab: Lab, name: str = "src") -> str:
    async def go() -> str:
        async with lab.connect(name) as c:
            return (await c.run("ps -eo args")).stdout
    return str(lab.run(go()))


def test_startup_sh_is_answered_prompt_by_prompt_and_the_agent_outlives_the_session(lab: Lab) -> None:
    async def first() -> dict[str, Any]:
        async with lab.connect() as src:
            return await install_agent(src, lab.package, lab.answers("shop"))

    started = lab.run(first())  # the SSH connection is closed when this returns
    assert started["state"] == "started"
    assert started["prompts"] == ["precheck", "statement", "ak", "sk", "domain", "enterprise_project"]
    source = lab.registered()
    assert source is not None and source.ip == "192.168.1.10"

    async def after() -> tuple[dict[str, Any], str, str, str]:
        async with lab.connect() as src:
            status = await agent_status(src)
            saved = (await src.run(f"cat {AGENT}/agent/config/registration.cfg")).stdout
            leaked = (await src.run(f"grep -rlF -e {AK} -e {SK} / --exclude-dir=proc --exclude-dir=sys "
                                    "--exclude-dir=usr 2>/dev/null")).stdout
            comm = (await src.run(f"cat /proc/{status['pid']}/comm")).stdout.strip()
            return status, saved, leaked, comm

    status, saved, leaked, comm = lab.run(after())
    # linuxmain runs on, detached from the session that ran startup.sh, under its own name
    assert status == {"state": "running", "pid": started["pid"]} and comm == "linuxmain"
    assert "enterprise_project = shop" in saved and "enterprise_project_id = ep-shop" in saved  # chosen by name
    assert "domain = sms.cn-north-4.myhuaweicloud.com" in saved  # the bare host, not the lab's URL
    assert leaked == ""  # the keys are in no file in clear, and in no process's arguments:
    seen = _ps(lab)
    assert AK not in seen and SK not in seen

    async def restart() -> dict[str, Any]:
        async with lab.connect() as src:
            await src.run(f"cd {AGENT} && ./shutdown.sh")
            assert (await agent_status(src))["state"] == "stopped"
            return await install_agent(src, lab.package, lab.answers("shop"))

    again = lab.run(restart())
    assert again["state"] == "started" and again["prompts"] == ["precheck", "reuse"]  # the saved configuration
    assert lab.registered().id == source.id  # the same source (its MACs), registered again


def test_a_fixed_answer_list_into_startup_sh_never_starts_the_agent(lab: Lab) -> None:
    """What the client sent before: AK, SK, domain (a URL), project id, token, one a line on stdin. Into the real
    prompt order (a `y` expected first) each line is a wrong answer, asked again; the agent never starts."""
    async def scenario() -> tuple[int, int, str]:
        async with lab.connect() as src:
            assert (await src.run(render("install", lab.package))).exit_status == 0
            lines = f"{AK}\n{SK}\n{lab.cloud.endpoint.url}\n{lab.cloud.endpoint.project_id}\n\n"
            piped = await src.run(f"cd {AGENT} && ./startup.sh", input=lines, timeout=60)
            in_a_terminal = await src.run(f"cd {AGENT} && script -qec ./startup.sh /dev/null", input=lines,
                                          timeout=60)
            return piped.exit_status, in_a_terminal.exit_status, (await agent_status(src))["state"]

    piped, terminal, state = lab.run(scenario())
    assert piped != 0 and terminal != 0 and state == "stopped"
    assert lab.registered(timeout=1) is None


def test_a_refused_answer_stops_startup_with_the_prompt_quoted(lab: Lab) -> None:
    url_domain = replace(lab.answers(), domain=lab.cloud.endpoint.url)  # a URL, not the bare host Huawei asks

    async def scenario() -> tuple[str, str, str]:
        async with lab.connect() as src:
            with pytest.raises(AgentInstallError) as refused:
                await install_agent(src, lab.package, url_domain)
            await asyncio.sleep(0.5)  # (a zombie its parent has not reaped yet is not asking anything)
            # a lab source sees every process of this machine: only those under its own root count
            left = (await src.run(
                "me=$(stat -Lc %d:%i /); ps -eo pid,stat,args | awk '$2 !~ /Z/ && /[s]tartup.sh/' | "
                "while read -r pid rest; do [ \"$(stat -Lc %d:%i /proc/$pid/root 2>/dev/null)\" = \"$me\" ] && "
                "echo \"$pid $rest\"; done; true")).stdout
            return str(refused.value), (await agent_status(src))["state"], left

    message, state, left = lab.run(scenario())
    assert "asked again for the SMS domain" in message and "Invalid SMS domain name" in message
    assert "Please enter the SMS domain name:" in message
    assert AK not in message and SK not in message
    assert state == "stopped" and "startup.sh" not in left  # nothing left asking on the source


def test_the_checksum_is_checked_an_older_agent_refused_and_uninstall_runs_shutdown_sh(
        lab: Lab, served: tuple[Path, str]) -> None:
    www, base = served
    with urllib.request.urlopen(lab.package.url, timeout=60) as resp:  # noqa: S310 - the lab on loopback
        v1 = resp.read()
    v2 = _with_file(v1, "SMS-Agent/NOTICE", b"a newer build\n")
    _publish(www, "bad.tar.gz", v1, published="0" * 64)
    _publish(www, "v1.tar.gz", v1)
    _publish(www, "v2.tar.gz", v2)

    def pkg(name: str) -> AgentPackage:
        return AgentPackage(f"{base}/{name}", f"{base}/{name}.sha256")

    async def scenario() -> None:
        async with lab.connect() as src:
            with pytest.raises(AgentInstallError, match="not the published"):
                await install_agent(src, pkg("bad.tar.gz"), lab.answers())
            assert (await agent_status(src))["state"] == "absent"  # nothing was extracted

            first = await install_agent(src, pkg("v1.tar.gz"), lab.answers())
            assert first["state"] == "started" and first["sha256"] == hashlib.sha256(v1).hexdigest()
            again = await install_agent(src, pkg("v1.tar.gz"), lab.answers())
            assert (again["state"], again["pid"]) == ("running", first["pid"])  # the same agent, not a second

            with pytest.raises(AgentInstallError, match="SMS.0609") as older:
                await install_agent(src, pkg("v2.tar.gz"), lab.answers())
            assert older.value.code == "SMS.0609" and SK not in str(older.value)

            assert await uninstall_agent(src)  # shutdown.sh, then SMS-Agent/ removed
            assert (await agent_status(src))["state"] == "absent"
            pid = first["pid"]  # gone, or a zombie its new parent has not reaped yet
            assert (await src.run(f"[ ! -e /proc/{pid} ] || [ $(awk '{{print $3}}' /proc/{pid}/stat) = Z ]")).ok
            assert not await uninstall_agent(src)  # nothing left to remove
            assert (await install_agent(src, pkg("v2.tar.gz"), lab.answers()))["prompts"][-1] == "enterprise_project"

    lab.run(scenario())


def test_the_proxy_is_written_to_auth_cfg_and_the_agent_registers_through_it(lab: Lab) -> None:
    """`fw` has no route out but through a proxy (internet: false): the agent registers only when StartUpAgent
    wrote the proxy into its auth.cfg [proxy-config]; without it, it cannot reach SMS and startup fails."""
    with forward_proxy() as proxy:
        through = replace(lab.package, proxy=AgentProxy("127.0.0.1", proxy.port))

        async def with_proxy() -> str:
            async with lab.connect("fw") as src:
                await install_agent(src, through, lab.answers())
                return (await src.run(f"cat {AGENT}/agent/config/auth.cfg")).stdout

        auth = lab.run(with_proxy())
        assert "[proxy-config]\nenable = true\nproxy_addr = 127.0.0.1\n" f"proxy_port = {proxy.port}\n" in auth
        assert lab.registered("fw") is not None
        paths = [(m, p) for m, _, p in proxy.requests]
        assert ("GET", "/sms-agent/SMS-Agent.tar.gz") in paths  # the source downloaded through it
        assert ("POST", "/v3/sources") in paths  # and the agent registered through it (auth.cfg)

    async def without_proxy() -> str:
        async with lab.connect("fw") as src:
            await uninstall_agent(src)
            with pytest.raises(AgentInstallError) as failed:
                await install_agent(src, lab.package, lab.answers())
            return str(failed.value) + (await src.run(f"cat {AGENT}/agent/Logs/linuxmain.log")).stdout

    assert "no route out but through a proxy" in lab.run(without_proxy())


def test_a_huaweicloud_source_downloads_from_the_region_s_bucket_through_the_proxy_with_no_secret_in_ps(
        lab: Lab) -> None:
    stalled = socket.socket()
    stalled.bind(("127.0.0.1", 0))
    stalled.listen(8)  # the proxy: accepts (the kernel does) and never answers
    proxy_port = stalled.getsockname()[1]
    network = {"type": "private", "proxy": {"host": "127.0.0.1", "port": proxy_port}}
    package = AgentPackage.for_stack({"provider": "huaweicloud", "region": "cn-north-4"}, network, "cn-north-4")
    assert package.url == "https://sms-agent-2-0.obs.cn-north-4.myhuaweicloud.com/SMS-Agent.tar.gz"
    assert package.sha256_url == package.url + ".sha256"
    script = render("install", package)
    assert "sha256sum" in script and f"--proxy http://127.0.0.1:{proxy_port}" in script
    assert AK not in script and SK not in script
    own = AgentPackage.for_stack({"provider": "huaweicloud"}, {**network, "agent_package_url":
                                                               "http://10.1.2.3/pkgs/SMS-Agent.tar.gz"}, "x")
    assert own.url == "http://10.1.2.3/pkgs/SMS-Agent.tar.gz"
    answers = StartupAnswers(ak=AK, sk=SK, domain="sms.cn-north-4.myhuaweicloud.com")

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            src = await stack.enter_async_context(lab.connect())
            watcher = await stack.enter_async_context(lab.connect())
            install = asyncio.ensure_future(install_agent(src, package, answers))
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
        lab.run(scenario())
    finally:
        stalled.close()


def test_a_huaweicloud_stack_s_start_up_agent_reaches_the_install_commands_and_refuses_a_token(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the engine's StartUpAgent side, as an apply of a `cloud.provider: huaweicloud` stack runs it on a
    source with `ssh:` (here a lab host): the official package through the proxy, which refuses (no Internet
    here), so the step fails at the download, saying where from, and with no key in its message. With a security
    token in the environment it stops before anything runs on the source."""
    from types import SimpleNamespace

    from mgc_iac.engine.runners.agent import AgentSide
    from mgc_iac.engine.steps import StepContext
    from mgc_iac.errors import ConfigError
    from mgc_iac.ssh.hosts import MigrationHosts

    for k, v in {"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK, "HUAWEICLOUD_SDK_PROJECT_ID": "p" * 32}.items():
        monkeypatch.setenv(k, v)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    hosts = lab.hosts
    ssh = {"host": "127.0.0.1", "port": hosts["src"].port, "user": "root", "key_file": str(hosts.client_key_path),
           "known_hosts": str(hosts.known_hosts_path)}
    spec = {"sources": [{"name": "src", "os": "linux", "mac": "fa:16:3e:00:00:01", "ssh": ssh}],
            "workflows": [{"name": "wf", "network": {"type": "private",
                                                     "proxy": {"host": "127.0.0.1", "port": closed}}}]}
    cloud = {"provider": "huaweicloud", "region": "cn-north-4"}
    side = AgentSide(MigrationHosts(spec), cloud)
    ctx = StepContext(stack="s", step="StartUpAgent", spec=spec, changes={}, records={}, attempt=1,
                      server=SimpleNamespace(workflow="wf", server="src", target_name="src-hw"))  # type: ignore[arg-type]
    # no lab target needed: the SMS side of a real target is Huawei's (the lab hosts answer on hosts.loop)
    assert lab.run(asyncio.to_thread(side.precheck, ctx, {})) is not None
    with pytest.raises(AgentInstallError, match="download failed") as failed:
        lab.run(asyncio.to_thread(side.start, ctx, {}))
    message = str(failed.value)
    assert "https://sms-agent-2-0.obs.cn-north-4.myhuaweicloud.com/SMS-Agent.tar.gz" in message
    assert f"through the proxy http://127.0.0.1:{closed}" in message
    assert AK not in message and SK not in message

    monkeypatch.setenv("HUAWEICLOUD_SDK_SECURITY_TOKEN", "temporary-token-value")
    with pytest.raises(ConfigError, match="security token") as refused:
        lab.run(asyncio.to_thread(side.start, ctx, {}))
    assert "temporary-token-value" not in str(refused.value)


# ---- a loopback HTTP server for packages other than the lab's ------------------------------------------------

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
    (www / f"{name}.sha256").write_text(f"{published or hashlib.sha256(data).hexdigest()}  SMS-Agent.tar.gz\n")


def _with_file(package: bytes, name: str, data: bytes) -> bytes:
    """The package with one more file: another build, another sha256."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(package)) as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        info = tarfile.TarInfo(name)
        info.size = len(data)
        dst.addfile(info, io.BytesIO(data))
    return out.getvalue()
