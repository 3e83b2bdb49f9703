"""Running the lab: in this process (a thread, for tests) or as a background process (`mgc-iac lab up`).

The state directory holds lab.db (SQLite), credentials.json (AK/SK, mode 0600), lab.json (pid, port, url of
the running lab) and lab.log (the background process's stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mgc_iac.errors import ConfigError
from mgc_iac.lab.context import LabContext
from mgc_iac.lab.seed import Seed, load_seed
from mgc_iac.lab.store import Store
from mgc_iac.lab.supervisor import file_lock, pid_alive

HOST = "127.0.0.1"
SERVICES = ("ecs", "evs", "kms", "smn", "vpc", "sms", "bss")


@dataclass(frozen=True)
class LabEndpoint:
    """Where a lab answers and the credentials it accepts (the SK never shows in repr)."""

    url: str
    ak: str
    sk: str = field(repr=False)
    project_id: str
    region: str
    domain_id: str = ""        # the account id global services (BSS) are signed with

    def env(self) -> dict[str, str]:
        """Environment variables that point the SDK and CloudSettings.from_env() at this lab."""
        region_key = self.region.upper().replace("-", "_")
        env = {"HUAWEICLOUD_SDK_AK": self.ak, "HUAWEICLOUD_SDK_SK": self.sk,
               "HUAWEICLOUD_SDK_PROJECT_ID": self.project_id, "MGC_IAC_REGION": self.region,
               "HUAWEICLOUD_SDK_DOMAIN_ID": self.domain_id}
        for service in SERVICES:
            env[f"HUAWEICLOUD_SDK_REGION_{service.upper()}_{region_key}"] = self.url
        return env


def default_state_dir() -> Path:
    return Path(os.environ.get("MGC_IAC_LAB_DIR") or Path.home() / ".mgc-iac" / "lab")


def credentials(state_dir: Path) -> tuple[str, str]:
    """The lab's AK/SK, generated on first use and kept in credentials.json with mode 0600."""
    path = state_dir / "credentials.json"
    if not path.exists():
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        ak = "LAB" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17))
        sk = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"ak": ak, "sk": sk}, out)
    data = json.loads(path.read_text())
    return data["ak"], data["sk"]


def open_context(state_dir: Path, seed_path: Path | None) -> LabContext:
    """The lab's world on disk: a given seed wins, else the seed stored at first start, else an empty one."""
    state_dir.mkdir(parents=True, exist_ok=True)
    store = Store(state_dir / "lab.db")
    if seed_path is not None:
        seed = load_seed(seed_path)
        store.set_setting("seed_doc", seed.__dict__)
    else:
        stored = store.setting("seed_doc")
        seed = Seed(**stored) if stored else Seed()
    ak, sk = credentials(state_dir)
    lab = LabContext(store=store, seed=seed, keys={ak: sk})
    lab.open()
    return lab


def reset_stopped(state_dir: Path) -> bool:
    """`lab reset` of a lab that does not run: wipe its store on disk and load its stored seed again. False when
    the directory holds no lab state."""
    if not (state_dir / "lab.db").is_file():
        return False
    with file_lock(state_dir / "lab.lock"):
        lab = open_context(state_dir, None)
        try:
            lab.reset()
        finally:
            lab.store.close()
    return True


def endpoint_for(state_dir: Path, url: str, lab: LabContext | None = None) -> LabEndpoint:
    ak, sk = credentials(state_dir)
    if lab is None:
        store = Store(state_dir / "lab.db")
        try:
            seed = Seed(**(store.setting("seed_doc") or {}))
        finally:
            store.close()
    else:
        seed = lab.seed
    return LabEndpoint(url=url, ak=ak, sk=sk, project_id=seed.project_id, region=seed.region,
                       domain_id=seed.domain_id)


async def _start_site(lab: LabContext, port: int) -> tuple[object, int]:
    from aiohttp import web

    from mgc_iac.lab import preinstalled
    from mgc_iac.lab.server import PREINSTALLED, build_app

    runner = web.AppRunner(build_app(lab), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=1024)
    await site.start()
    sockets = site._server.sockets  # type: ignore[union-attr]  # aiohttp keeps the bound socket here
    bound = sockets[0].getsockname()[1]
    agents = preinstalled.start(lab, f"http://{HOST}:{bound}")
    if agents is not None:
        runner.app[PREINSTALLED].append(agents)  # type: ignore[union-attr]  # stopped at the app's cleanup
    return runner, bound


