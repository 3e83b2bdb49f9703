"""SMN notifications for workflow events, and the providers' Pulumi contract (picklable, diff by the shared
replace rules)."""

from __future__ import annotations

import pickle

import yaml

from mgc_iac.cloud import LabControl
from mgc_iac.engine import CloudSteps
from mgc_iac.providers import PROVIDERS, MigrationTaskProvider, TargetServerProvider

from .helpers import apply, approve_waiting


def _notify(stack_dir, project_id: str, language: str = "en-us") -> str:
    urn = f"urn:smn:cn-north-4:{project_id}:migration-events"
    path = stack_dir / "workflows.yaml"
    data = yaml.safe_load(path.read_text())
    data["workflows"][0]["advanced"]["notifications"] = {"topic_urn": urn, "language": language,
                                                         "on": ["succeeded", "manual_checkpoint"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return urn


def test_workflow_events_are_published_to_its_topic(stack_dir, store, cloud_cfg, lab, cloud):
    urn = _notify(stack_dir, lab.endpoint.project_id)
    result, hooks = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3
    assert store.snapshot("demo").resources["shop-wave-1/notification"].outputs == {"topic_name": "migration-events"}
    messages = LabControl(cloud.settings).messages()
    assert [m["topic_urn"] for m in messages] == [urn]
    assert "waiting for manual confirmation" in messages[0]["subject"]
    assert "shop-wave-1/web-01/BusinessValidation" in messages[0]["message"]
    assert result.approve_digest in messages[0]["message"]  # the digest an approver needs

    apply(stack_dir, store, CloudSteps(cloud_cfg))  # still waiting: no second message
    assert len(LabControl(cloud.settings).messages()) == 1

    approve_waiting(stack_dir, store)
    assert apply(stack_dir, store, CloudSteps(cloud_cfg))[0].exit_code == 3  # now at Cutover
    approve_waiting(stack_dir, store)
    assert apply(stack_dir, store, CloudSteps(cloud_cfg))[0].exit_code == 0
    subjects = [m["subject"] for m in LabControl(cloud.settings).messages()]
    assert subjects[-1] == "[mgc-iac] shop-wave-1: migration succeeded"
    assert len(subjects) == 3, subjects  # BusinessValidation waits, Cutover waits, succeeded: each once


def test_providers_are_stateless_and_picklable():
    for cls in PROVIDERS.values():
        provider = cls()
        assert pickle.loads(pickle.dumps(provider)).__class__ is cls
        assert vars(provider) == {}


def test_diff_uses_the_shared_replace_rules():
    old = {"name": "web-01-hw", "encryption": {"enabled": False}, "tags": {"a": "1"}, "disks": [
        {"device": "/dev/vda", "size_gb": 40}], "cloud": {"provider": "lab"}}
    tags_only = {**old, "tags": {"a": "2"}, "cloud": {"provider": "lab", "url": "http://other"}}
    diff = TargetServerProvider().diff("id", old, tags_only)
    assert diff.changes and diff.replaces == []
    encrypted = {**old, "encryption": {"enabled": True, "key_alias": "k"}}
    assert TargetServerProvider().diff("id", old, encrypted).replaces == ["encryption"]
    task = {"source_mac": "fa:16:3e:00:00:01", "os": "linux", "migration_port": 22}
    assert MigrationTaskProvider().diff("t", task, {**task, "migration_port": 10022}).replaces == []
    assert MigrationTaskProvider().diff("t", task, {**task, "os": "windows"}).replaces == ["os"]


def test_check_reports_failures_as_data():
    result = TargetServerProvider().check({}, {"name": "x", "encryption": {"enabled": True}})
    assert {f.property for f in result.failures} >= {"vpc", "subnet", "flavor", "encryption", "disks"}
