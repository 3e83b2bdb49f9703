"""AgentCommands over the SMS v3 agent API (the cloud layer's sms client): what the SMS-Agent does.

register_source with the host's facts; poll show_command (the heartbeat); START -> start (full replication),
SYNC -> sync (incremental, the task action `restart`), STOP/CLEAR -> stop, SKIP -> nothing. Each command's
params come from the task: its configuration (MIGRATE_EXCLUDE_DIR / SYNC_EXCLUDE_DIR: the copy's excludes;
CONSISTENCY_DIR: the directories of the agent's own check) and its speed limits. After each copy the agent
runs the check the workflow page documents for SMS: "a quick verification, and only the file size and last
modification time will be verified" (size+mtime), over the CONSISTENCY_DIR directories ("/": the whole copy
minus the page's default exclusions; none: no check). CONSISTENCY_MODE and any exclude syntax are not read:
their values are not documented (huawei-behaviour.md); hash and verification excludes are mgc-iac's own check
(VerifyConsistency).
Progress goes to PUT progress (sub-task MIGRATE_LINUX_FILE or SYNC_LINUX_FILE); an agent that
(re)starts while its task is RUNNING or SYNCING resumes that copy (the earlier process took the command and
died with it). A finished copy reports its consistency result FIRST, then progress 100 (which ends the
task's phase), then the command result, so whoever sees the phase done also sees the verification.
The SDK is synchronous: every call runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mgc_iac.errors import CloudConflictError, CloudError
from mgc_iac.lab.agent._commands import AgentCommand
from mgc_iac.lab.agent._progress import Progress

log = logging.getLogger("mgc_iac.lab.agent.sms")

_NAMES = {"START": "start", "SYNC": "sync", "STOP": "stop", "CLEAR": "stop"}


def split_paths(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def limit_now(limits: list[Any], now: time.struct_time | None = None) -> float | None:
    """The speed limit (Mbit/s) of the rule covering this minute of the day; None when none does (or 0)."""
    t = now or time.localtime()
    minute = f"{t.tm_hour:02d}:{t.tm_min:02d}"
    for rule in limits:
        if rule.start <= minute <= rule.end and rule.speed_mbps:
            return float(rule.speed_mbps)
    return None


@dataclass
class _Running:
    sms_name: str  # START | SYNC | STOP | CLEAR
    task_id: str
    subtask: str
    done: Progress | None = None


class SmsAgentCommands:
    """The SMS side of run_agent_loop. `idle_check` (optional) runs every `check_seconds` while no command
    waits; when it answers False the agent stops taking commands (the loop ends)."""

    def __init__(self, sms: Any, facts: Any, *, poll_seconds: float = 0.5, check_seconds: float = 3.0,
                 idle_check: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.sms = sms
        self.facts = facts  # mgc_iac.cloud.SourceFacts
        self.poll_seconds = poll_seconds
        self.check_seconds = check_seconds
        self.idle_check = idle_check
        self.source_id = ""
        self.on_registered: Callable[[str], None] | None = None
        self._running: dict[str, _Running] = {}
        self._count = 0
        self._resume_checked = False

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def register(self, info: dict[str, Any]) -> str:
        self.source_id = await self._call(self.sms.register_source, self.facts)
        log.info("registered source %s as %s", self.facts.name, self.source_id)
        if self.on_registered is not None:
            self.on_registered(self.source_id)
        return self.source_id

    async def _params(self, name: str, task_id: str) -> dict[str, Any]:
        config, limits = await asyncio.gather(self._call(self.sms.configuration, task_id),
                                              self._call(self.sms.speed_limits, task_id))
        key = "MIGRATE_EXCLUDE_DIR" if name == "START" else "SYNC_EXCLUDE_DIR"
        copy_excludes = split_paths(config.get(key))
        include = split_paths(config.get("CONSISTENCY_DIR"))
        params: dict[str, Any] = {"task_id": task_id, "exclude": copy_excludes,
                                  "bandwidth_limit_mbps": limit_now(limits)}
        if include:  # SMS's quick check (size + mtime); the copy's excludes were never copied: job_for adds them
            params["verify"] = {"mode": "size_mtime", "include_paths": include, "exclude_paths": [],
                                "default_excludes": include == ["/"]}
        return params

    async def _resumed(self) -> Any:
        """After a restart, the phase the source's task is in (RUNNING: START, SYNCING: SYNC) whose command an
        earlier agent process took and did not finish; None when the task is not in the middle of a copy."""
        from mgc_iac.cloud import Command

        source = await self._call(self.sms.show_source, self.source_id)
        if not source.current_task_id:
            return None
        task = await self._call(self.sms.show_task, source.current_task_id)
        name = {"RUNNING": "START", "SYNCING": "SYNC"}.get(task.state)
        if name:
            log.info("task %s is %s: resuming its %s", task.id, task.state, name)
        return Command(name=name, task_id=task.id) if name else None

    async def next_command(self) -> AgentCommand | None:
        last_check = time.monotonic()
        while True:
            try:
                raw = None
                if not self._resume_checked:
                    raw = await self._resumed()
                    self._resume_checked = True
                raw = raw or await self._call(self.sms.show_command, self.source_id)
            except CloudError as exc:  # the cloud is unreachable for now: keep polling (the heartbeat)
                log.warning("polling the next command failed: %s", exc)
                await asyncio.sleep(self.poll_seconds * 4)
                continue
            name = _NAMES.get(raw.name)
            if name is not None and raw.task_id:
                self._count += 1
                cid = f"{raw.name}-{self._count}"
                params = await self._params(raw.name, raw.task_id) if name in ("start", "sync") else \
                    {"task_id": raw.task_id}
                phase = "MIGRATE" if raw.name == "START" else "SYNC"
                self._running[cid] = _Running(raw.name, raw.task_id, f"{phase}_LINUX_FILE")
                log.info("command %s for task %s: %s", raw.name, raw.task_id, params)
                return AgentCommand(cid, name, params)  # type: ignore[arg-type]
            if raw.name:
                log.info("command %s: nothing to do", raw.name)
            if self.idle_check is not None and time.monotonic() - last_check >= self.check_seconds:
                last_check = time.monotonic()
                if not await self.idle_check():
                    log.warning("the agent is gone from the source: no more commands")
                    return None
            await asyncio.sleep(self.poll_seconds)

    async def _progress(self, run: _Running, p: Progress, percent: int) -> None:
        from mgc_iac.cloud import Progress as SmsProgress

        body = SmsProgress(subtask_name=run.subtask, progress=percent, replicated_bytes=p.bytes_done,
                           total_bytes=p.bytes_total, migrate_speed_mbps=round(p.speed_bps * 8 / 1_000_000, 3))
        try:
            await self._call(self.sms.report_progress, run.task_id, body)
        except CloudConflictError:
            log.info("progress for task %s refused: it is not running any more", run.task_id)

    async def report_progress(self, command_id: str, progress: Progress) -> None:
        run = self._running.get(command_id)
        if run is None:
            return
        if progress.done:
            run.done = progress  # sent after the consistency result (report_result)
            return
        if progress.bytes_total <= 0:
            return  # the total is still being counted: a percentage of nothing says nothing
        await self._progress(run, progress, min(99, int(progress.bytes_done * 100 / progress.bytes_total)))

    async def report_result(self, command_id: str, ok: bool, result: dict[str, Any]) -> None:
        from mgc_iac.cloud import ConsistencyResult

        run = self._running.pop(command_id, None)
        if run is None:
            return
        if ok and result.get("verify") is not None:
            checked = [ConsistencyResult(v["dir"], v["total"], v["different"], v["missing_on_target"],
                                         v["extra_on_target"]) for v in result["verify"]]
            await self._call(self.sms.report_consistency_result, run.task_id, checked)
        if ok and run.sms_name in ("START", "SYNC"):
            done = run.done or Progress("full", result.get("bytes_total", 0), result.get("bytes_total", 0), 0.0,
                                        done=True)
            await self._progress(run, done, 100)
        detail = {k: result[k] for k in ("error", "agent_gone", "files_transferred", "bytes_transferred",
                                         "files_total", "method") if k in result}
        await self._call(self.sms.report_command_result, self.source_id, run.sms_name, ok, detail)
        log.info("command %s %s: %s", run.sms_name, "done" if ok else "FAILED", detail)
