"""Every provider's full lifecycle through Pulumi's own dynamic-provider host (`python -u -m pulumi.dynamic`)
over gRPC, against the lab: Configure -> Check -> Create -> Diff -> Update -> Read -> Delete, with
`__provider` serialized as Pulumi serializes it and the engine's inputs (mgc_iac.engine.runners.cloud).

What crosses the wire is what the Pulumi engine sends: property maps as protobuf Structs (so every number
comes back a float), namespaced config keys, plain values (the host does not accept secrets).
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from mgc_iac.engine.runners.cloud import CloudSteps
from mgc_iac.errors import CloudNotFoundError
from mgc_iac.graph import build_graph
from mgc_iac.providers import MigrationTaskProvider, NotificationProvider, TargetServerProvider
from mgc_iac.stack.loader import load_stack

PROJECT = "mgc-iac"
WEB = "shop-wave-1/web-01"
TARGET = f"{WEB}/target_server"
TASK = f"{WEB}/migration_task"


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update({k: v for k, v in props.items() if v is not None})
    return struct


def _plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


def _urn(type_name: str, name: str) -> str:
    return f"urn:pulumi:dev::{PROJECT}::pulumi-python:dynamic/mgc:{type_name}::{name}"


class Lifecycle:
    """One resource driven through the host the way the Pulumi engine drives it."""

    def __init__(self, host: Any, type_name: str, name: str, provider: Any) -> None:
        self.stub = host.stub
        self.urn = _urn(type_name, name)
        self.serialized = serialize_provider(provider)
        self.stub.Configure(provider_pb2.ConfigureRequest(
            variables={f"{PROJECT}:stack": "stacks/demo"}, args=_struct({f"{PROJECT}:stack": "stacks/demo"})))

    def props(self, values: dict[str, Any]) -> struct_pb2.Struct:
        return _struct({**values, "__provider": self.serialized})

    def check(self, news: dict[str, Any], olds: dict[str, Any] | None = None) -> Any:
        return self.stub.Check(provider_pb2.CheckRequest(urn=self.urn, olds=_struct(olds or {}),
                                                         news=self.props(news)))

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        checked = self.check(inputs)
        assert list(checked.failures) == []
        reply = self.stub.Create(provider_pb2.CreateRequest(urn=self.urn, properties=checked.inputs))
        return reply.id, _plain(reply.properties)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return self.stub.Diff(provider_pb2.DiffRequest(id=id_, urn=self.urn, olds=_struct(olds),
                                                       news=self.props(news)))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        reply = self.stub.Update(provider_pb2.UpdateRequest(id=id_, urn=self.urn, olds=_struct(olds),
                                                            news=self.props(news)))
        return _plain(reply.properties)

    def read(self, id_: str, outputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        reply = self.stub.Read(provider_pb2.ReadRequest(id=id_, urn=self.urn, properties=_struct(outputs)))
        return reply.id, _plain(reply.properties)

    def delete(self, id_: str, outputs: dict[str, Any]) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(id=id_, urn=self.urn, properties=_struct(outputs)))


@pytest.fixture
def demo(demo_dir) -> Any:
    loaded = load_stack(demo_dir)
    return loaded, build_graph(loaded.stack)


def _source(loaded: Any, name: str) -> dict[str, Any]:
    return next(s for s in loaded.canonical["sources"] if s["name"] == name)


def _target_inputs(cloud_cfg: dict[str, Any], graph: Any) -> dict[str, Any]:
    return CloudSteps(cloud_cfg)._target_props(graph.stack, TARGET, graph.resources[TARGET].attrs, "linux", 0)


def test_target_server_lifecycle_under_the_pulumi_host(host, cloud_cfg, cloud, demo) -> None:
    _, graph = demo
    life = Lifecycle(host, "TargetServer", TARGET, TargetServerProvider())
    inputs = _target_inputs(cloud_cfg, graph)

    failures = life.check({**inputs, "flavor": None}).failures
    assert [(f.property, f.reason) for f in failures] == [("flavor", "is required")]

    server_id, outs = life.create(inputs)
    server = cloud.ecs.show_server(server_id)
    assert (server.name, server.flavor) == ("web-01-hw", "s6.large.2")
    assert server.tags == {"app": "shop", "owner": "platform"}
    key = cloud.kms.describe_key("shop-disk-key")
    assert all(cloud.evs.show_volume(v).kms_key_id == key.key_id for v in server.volume_ids)
    assert outs["id"] == server_id and outs["kms_key_id"] == key.key_id
    assert outs["__provider"] == life.serialized
    assert outs["disks"] == [{"device": "/dev/vda", "size_gb": 40.0}]
    assert isinstance(outs["generation"], float)  # protobuf Struct: every number is a float

    retagged = {**inputs, "tags": {**inputs["tags"], "owner": "migration-team"}}
    diff = life.diff(server_id, outs, retagged)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    rekeyed = {**inputs, "encryption": {"enabled": True, "key_alias": "evs/default"}}
    diff = life.diff(server_id, outs, rekeyed)
    assert list(diff.replaces) == ["encryption"] and diff.deleteBeforeReplace

    outs = life.update(server_id, outs, retagged)  # olds carry floats: the provider copes
    assert cloud.ecs.show_server(server_id).tags["owner"] == "migration-team"
    assert outs["tags"]["owner"] == "migration-team"

    read_id, read = life.read(server_id, outs)
    assert read_id == server_id and read["status"] == "ACTIVE" and read["volume_ids"] == outs["volume_ids"]

    life.delete(server_id, read)
    with pytest.raises(CloudNotFoundError):
        cloud.ecs.show_server(server_id)
    life.delete(server_id, read)  # deleting what is gone succeeds (a retried destroy)


def test_migration_task_lifecycle_under_the_pulumi_host(host, cloud_cfg, cloud, demo) -> None:
    from mgc_iac.engine.runners.sms_task import register_simulated_source

    loaded, graph = demo
    target = Lifecycle(host, "TargetServer", TARGET, TargetServerProvider())
    server_id, _ = target.create(_target_inputs(cloud_cfg, graph))
    source_id = register_simulated_source(cloud_cfg, _source(loaded, "web-01"))  # what StartUpAgent does
    life = Lifecycle(host, "MigrationTask", TASK, MigrationTaskProvider())
    inputs = CloudSteps(cloud_cfg)._task_props(graph.stack, TASK, graph.resources[TASK].attrs, server_id)

    failures = life.check({**inputs, "migration_port": 80}).failures
    assert [f.property for f in failures] == ["migration_port"]

    task_id, outs = life.create(inputs)
    task = cloud.sms.show_task(task_id)
    assert (task.source_id, task.target_server_id) == (source_id, server_id)
    assert outs["source_id"] == source_id and outs["state"] == task.state
    assert [(s.start, s.end, s.speed_mbps) for s in cloud.sms.speed_limits(task_id)] == [("00:00", "23:59", 200)]

    slower = {**inputs, "bandwidth_limit_mbps": 50}
    diff = life.diff(task_id, outs, slower)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    other_source = {**inputs, "source_mac": "fa:16:3e:00:00:02"}
    assert list(life.diff(task_id, outs, other_source).replaces) == ["source_mac"]

    outs = life.update(task_id, outs, slower)
    assert [s.speed_mbps for s in cloud.sms.speed_limits(task_id)] == [50]

    read_id, read = life.read(task_id, outs)
    assert read_id == task_id and read["state"] == cloud.sms.show_task(task_id).state

    life.delete(task_id, read)
    assert all(t.id != task_id for t in cloud.sms.list_tasks())


def test_notification_lifecycle_under_the_pulumi_host(host, cloud_cfg, lab) -> None:
    urn = f"urn:smn:{lab.endpoint.region}:{lab.endpoint.project_id}:migration-events"
    address = "shop-wave-1/notification"
    life = Lifecycle(host, "Notification", address, NotificationProvider())
    inputs = {"topic_urn": urn, "language": "en-us", "on": ["failed", "succeeded"], "stack": "demo",
              "address": address, "cloud": cloud_cfg}

    assert [f.property for f in life.check({**inputs, "topic_urn": ""}).failures] == ["topic_urn"]
    id_, outs = life.create(inputs)
    assert id_ == address and outs["topic_name"] == "migration-events"

    chinese = {**inputs, "language": "zh-cn"}
    assert life.diff(id_, inputs, chinese).changes == provider_pb2.DiffResponse.DIFF_SOME
    assert life.update(id_, outs, chinese)["language"] == "zh-cn"
    assert life.read(id_, outs) == (id_, outs)
    life.delete(id_, outs)

    with pytest.raises(grpc.RpcError) as failed:  # a provider exception: gRPC UNKNOWN with the traceback
        life.create({**inputs, "topic_urn": urn.replace("migration-events", "no-such-topic")})
    assert failed.value.code() == grpc.StatusCode.UNKNOWN and "no-such-topic" in failed.value.details()


def test_the_migration_port_reaches_the_task_as_an_integer(host, cloud_cfg, cloud, demo) -> None:
    """The host turns 22 into 22.0; SMS's DYNAMIC_PORT must still read "22"."""
    from mgc_iac.engine.runners.sms_task import register_simulated_source

    loaded, graph = demo
    server_id, _ = Lifecycle(host, "TargetServer", TARGET, TargetServerProvider()).create(
        _target_inputs(cloud_cfg, graph))
    register_simulated_source(cloud_cfg, _source(loaded, "web-01"))
    life = Lifecycle(host, "MigrationTask", TASK, MigrationTaskProvider())
    inputs = CloudSteps(cloud_cfg)._task_props(graph.stack, TASK, graph.resources[TASK].attrs, server_id)
    task_id, _ = life.create(inputs)
    assert cloud.sms.configuration(task_id)["DYNAMIC_PORT"] == "22"


