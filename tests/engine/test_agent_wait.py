"""The engine's wait on a running SMS task never hangs on an agent that is gone: SMS's `connected` flag (its
heartbeat window, a lab setting here) or the agent's liveness on the source end it with AgentDisconnectedError."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from mgc_iac.cloud import LabControl
from mgc_iac.engine.runners.sms_task import AgentDisconnectedError, start_migration
from mgc_iac.providers.migration_task import task_configuration


def _task(cloud: Any) -> str:
    from mgc_iac.lab.testing import lab_task

    return lab_task(cloud)[1]


def test_a_silent_agent_ends_the_wait_when_sms_sees_it_disconnected(cloud: Any, cloud_cfg: dict[str, Any]) -> None:
    LabControl(cloud.settings).update_settings(instant_transfers=False, agent_timeout_seconds=0.5)
    task_id = _task(cloud)  # registered, then no agent ever polls again
    started = time.monotonic()
    with pytest.raises(AgentDisconnectedError, match="disconnected"):
        start_migration(cloud_cfg, task_id, threading.Event(), interval=1.0)   # the lab: a read a second
    assert time.monotonic() - started < 10
    assert cloud.sms.show_task(task_id).state == "RUNNING"  # the task waits for a Retry or a Full Retry


def test_an_agent_gone_from_the_source_ends_the_wait_at_once(cloud: Any, cloud_cfg: dict[str, Any]) -> None:
    LabControl(cloud.settings).update_settings(instant_transfers=False)  # SMS still sees it connected (90 s)
    task_id = _task(cloud)
    with pytest.raises(AgentDisconnectedError):
        start_migration(cloud_cfg, task_id, threading.Event(), agent_alive=lambda: False, interval=1.0)


def test_the_task_configuration_sends_only_documented_keys_and_values_to_the_agent() -> None:
    """SDK ConfigBody names CONSISTENCY_MODE but documents no value for it, and no exclude syntax inside
    CONSISTENCY_DIR (huawei-behaviour.md): neither is sent. Hash and verification excludes are mgc-iac's own
    verification (VerifyConsistency over SSH); the agent gets only the directories of its quick check."""
    props = {"migration_port": 22, "verify": {"enabled": True, "hash": True, "include_paths": ["/srv", "/data"],
                                              "exclude_paths": ["/data/tmp"]}}
    config = task_configuration(props)
    assert config == {"DYNAMIC_PORT": "22", "MIGRATE_EXCLUDE_DIR": "", "SYNC_EXCLUDE_DIR": "",
                      "CONSISTENCY_DIR": "/srv,/data"}
    assert "CONSISTENCY_MODE" not in config and "!" not in "".join(config.values())
    # a verification exclude is never a copy exclude (the page's Table 2: it only narrows the verification)
    copy = task_configuration({**props, "copy_exclude_paths": ["/var/cache", "/scratch"]})
    assert copy["MIGRATE_EXCLUDE_DIR"] == copy["SYNC_EXCLUDE_DIR"] == "/var/cache,/scratch"
    off = task_configuration({"verify": {"enabled": False, "include_paths": ["/srv"]}})
    assert off["CONSISTENCY_DIR"] == ""
    assert task_configuration({"verify": {"enabled": True}})["CONSISTENCY_DIR"] == "/"  # the whole copy


def test_verify_refuses_a_verification_that_compared_no_file() -> None:
    """VerifyConsistency fails with "nothing compared" when every checked directory held 0 files. SMS's answer is
    faked (a fault on demand): the e2e demo proves real counts from the lab agent."""
    import pytest

    from mgc_iac.cloud._types import ConsistencyResult
    from mgc_iac.engine.runners import sms_task

    class _Sms:
        def __init__(self, rows):
            self.rows = rows

        def consistency_result(self, _task_id):
            return self.rows

    class _Cloud:
        def __init__(self, rows):
            self.sms = _Sms(rows)

    empty = [ConsistencyResult("/srv", 0), ConsistencyResult("/data", 0)]
    original = sms_task.cloud_for
    try:
        sms_task.cloud_for = lambda _cfg: _Cloud(empty)
        with pytest.raises(sms_task.VerificationFailedError, match="nothing compared") as failed:
            sms_task.verify({}, "task-1")
        assert failed.value.step_detail["verification"]["clean"] is False
        # one directory empty on this source (the demo's db-01 has no /srv): the others were compared
        half = [ConsistencyResult("/srv", 0), ConsistencyResult("/data", 5)]
        sms_task.cloud_for = lambda _cfg: _Cloud(half)
        assert sms_task.verify({}, "task-1")["verification"]["clean"] is True
        sms_task.cloud_for = lambda _cfg: _Cloud([ConsistencyResult("/srv", 5)])
        assert sms_task.verify({}, "task-1")["verification"]["clean"] is True
    finally:
        sms_task.cloud_for = original
