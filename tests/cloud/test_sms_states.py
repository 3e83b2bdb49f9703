"""mgc_iac.cloud.sms_states: every state SMS documents has a meaning for every step, and only those.

The documented lists are read from the SDK 3.1.219 docstrings themselves (ListTasksRequest.state,
ShowTaskResponse.state, ShowServerResponse.state), so a state Huawei adds to the SDK fails this test until
sms_states says what it means."""

from __future__ import annotations

import re

import pytest

from mgc_iac.cloud import SubTask, Task, sms_states


def _documented(model: str, attribute: str, pattern: str) -> set[str]:
    import huaweicloudsdksms.v3 as sms

    doc = getattr(getattr(sms, model), attribute).__doc__ or ""
    return set(re.findall(pattern, doc.split(":return")[0]))


TASK_STATES = (_documented("ListTasksRequest", "state", r"\b[A-Z][A-Z_]{3,}\b")
               | _documented("ShowTaskResponse", "state", r"\b[A-Z][A-Z_]{3,}\b"))
SOURCE_STATES = _documented("ShowServerResponse", "state", r"\b([a-z]+)：")


def _task(state: str, source_state: str = "", subs: tuple[SubTask, ...] = (), connected: bool | None = True,
          cycle: str = "") -> Task:
    return Task(id="t", name="n", state=state, source_id="s", target_server_id="v", source_state=source_state,
                sub_tasks=subs, connected=connected, migration_cycle=cycle)


def test_the_sdk_documents_the_states_sms_states_knows() -> None:
    assert {"READY", "RUNNING", "SYNCING", "MIGRATE_SUCCESS", "SYNC_F_ROLLBACK_SUCCESS"} <= TASK_STATES
    assert set(sms_states.TASK_STATES) == TASK_STATES
    assert {"waiting", "clearfailed", "error", "finished"} <= SOURCE_STATES
    assert set(sms_states.SOURCE_STATES) >= SOURCE_STATES


@pytest.mark.parametrize("state", sorted(sms_states.TASK_STATES))
@pytest.mark.parametrize("source_state", ["", *sorted(sms_states.SOURCE_STATES)])
def test_every_documented_state_has_a_reading_for_every_step(state: str, source_state: str) -> None:
    task = _task(state, source_state)
    for reading in (sms_states.migration(task), sms_states.synchronization(task, 0), sms_states.cutover(task),
                    sms_states.clear(task)):
        assert reading.verdict in ("wait", "done", "failed") and reading.reason
    assert sms_states.deletable(task) in (True, False)


def test_an_undocumented_state_is_an_error_naming_it() -> None:
    for reader in (sms_states.migration, lambda t: sms_states.synchronization(t, 0), sms_states.cutover,
                   sms_states.clear, sms_states.deletable):
        with pytest.raises(sms_states.UnknownStateError, match="'PAUSED'"):
            reader(_task("PAUSED"))
        with pytest.raises(sms_states.UnknownStateError, match="'rebooting'"):
            reader(_task("RUNNING", "rebooting"))


def test_failure_states_end_each_step_at_once() -> None:
    assert sms_states.migration(_task("MIGRATE_FAIL")).failed
    assert sms_states.migration(_task("RUNNING", "error")).failed
    assert sms_states.synchronization(_task("SYNC_FAIL"), 0).failed
    assert sms_states.synchronization(_task("SYNC_F_ROLLBACK_SUCCESS"), 0).failed
    assert sms_states.cutover(_task("SYNCING", "error", cycle="cutovering")).failed     # error wins over the cycle
    assert sms_states.clear(_task("MIGRATE_SUCCESS", "clearfailed")).failed
    assert sms_states.clear(_task("MIGRATE_SUCCESS", "error")).failed
    assert sms_states.cutover(_task("SYNCING", "cutovering")).verdict == "wait"
    assert sms_states.clear(_task("MIGRATE_SUCCESS", "clearing")).verdict == "wait"


def test_converged_needs_a_finished_round_that_began_after_the_step() -> None:
    old = SubTask("SYNC_LINUX_FILE", 100, start_ms=1000, end_ms=2000)
    running = SubTask("SYNC_LINUX_FILE", 40, start_ms=3000)
    finished = SubTask("SYNC_LINUX_FILE", 100, start_ms=3000, end_ms=4000)
    full = SubTask("MIGRATE_LINUX_FILE", 100, start_ms=5000, end_ms=6000)
    baseline = sms_states.sync_baseline(_task("SYNCING", subs=(full, old)))
    assert baseline == 1000
    assert not sms_states.synchronization(_task("SYNCING", "syncing", (full, old)), baseline).done
    assert not sms_states.synchronization(_task("SYNCING", "syncing", (full, running)), baseline).done
    assert sms_states.synchronization(_task("SYNCING", "syncing", (full, finished)), baseline).done
    assert sms_states.synchronization(_task("SYNC_SUCCESS", "syncing", (finished,)), baseline).done
    assert not sms_states.synchronization(_task("SYNC_SUCCESS", "syncing", (old,)), baseline).done   # stale


@pytest.mark.parametrize(("state", "source_state", "connected", "deletable"), [
    ("RUNNING", "replicate", True, False), ("SYNCING", "syncing", True, False),
    ("RUNNING", "replicate", False, True),                 # the agent is disconnected
    ("RUNNING", "replicate", None, False),                 # list_tasks does not say: only the state decides
    ("READY", "waiting", True, True), ("ABORT", "stopped", True, True), ("MIGRATE_FAIL", "error", True, True),
    ("MIGRATE_SUCCESS", "finished", True, True), ("SYNCING", "unavailable", True, True),
    ("ABORTING", "stopping", False, False), ("DELETING", "deleting", True, False)])
def test_deletable_follows_delete_tasks_rule(state: str, source_state: str, connected: bool | None,
                                             deletable: bool) -> None:
    assert sms_states.deletable(_task(state, source_state, connected=connected)) is deletable