class LabServer:
    """The lab on a loopback port, served from a thread of this process (tests, benchmarks)."""

    def __init__(self, state_dir: Path, seed: Path | None = None, port: int = 0) -> None:
        self.state_dir = Path(state_dir)
        self.seed = seed
        self.port = port
        self.lab: LabContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: object = None

    def start(self) -> LabEndpoint:
        self.lab = open_context(self.state_dir, self.seed)
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None and self.lab is not None
            asyncio.set_event_loop(self._loop)
            self._runner, self.port = self._loop.run_until_complete(_start_site(self.lab, self.port))
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="mgc-iac-lab", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise ConfigError("the lab did not start within 10 s")
        # lab.json as the background lab writes it: lab hosts of this state dir find the lab's URL there
        info = self.state_dir / "lab.json"
        tmp = info.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": self.port, "url": f"http://{HOST}:{self.port}"}))
        tmp.replace(info)
        return endpoint_for(self.state_dir, f"http://{HOST}:{self.port}", self.lab)

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        with contextlib.suppress(OSError, ValueError):
            info = self.state_dir / "lab.json"
            if json.loads(info.read_text()).get("port") == self.port:
                info.unlink()
        loop = self._loop
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop)  # type: ignore[attr-defined]
        future.result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        loop.close()
        assert self.lab is not None
        self.lab.store.close()
        self._loop = self._thread = None


def serve(state_dir: Path, port: int, seed: Path | None) -> None:
    """Run the lab in the foreground until SIGTERM/SIGINT (what the background process runs)."""
    lab = open_context(state_dir, seed)
    info_path = state_dir / "lab.json"

    async def main() -> None:
        runner, bound = await _start_site(lab, port)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        tmp = info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": bound, "url": f"http://{HOST}:{bound}"}))
        tmp.replace(info_path)
        await stop.wait()
        await runner.cleanup()  # type: ignore[attr-defined]

    try:
        asyncio.run(main())
    finally:
        with contextlib.suppress(FileNotFoundError):
            if json.loads(info_path.read_text()).get("pid") == os.getpid():
                info_path.unlink()
        lab.store.close()




def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def running(state_dir: Path) -> dict[str, object] | None:
    """{pid, port, url} of the lab running from this state dir, or None."""
    try:
        info = json.loads((state_dir / "lab.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if pid_alive(int(info["pid"])) and _listening(int(info["port"])):
        return info
    return None


def start_background(state_dir: Path, port: int = 0, seed: Path | None = None, timeout: float = 20.0) -> LabEndpoint:
    """Start `python -m mgc_iac.lab serve` detached; wait until it listens; return its endpoint."""
    state_dir.mkdir(parents=True, exist_ok=True)
    credentials(state_dir)
    with contextlib.suppress(FileNotFoundError):
        (state_dir / "lab.json").unlink()
    cmd = [sys.executable, "-m", "mgc_iac.lab", "serve", "--dir", str(state_dir), "--port", str(port)]
    if seed is not None:
        cmd += ["--seed", str(Path(seed).resolve())]
    with open(state_dir / "lab.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = running(state_dir)
        if info is not None and info["pid"] == proc.pid:
            return endpoint_for(state_dir, str(info["url"]))
        if proc.poll() is not None:
            tail = (state_dir / "lab.log").read_text(errors="replace")[-800:]
            raise ConfigError(f"the lab exited at start (code {proc.returncode}); see {state_dir}/lab.log:\n{tail}")
        time.sleep(0.05)
    proc.terminate()
    raise ConfigError(f"the lab did not listen within {timeout:.0f} s; see {state_dir}/lab.log")


def stop_background(state_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the lab recorded in this state dir (SIGTERM, then SIGKILL). False if none was running."""
    info = running(state_dir)
    if info is None:
        return False
    pid = int(info["pid"])  # type: ignore[call-overload]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (state_dir / "lab.json").unlink()
    return True




def ensure_lab(state_dir: Path | None = None, seed: Path | None = None, port: int = 0) -> LabEndpoint:
    """The running lab of this state dir, started in the background first if none runs. The seed is used
    when the state dir is new (or to reseed on `lab reset`); a lab with state keeps it."""
    state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
    with file_lock(state_dir / "lab.lock"):
        info = running(state_dir)
        if info is not None:
            return endpoint_for(state_dir, str(info["url"]))
        if seed is not None and _seed_has_hosts(seed):
            from mgc_iac.lab.requirements import require_lab_tools

            require_lab_tools()  # its hosts would fail inside a step: name what is missing before the lab starts
        return start_background(state_dir, port=port, seed=seed)


def _seed_has_hosts(seed: Path) -> bool:
    from mgc_iac.lab.hosts._spec import load_hosts_spec

    try:
        return bool(load_hosts_spec(seed))
    except Exception:  # noqa: BLE001 - a broken seed is reported where it is loaded, with its line
        return False