def test_an_unchanged_resource_shows_no_diff_under_pulumi(host, cloud_cfg, lab, demo) -> None:
    """Pulumi diffs the new inputs against the old *outputs*: unchanged inputs must give DIFF_NONE, or every
    `pulumi preview` shows every server and task as changing."""
    from mgc_iac.engine.runners.sms_task import register_simulated_source

    loaded, graph = demo
    urn = f"urn:smn:{lab.endpoint.region}:{lab.endpoint.project_id}:migration-events"
    target = Lifecycle(host, "TargetServer", TARGET, TargetServerProvider())
    target_inputs = _target_inputs(cloud_cfg, graph)
    server_id, target_outs = target.create(target_inputs)
    register_simulated_source(cloud_cfg, _source(loaded, "web-01"))
    task = Lifecycle(host, "MigrationTask", TASK, MigrationTaskProvider())
    task_inputs = CloudSteps(cloud_cfg)._task_props(graph.stack, TASK, graph.resources[TASK].attrs, server_id)
    note = Lifecycle(host, "Notification", "shop-wave-1/notification", NotificationProvider())
    note_inputs = {"topic_urn": urn, "language": "en-us", "on": ["failed"], "stack": "demo",
                   "address": "shop-wave-1/notification", "cloud": cloud_cfg}
    created = [(target, server_id, target_outs, target_inputs), (task, *task.create(task_inputs), task_inputs),
               (note, *note.create(note_inputs), note_inputs)]
    changed = [life.urn.rsplit("::", 1)[1] for life, id_, outs, inputs in created
               if life.diff(id_, outs, inputs).changes != provider_pb2.DiffResponse.DIFF_NONE]
    assert changed == []
