"""A lab for tests of any part of mgc-iac: `with running_lab(tmp_path) as lab: Cloud(lab.settings)...`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgc_iac.data import demo_stack
from mgc_iac.lab.process import LabEndpoint, LabServer

DEMO_SEED = demo_stack() / "lab-seed.yaml"


@dataclass
class RunningLab:
    server: LabServer
    endpoint: LabEndpoint
    settings: Any                      # mgc_iac.cloud.CloudSettings pointed at this lab

    @property
    def store(self) -> Any:
        assert self.server.lab is not None
        return self.server.lab.store


@contextmanager
def running_lab(state_dir: Path, seed: Path | None = DEMO_SEED, *, job_seconds: float = 0.0,
                instant_transfers: bool = False, transition_seconds: float | None = None,
                **settings: Any) -> Iterator[RunningLab]:
    """Serve a lab from a thread of this process on a free loopback port, stop it on exit."""
    from mgc_iac.cloud import CloudSettings, LabControl

    server = LabServer(Path(state_dir), seed)
    endpoint = server.start()
    try:
        cloud_settings = CloudSettings.for_lab(endpoint, **settings)
        LabControl(cloud_settings).update_settings(job_seconds=job_seconds, instant_transfers=instant_transfers,
                                                   transition_seconds=transition_seconds)
        yield RunningLab(server, endpoint, cloud_settings)
    finally:
        server.stop()


def lab_task(cloud: Any, name: str = "web-01", mac: str = "fa:16:3e:00:00:01",
             used_gb: int = 12) -> tuple[str, str, str]:
    """A registered source, its ECS target (root + data disk, an EIP) and a complete SMS task onto it, as the
    provider builds it (target disks from the source's disks, migration_ip the target's EIP):
    (source_id, task_id, target_server_id)."""
    source, request, target = lab_task_request(cloud, name, mac, used_gb)
    return source, cloud.sms.create_task(request), target


def lab_task_request(cloud: Any, name: str = "web-01", mac: str = "fa:16:3e:00:00:01",
                     used_gb: int = 12) -> tuple[str, Any, str]:
    """What lab_task creates, without creating the task: (source_id, TaskRequest, target_server_id)."""
    from mgc_iac.cloud import ServerRequest, SourceFacts, VolumeRequest, partitioned_disk
    from mgc_iac.providers.migration_task import target_disks, task_request

    gib = 1024 ** 3
    vpc = cloud.vpc.find_vpc("vpc-shop")
    target = cloud.ecs.create_server(ServerRequest(
        name=f"{name}-hw", image_id="lab-image-linux", flavor="s6.large.2", vpc_id=vpc.id,
        subnet_id=cloud.vpc.find_subnet("subnet-shop", vpc.id).id, root_volume=VolumeRequest(40),
        data_volumes=(VolumeRequest(20),), eip_bandwidth_mbps=10), f"tok-{name}")
    source = cloud.sms.register_source(SourceFacts(
        name=name, ip="192.168.1.10", os_type="LINUX", macs=(mac,),
        disks=(partitioned_disk("/dev/vda", 40 * gib, used_gb * gib, boot=True),
               partitioned_disk("/dev/vdb", 20 * gib, 0))))
    server = cloud.ecs.show_server(target)
    shown = cloud.sms.show_source(source)
    request = task_request(cloud, f"{name}-task", shown, server, f"{name}-hw", "linux", "MIGRATE_FILE", public=True,
                           disks=target_disks(shown, server))
    return source, request, target

