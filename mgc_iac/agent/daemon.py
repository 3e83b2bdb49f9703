"""`python -m mgc_iac.agent.daemon RUN_DIR`: the SMS-Agent of one source, detached on the controller.

It reads RUN_DIR/daemon.json (see daemon_ctl), registers the source with SMS, then runs run_agent_loop
with SmsAgentCommands: START/SYNC copy the source's files to the target (rsync run on the source with the
agent's key), verification when the task asks for it, STOP/CLEAR end it. It ends as well when the agent on
the source is gone (a reboot killed it): then it stops polling, so SMS sees the source disconnected, and its
status says `agent_gone`. SIGTERM ends it cleanly. It logs to stderr (RUN_DIR/daemon.log), never a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from mgc_iac.agent._commands import run_agent_loop
from mgc_iac.agent._install import agent_running
from mgc_iac.agent._job import ReplicationJob
from mgc_iac.agent.daemon_ctl import DaemonConfig, daemon_status, read_config, write_status
from mgc_iac.agent.sms import SmsAgentCommands
from mgc_iac.errors import MgcIacError
from mgc_iac.ssh import SSHConnector

log = logging.getLogger("mgc_iac.agent.daemon")


def _alive_probe(config: DaemonConfig):  # -> Callable[[], Awaitable[bool]]
    install = config.install()

    async def alive() -> bool:
        """False only when the source answers and the agent process is not there; unreachable counts as alive."""
        try:
            async with SSHConnector(config.source_settings(), name=config.source_name) as host:
                return await agent_running(host, install)
        except (MgcIacError, OSError) as exc:
            log.warning("cannot check the agent on %s: %s", config.source_name, exc)
            return True

    return alive


async def run(run_dir: Path) -> str:
    """Run until STOP/CLEAR (returns "stopped") or the agent is gone ("agent_gone")."""
    from mgc_iac.cloud import Cloud, SourceFacts
    from mgc_iac.connect import settings_for

    config = read_config(run_dir)
    cloud = Cloud(settings_for(config.cloud))
    facts = SourceFacts(**{**config.facts, "macs": tuple(config.facts.get("macs") or ()),
                           "disks": tuple(config.facts.get("disks") or ())})
    alive = _alive_probe(config)
    commands = SmsAgentCommands(cloud.sms, facts, poll_seconds=config.poll_seconds,
                                check_seconds=config.check_seconds, idle_check=alive)
    commands.on_registered = lambda sid: write_status(run_dir, state="running", source_id=sid, pid=os.getpid())
    source = SSHConnector(config.source_settings(), name=config.source_name)
    target = SSHConnector(config.target_settings(), name=config.target_name)
    job = ReplicationJob(paths=("/",), exclude=tuple(config.exclude))
    try:
        await run_agent_loop(commands, source, target, job, agent=config.install(),
                             info={"name": config.source_name}, alive=alive)
    finally:
        for host in (source, target):
            with contextlib.suppress(MgcIacError, OSError):
                await host.close()
    gone = not await alive()
    return "agent_gone" if gone else "stopped"


async def _main(run_dir: Path) -> int:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
    try:
        state = await run(run_dir)
    except asyncio.CancelledError:
        state = "terminated"
    except Exception as exc:  # noqa: BLE001 - recorded for the controller, then the process ends
        log.exception("the agent daemon failed")
        write_status(run_dir, state="crashed", reason=f"{type(exc).__name__}: {exc}",
                     source_id=daemon_status(run_dir).get("source_id", ""))
        return 1
    log.info("agent daemon ends: %s", state)
    write_status(run_dir, state=state, source_id=daemon_status(run_dir).get("source_id", ""))
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m mgc_iac.agent.daemon RUN_DIR\n")
        return 2
    # WARNING for libraries (the SDK's request logs carry the access key id); INFO for the agent's own lines
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mgc_iac").setLevel(logging.INFO)
    return asyncio.run(_main(Path(argv[0])))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
