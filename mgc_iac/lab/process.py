"""The lab's process: served in this process (a thread, for tests) or in the foreground of `python -m mgc_iac.lab
serve` (which the supervisor, mgc_iac.lab.supervisor, starts in the background).

The state directory holds lab.db (SQLite), credentials.json (AK/SK, mode 0600), lab.json (pid, port, url, project
and region of the running lab; the file names are the client's, mgc_iac.cloud.endpoint) and lab.log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path

from mgc_iac.cloud import LAB_CREDENTIALS, LAB_RUNNING, default_lab_dir
from mgc_iac.errors import ConfigError
from mgc_iac.lab.context import LabContext
from mgc_iac.lab.seed import Seed, load_seed
from mgc_iac.lab.store import Store

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
    """$MGC_IAC_LAB_DIR, else ~/.mgc-iac/lab."""
    return default_lab_dir()


def credentials(state_dir: Path) -> tuple[str, str]:
    """The lab's AK/SK, generated on first use and kept in credentials.json with mode 0600."""
    path = state_dir / LAB_CREDENTIALS
    if not path.exists():
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        ak = "LAB" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17))
        sk = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
        tmp = state_dir / f".{LAB_CREDENTIALS}.{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"ak": ak, "sk": sk}, out)
        # whole or absent: a process starting the lab beside this one never reads a half-written file; first wins
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
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
    info_path = state_dir / LAB_RUNNING

    async def main() -> None:
        runner, bound = await _start_site(lab, port)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        tmp = info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": bound, "url": f"http://{HOST}:{bound}",
                                   "project_id": lab.seed.project_id, "region": lab.seed.region,
                                   "domain_id": lab.seed.domain_id}))
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
