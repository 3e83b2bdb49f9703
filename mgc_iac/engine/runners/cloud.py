"""The StepRunner that does the work on a cloud (Huawei Cloud or the lab) through the providers.

Each step is an engine action (see providers/migration_task.py for the table): CreateTarget and the task
creation at the end of StartUpAgent go through the providers' create/update/read/delete; the other steps are
actions on the existing task. Every method is idempotent: the engine runs a step found RUNNING again.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from mgc_iac.engine.steps import StepContext, StepOutcome
from mgc_iac.errors import CloudError
from mgc_iac.graph import MIGRATION_TASK, NOTIFICATION, TARGET_SERVER
from mgc_iac.plan import Action, ResourceChange
from mgc_iac.state import ResourceRecord

if TYPE_CHECKING:
    from mgc_iac.engine.runners.agent import AgentSide
    from mgc_iac.ssh import MigrationHosts

# The image a target is created from when the workflow names none (the migration overwrites its disks).
# In the lab these ids exist when the seed declares them; on Huawei Cloud set MGC_IAC_DEFAULT_IMAGE_LINUX/_WINDOWS.
LAB_IMAGES = {"linux": "lab-image-linux", "windows": "lab-image-windows"}
TARGET_OUTPUTS = ("id", "server_name", "status", "private_ip", "public_ip", "volume_ids", "kms_key_id", "vpc_id",
                  "subnet_id", "security_group_id", "generation")
TASK_OUTPUTS = ("id", "source_id", "name", "state", "cleared")


def _olds(record: ResourceRecord, change: ResourceChange, cloud_config: dict[str, Any]) -> dict[str, Any]:
    """The provider's `olds`: the record, with what the cloud reported instead where the plan saw drift
    (change.before), so an update puts back what was changed outside mgc-iac."""
    before = change.before if change.action is Action.UPDATE else None
    return {**record.attrs, **(before or {}), **record.outputs, "cloud": cloud_config}


def _pick(values: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: values[k] for k in keys if k in values}


class CloudSteps:
    """Runs steps against the cloud described by `cloud_config` (mgc_iac.cloud.endpoint: no secret inside)."""

    def __init__(self, cloud_config: dict[str, Any], hosts: MigrationHosts | None = None) -> None:
        """`hosts` resolves sources and targets over SSH (mgc_iac.ssh.hosts); without it only sources with
        an `ssh:` block are reached, and the others use the lab's simulated agent."""
        self.cloud_config = dict(cloud_config)
        # lookups of named things (VPC, subnet, security group, KMS key), kept for this runner's apply
        self._lookups: dict[tuple[str, ...], Any] = {}
        self._hosts = hosts
        self._agents: AgentSide | None = None
        self._agents_guard = threading.Lock()
        self._fleet: Any = None

    @property
    def fleet(self) -> Any:
        """The apply's one reader of SMS task states (mgc_iac/cloud/_fleet.py), built on first use."""
        with self._agents_guard:
            if self._fleet is None:
                from mgc_iac.cloud import FleetReader, cloud_for

                self._fleet = FleetReader(cloud_for(self.cloud_config).sms)
            return self._fleet

    @staticmethod
    def _interval(ctx: StepContext) -> float:
        from mgc_iac.providers import poll_interval

        return poll_interval(ctx.spec, ctx.server.workflow)

    @staticmethod
    def _restart(ctx: StepContext) -> bool:
        """Run again from a safe point: after a stall (the watchdog failed it) or a `retry` (the copy SMS thinks
        runs is stopped and started again, so a lost command is sent again)."""
        previous = ctx.previous
        return bool(previous.get("stalled") or previous.get("rewound") == "retry")

    def _agent_side(self, ctx: StepContext) -> AgentSide:
        with self._agents_guard:  # steps of several servers ask at once, from the engine's worker threads
            if self._agents is None:
                from mgc_iac.engine.runners.agent import AgentSide
                from mgc_iac.ssh import MigrationHosts

                hosts = self._hosts or MigrationHosts(ctx.spec)
                self._agents = AgentSide(hosts, self.cloud_config)
            return self._agents

    # ---- helpers -------------------------------------------------------------------------------------------

    def _default_image(self, os_name: str) -> str | None:
        env = os.environ.get(f"MGC_IAC_DEFAULT_IMAGE_{os_name.upper()}")
        if env:
            return env
        return LAB_IMAGES.get(os_name) if self.cloud_config.get("provider") == "lab" else None

    def _target_props(self, stack: str, address: str, attrs: dict[str, Any], os_name: str,
                      generation: int, incarnation: str = "") -> dict[str, Any]:
        return {**attrs, "stack": stack, "address": address, "os": os_name, "generation": generation,
                "cloud": self.cloud_config, "image_default": self._default_image(os_name),
                **({"incarnation": incarnation} if incarnation else {})}

    def _task_props(self, stack: str, address: str, attrs: dict[str, Any], target_id: str) -> dict[str, Any]:
        return {**attrs, "stack": stack, "address": address, "cloud": self.cloud_config, "target_server_id": target_id}

    @staticmethod
    def _record(change: ResourceChange, attrs: dict[str, Any], outputs: dict[str, Any]) -> ResourceRecord:
        return ResourceRecord(change.address, change.kind, change.workflow, change.server, attrs, outputs)

    # ---- steps ---------------------------------------------------------------------------------------------

    def run_step(self, ctx: StepContext) -> StepOutcome:
        from mgc_iac.cloud import lookup_scope

        handler = getattr(self, f"_step_{ctx.step}", None)
        if handler is None:
            return StepOutcome({"note": f"{ctx.step}: nothing to do on the cloud"})
        with lookup_scope(self._lookups):
            return handler(ctx)

    def _step_CreateTarget(self, ctx: StepContext) -> StepOutcome:  # noqa: N802 - named after the step
        from mgc_iac.providers import TargetServerProvider

        provider = TargetServerProvider()
        change = ctx.changes[TARGET_SERVER]
        record = ctx.records.get(TARGET_SERVER)
        attrs = change.after or {}
        old_id = record.outputs.get("id") if record else None
        generation = int(record.outputs.get("generation") or 0) if record else 0
        task_change = ctx.changes.get(MIGRATION_TASK)
        # a source reachable over SSH is checked before any cloud resource exists (PrecheckFailed stops it)
        checked = self._agent_side(ctx).precheck(ctx, (task_change.after if task_change else None) or {})
        if old_id and change.action is Action.REPLACE:
            provider.delete(old_id, {**record.attrs, **record.outputs, "cloud": self.cloud_config})
            old_id, generation = None, generation + 1
        props = self._target_props(ctx.stack, change.address, attrs, ctx.server.os, generation, ctx.incarnation)
        if old_id and change.action is Action.UPDATE:
            outs = provider.update(old_id, _olds(record, change, self.cloud_config), props).outs
        elif old_id:
            outs = provider.read(old_id, {**props, **_pick(record.outputs, TARGET_OUTPUTS)}).outs
        else:
            created = provider.create(props)
            outs = created.outs
        outs = {**_pick(outs or {}, TARGET_OUTPUTS), "generation": generation}
        detail = {"server_id": outs.get("id"), "encrypted": bool(outs.get("kms_key_id")),
                  "private_ip": outs.get("private_ip"), "public_ip": outs.get("public_ip"), **(checked or {})}
        return StepOutcome(detail, [self._record(change, attrs, outs)])

    def _step_StartUpAgent(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        from mgc_iac.cloud import delete_sms_task
        from mgc_iac.engine.runners.sms_task import register_simulated_source
        from mgc_iac.providers import MigrationTaskProvider, create_task_for

        source = next(s for s in ctx.spec.get("sources", []) if s["name"] == ctx.server.server)
        target = ctx.records.get(TARGET_SERVER)
        if target is None or not target.outputs.get("id"):
            raise CloudError("the target server is not recorded: CreateTarget must run first", operation="StartUpAgent")
        change = ctx.changes[MIGRATION_TASK]
        attrs = change.after or {}
        # over SSH: rsync, the SMS-Agent on the source (it registers the source with SMS)
        agent = self._agent_side(ctx).start(ctx, attrs)
        source_id = agent["source_id"] if agent else register_simulated_source(self.cloud_config, source)
        provider = MigrationTaskProvider()
        record = ctx.records.get(MIGRATION_TASK)
        props = self._task_props(ctx.stack, change.address, attrs, target.outputs["id"])
        old_id = record.outputs.get("id") if record and not record.outputs.get("cleared") else None
        if old_id and change.action is Action.REPLACE:
            delete_sms_task(self.cloud_config, old_id, fleet=self.fleet, interval=self._interval(ctx))
            old_id = None
        if old_id and change.action is Action.UPDATE:
            outs = provider.update(old_id, {**record.attrs, **record.outputs, "cloud": self.cloud_config}, props).outs
        elif old_id:
            outs = provider.read(old_id, {**props, **_pick(record.outputs, TASK_OUTPUTS)}).outs
        else:
            # the registered source's id saves a list_servers; the first attempt need not look the task up by name
            outs = create_task_for(props, source_id=source_id, replay=ctx.attempt > 1)
            self.fleet.note(str(outs["id"]), str(outs["state"]))
        outs = _pick(outs or {}, TASK_OUTPUTS)
        outs.pop("cleared", None)
        detail = {**(agent or {"agent": "lab-simulated"}), "source_id": source_id, "task_id": outs.get("id")}
        return StepOutcome(detail, [self._record(change, attrs, outs)])

    def _task_id(self, ctx: StepContext) -> str:
        record = ctx.records.get(MIGRATION_TASK)
        if record is None or not record.outputs.get("id") or record.outputs.get("cleared"):
            raise CloudError("no migration task is recorded for this server: StartUpAgent must run first",
                             operation=ctx.step)
        return str(record.outputs["id"])

    def _step_StartMigration(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        from mgc_iac.engine.runners.sms_task import start_migration

        return StepOutcome(self._copy_step(ctx, start_migration))

    def _step_StartSynchronization(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        from mgc_iac.engine.runners.sms_task import synchronize

        return StepOutcome(self._copy_step(ctx, synchronize))

    def _copy_step(self, ctx: StepContext, operation: Any) -> dict[str, Any]:
        """Start/sync the task and wait, watching the agent on the source: an agent that is gone fails the step with
        the Retry / Full Retry advice instead of waiting for it."""
        from mgc_iac.engine.runners.agent import AgentGoneError, retry_advice
        from mgc_iac.engine.runners.sms_task import AgentDisconnectedError

        task_id = self._task_id(ctx)
        agents = self._agent_side(ctx)
        alive = agents.ensure_agent(ctx)
        try:
            return operation(self.cloud_config, task_id, ctx.cancel, agent_alive=alive, on_progress=ctx.progress,
                             fleet=self.fleet, interval=self._interval(ctx), restart=self._restart(ctx))
        except AgentDisconnectedError as exc:
            raise AgentGoneError(f"{retry_advice(ctx, ctx.server.server)} ({exc})") from exc
        except CloudError as exc:
            if alive is not None and (agents.gone(ctx) or "agent_gone" in str(exc)):
                raise AgentGoneError(f"{retry_advice(ctx, ctx.server.server)} ({exc})") from exc
            raise

    def _step_VerifyConsistency(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        """mgc-iac's own verification where this machine reaches source and target over SSH; else what SMS's
        agent checked (its documented quick check: size and mtime), labelled as such: `verification.engine`."""
        from mgc_iac.engine.runners.sms_task import VerificationFailedError, verify

        task_id = self._task_id(ctx)
        record = ctx.records.get(MIGRATION_TASK)
        attrs = dict(record.attrs) if record is not None else {}
        ours = self._agent_side(ctx).verify(ctx, attrs)
        if ours is not None:
            return StepOutcome(ours)
        policy = attrs.get("verify") or {}
        label = {"engine": "huawei-sms", "by": "the SMS-Agent's own consistency check", "mode": "size_mtime"}
        if policy.get("hash") or policy.get("exclude_paths"):
            label["not_applied"] = ("hash and exclude_paths are mgc-iac's own verification, which needs SSH to the "
                                    "source and the target; SMS's check has no documented option for them")
        try:
            out = verify(self.cloud_config, task_id)
        except VerificationFailedError as exc:
            exc.step_detail["verification"] = {**label, **exc.step_detail.get("verification", {})}
            raise
        out["verification"] = {**label, **out["verification"]}
        return StepOutcome(out)

    # ---- test launch and automated checks (issue 23: runners/test_launch.py, checks.py) -------------

    @staticmethod
    def _workflow(ctx: StepContext) -> dict[str, Any]:
        return next((w for w in ctx.spec.get("workflows", []) if w.get("name") == ctx.server.workflow), {})

    def _step_TestLaunch(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        from mgc_iac.engine.runners.test_launch import launch_clone, launch_target

        task_id = self._task_id(ctx)
        if self._workflow(ctx).get("test_launch") == "clone":
            return StepOutcome(launch_clone(self.cloud_config, task_id, ctx.cancel))
        target = ctx.records[TARGET_SERVER]
        return StepOutcome(launch_target(self.cloud_config, task_id, str(target.outputs["id"]), ctx.cancel))

    def _step_TestCleanup(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        from mgc_iac.engine.runners.sms_task import synchronize
        from mgc_iac.engine.runners.test_launch import delete_clone

        if self._workflow(ctx).get("test_launch") == "clone":
            return StepOutcome(delete_clone(self.cloud_config, self._task_id(ctx), ctx.cancel))
        # the test of the target ends: its synchronization resumes and brings it back in line with the source
        return StepOutcome({"resumed_sync": self._copy_step(ctx, synchronize)})

    def run_checks(self, ctx: StepContext, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The workflow's checks against the instance the gate is about: the clone (TestValidation of a clone
        test) or the target (TestValidation of a target test, BusinessValidation)."""
        from mgc_iac.cloud import cloud_for
        from mgc_iac.engine.runners.checks import run_checks
        from mgc_iac.engine.schedule import not_run
        from mgc_iac.errors import CloudNotFoundError

        instance = None
        if ctx.step == "TestValidation" and self._workflow(ctx).get("test_launch") == "clone":
            clone = cloud_for(self.cloud_config).sms.show_task(self._task_id(ctx)).clone
            if clone is not None:
                try:
                    server = cloud_for(self.cloud_config).ecs.show_server(clone.vm_id)
                except CloudNotFoundError:  # deleted in the console while the gate waited: nothing to check on
                    return not_run(checks, f"the clone {clone.name} ({clone.vm_id}) no longer exists (deleted "
                                   "outside mgc-iac); check the target otherwise, then approve with "
                                   "--override-checks")
                instance = (clone.name or server.name, server)
        if instance is None:
            target = ctx.records.get(TARGET_SERVER)
            if target is not None and target.outputs.get("id"):
                server = cloud_for(self.cloud_config).ecs.show_server(str(target.outputs["id"]))
                instance = (server.name, server)
        if instance is None:
            return run_checks(checks, None, None, "the instance (none is recorded)")
        name, server = instance
        ip = server.private_ips[0] if server.private_ips else None
        public = (self._workflow(ctx).get("network") or {}).get("type", "public") == "public"
        login_ip = (server.public_ips[0] if public and server.public_ips else ip)
        host = self._agent_side(ctx).hosts.instance(name, login_ip, (self._workflow(ctx).get("validation") or {})
                                                    .get("ssh"))
        return run_checks(checks, host, ip, f"{name}")

    def _step_Cutover(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        from mgc_iac.engine.runners.sms_task import cutover

        target = ctx.records[TARGET_SERVER]
        start = bool(target.attrs.get("start_after_migration", True))
        return StepOutcome(cutover(self.cloud_config, self._task_id(ctx), target.outputs["id"], start, ctx.cancel,
                                   fleet=self.fleet, interval=self._interval(ctx)))

    def _step_SourceClear(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        from mgc_iac.engine.runners.sms_task import clear_source

        detail = clear_source(self.cloud_config, self._task_id(ctx), ctx.cancel, fleet=self.fleet,
                              interval=self._interval(ctx))  # SMS tells the agent CLEAR
        agent = self._agent_side(ctx).clear(ctx)  # the SMS-Agent is stopped and removed from the source
        return StepOutcome({**detail, **(agent or {})})

    def _step_MigrationTaskClear(self, ctx: StepContext) -> StepOutcome:  # noqa: N802
        from mgc_iac.cloud import delete_sms_task

        record = ctx.records.get(MIGRATION_TASK)
        if record is None:
            return StepOutcome({"note": "no task recorded"})
        if not record.outputs.get("cleared"):
            delete_sms_task(self.cloud_config, str(record.outputs["id"]), ctx.cancel, fleet=self.fleet,
                        interval=self._interval(ctx))
        kept = ResourceRecord(record.address, record.kind, record.workflow, record.server, record.attrs,
                              {**record.outputs, "cleared": True})
        return StepOutcome({"task_id": record.outputs.get("id"), "deleted": True}, [kept])

    # ---- resources outside steps ---------------------------------------------------------------------------

    def apply_resource(self, stack: str, change: ResourceChange, record: ResourceRecord | None,
                       spec: dict[str, Any]) -> ResourceRecord | None:
        if change.action is Action.FORGET:
            return None
        if change.kind == NOTIFICATION:
            from mgc_iac.providers import NotificationProvider

            if change.action is Action.DELETE:
                return None
            props = {**(change.after or {}), "stack": stack, "address": change.address, "cloud": self.cloud_config}
            outs = NotificationProvider().create(props).outs or {}
            return self._record(change, change.after or {}, {"topic_name": outs.get("topic_name")})
        if change.kind == TARGET_SERVER and record is not None:
            from mgc_iac.providers import TargetServerProvider

            old = _olds(record, change, self.cloud_config)
            if change.action is Action.DELETE:
                if record.outputs.get("id"):
                    TargetServerProvider().delete(record.outputs["id"], old)
                return None
            server = change.server or ""
            os_name = next((s["os"] for s in spec.get("sources", []) if s["name"] == server), "linux")
            props = self._target_props(stack, change.address, change.after or {}, os_name,
                                       int(record.outputs.get("generation") or 0))
            outs = TargetServerProvider().update(record.outputs["id"], old, props).outs or {}
            return self._record(change, change.after or {}, {**record.outputs, **_pick(outs, TARGET_OUTPUTS)})
        if change.kind == MIGRATION_TASK and record is not None:
            from mgc_iac.cloud import delete_sms_task
            from mgc_iac.providers import MigrationTaskProvider, poll_interval

            cleared = bool(record.outputs.get("cleared"))
            if change.action is Action.DELETE:
                if not cleared and record.outputs.get("id"):
                    delete_sms_task(self.cloud_config, str(record.outputs["id"]), fleet=self.fleet,
                                    interval=poll_interval(spec, change.workflow))
                return None
            if cleared:
                return self._record(change, change.after or {}, record.outputs)
            target_id = str(record.outputs.get("target_server_id") or "")
            props = self._task_props(stack, change.address, change.after or {}, target_id)
            outs = MigrationTaskProvider().update(str(record.outputs["id"]), {**record.attrs, **record.outputs,
                                                                              "cloud": self.cloud_config}, props).outs
            return self._record(change, change.after or {}, {**record.outputs, **_pick(outs or {}, TASK_OUTPUTS)})
        return None if change.action is Action.DELETE else record

    def notify(self, spec: dict[str, Any], workflow: str, subject: str, message: str) -> bool:
        from mgc_iac.providers import publish

        wf = next((w for w in spec.get("workflows", []) if w.get("name") == workflow), {})
        note = (wf.get("advanced") or {}).get("notifications")
        if not note:
            return False
        publish(self.cloud_config, note["topic_urn"], subject, message)
        return True
