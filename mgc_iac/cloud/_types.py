"""Typed results and requests of the client layer, in domain words (small frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# ---- ECS / EVS ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeRequest:
    size_gb: int
    volume_type: str = "SSD"
    kms_key_id: str | None = None          # encrypt with this KMS key (enabled AES_256)

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"volumetype": self.volume_type, "size": self.size_gb}
        if self.kms_key_id:
            body["metadata"] = {"__system__encrypted": "1", "__system__cmkid": self.kms_key_id}
        return body


@dataclass(frozen=True)
class ServerRequest:
    """One post-paid ECS server to create."""

    name: str
    image_id: str
    flavor: str
    vpc_id: str
    subnet_id: str
    root_volume: VolumeRequest
    security_group_ids: tuple[str, ...] = ()
    data_volumes: tuple[VolumeRequest, ...] = ()
    ip_address: str | None = None          # a fixed private IP (retain_ip), else one is assigned
    eip_bandwidth_mbps: int | None = None  # an EIP with this bandwidth, else none
    availability_zone: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    enterprise_project_id: str | None = None

    def to_body(self) -> dict[str, Any]:
        nic: dict[str, Any] = {"subnet_id": self.subnet_id}
        if self.ip_address:
            nic["ip_address"] = self.ip_address
        server: dict[str, Any] = {
            "name": self.name, "imageRef": self.image_id, "flavorRef": self.flavor, "vpcid": self.vpc_id,
            "nics": [nic], "security_groups": [{"id": g} for g in self.security_group_ids],
            "root_volume": self.root_volume.to_body(), "data_volumes": [v.to_body() for v in self.data_volumes],
            "server_tags": [{"key": k, "value": v} for k, v in sorted(self.tags.items())],
            "extendparam": {"chargingMode": 0},
        }
        if self.availability_zone:
            server["availability_zone"] = self.availability_zone
        if self.eip_bandwidth_mbps:
            server["publicip"] = {"eip": {"iptype": "5_bgp", "bandwidth": {"size": self.eip_bandwidth_mbps,
                                                                           "sharetype": "PER"}}}
        if self.enterprise_project_id:
            server["extendparam"]["enterprise_project_id"] = self.enterprise_project_id
        return {"server": server}


@dataclass(frozen=True)
class Job:
    id: str
    status: str                            # INIT | RUNNING | SUCCESS | FAIL
    server_id: str | None = None
    fail_reason: str = ""


@dataclass(frozen=True)
class AttachedVolume:
    """One of os-extended-volumes:volumes_attached (ServerExtendVolumeAttachment): bootIndex "0" is the boot
    disk, "-1" the others; the list's order is not documented, so nothing may rely on it."""

    id: str
    boot_index: str = ""
    device: str = ""                       # /dev/vda, /dev/vdb ...

    @property
    def boot(self) -> bool:
        return self.boot_index == "0"


@dataclass(frozen=True)
class Server:
    id: str
    name: str
    status: str                            # BUILD | ACTIVE | SHUTOFF | ERROR ...
    private_ips: tuple[str, ...] = ()
    public_ips: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    volume_ids: tuple[str, ...] = ()       # in the order ECS listed them (undocumented: see `volumes`)
    security_group_ids: tuple[str, ...] = ()
    flavor: str = ""
    enterprise_project_id: str = ""
    volumes: tuple[AttachedVolume, ...] = ()


@dataclass(frozen=True)
class Volume:
    id: str
    name: str
    size_gb: int
    status: str
    encrypted: bool
    kms_key_id: str | None
    server_ids: tuple[str, ...] = ()
    bootable: bool = False


# ---- KMS / SMN / VPC ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    alias: str
    spec: str                              # AES_256, SM4, RSA_2048, ...
    state: str                             # "1".."5"; "2" is enabled
    enabled: bool


@dataclass(frozen=True)
class Topic:
    urn: str
    name: str
    display_name: str = ""


@dataclass(frozen=True)
class Vpc:
    id: str
    name: str
    cidr: str
    status: str = ""


@dataclass(frozen=True)
class Subnet:
    id: str
    name: str
    cidr: str
    gateway_ip: str
    vpc_id: str


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str


@dataclass(frozen=True)
class SecurityGroupRule:
    id: str
    direction: str                         # ingress | egress
    protocol: str                          # tcp | udp | icmp | "" (all)
    ports: str                             # "22", "8899-8900", "22,8899", "" (all)
    action: str                            # allow | deny
    priority: int                          # 1 (highest) .. 100
    remote_ip_prefix: str = ""

    def covers(self, port: int, protocol: str = "tcp") -> bool:
        """Whether this rule's protocol and ports include `port`."""
        if self.protocol not in ("", protocol):
            return False
        if not self.ports:
            return True
        for part in self.ports.split(","):
            low, _, high = part.strip().partition("-")
            if int(low) <= port <= int(high or low):
                return True
        return False


# ---- SMS ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFacts:
    """What the agent on a source host registers with SMS."""

    name: str
    ip: str
    os_type: str                           # LINUX | WINDOWS
    macs: tuple[str, ...] = ()
    cpu_quantity: int = 1
    memory_bytes: int = 0
    disks: tuple[Mapping[str, Any], ...] = ()   # [{name, size, used_size, device_use, ...}] as SMS has them
    os_version: str = ""
    agent_version: str = "lab"
    migproject: str = ""                   # kept for callers; PostSourceServerBody declares no such field

    def to_body(self) -> dict[str, Any]:
        return {"name": self.name, "ip": self.ip, "os_type": self.os_type, "os_version": self.os_version,
                "agent_version": self.agent_version, "cpu_quantity": self.cpu_quantity, "memory": self.memory_bytes,
                "networks": [{"name": f"eth{n}", "ip": self.ip if n == 0 else "", "netmask": "", "gateway": "",
                              "mac": mac} for n, mac in enumerate(self.macs)],
                "disks": [dict(d) for d in self.disks], "hostname": self.name, "firmware": "BIOS"}


def partitioned_disk(name: str, size: int, used: int, boot: bool = False, mount: str | None = None) -> dict[str, Any]:
    """A Linux disk as an SMS-Agent registers it (ServerDisk): one partition (PhysicalVolume), ext4, mounted at
    `/` on the boot disk, else at `mount` (default /data<disk letter>); sizes in bytes."""
    return {"name": name, "size": size, "used_size": used, "device_use": "BOOT" if boot else "NORMAL",
            "physical_volumes": [{"name": f"{name}1", "size": size, "used_size": used, "index": 0,
                                  "device_use": "OS" if boot else "NORMAL", "file_system": "ext4",
                                  "mount_point": "/" if boot else (mount or f"/data{name[-1]}"), "uuid": ""}]}


@dataclass(frozen=True)
class SourceDisk:
    """A disk of a source server as SMS has it (ShowServerResponse.disks: ServerDisk)."""

    name: str                              # /dev/vda, C:
    size_bytes: int
    used_bytes: int = 0
    device_use: str = ""                   # BOOT | OS | NORMAL


@dataclass(frozen=True)
class TargetDiskPlan:
    """One disk of SMS's recommended target (ShowServerResponse.init_target_server.disks: DiskIntargetServer),
    kept as SMS answered it: sizes in bytes, `physical_volumes` as PhysicalVolumes dicts (name, size,
    used_size, device_use, file_system, mount_point, index, uuid, inode_size)."""

    name: str
    size_bytes: int
    used_bytes: int = 0
    device_use: str = ""                   # BOOT | OS | NORMAL
    physical_volumes: tuple[Mapping[str, Any], ...] = ()

    @property
    def boot(self) -> bool:
        return self.device_use in ("BOOT", "OS")


@dataclass(frozen=True)
class SourceServer:
    """A registered source. From list_servers (no networks, no disks: SourceServersResponseBody) `macs` and
    `disks` are empty; show_server has them."""

    id: str
    name: str
    ip: str
    os_type: str
    state: str
    connected: bool
    macs: tuple[str, ...] = ()
    cpu_quantity: int = 0
    memory_bytes: int = 0
    migration_cycle: str = ""
    current_task_id: str = ""              # current_task.id (current_task is an object: TaskByServerSource)
    disks: tuple[SourceDisk, ...] = ()
    replicated_bytes: int = 0              # replicatesize
    total_bytes: int = 0                   # totalsize
    # show_server only: SMS's recommended target (init_target_server), what create_task's disks are built from
    target_plan: tuple[TargetDiskPlan, ...] = ()
    volume_groups: tuple[Mapping[str, Any], ...] = ()   # init_target_server.volume_groups (VolumeGroups dicts)
    btrfs_list: tuple[Mapping[str, Any], ...] = ()      # btrfs_list (BtrfsFileSystem dicts)


@dataclass(frozen=True)
class Command:
    name: str                              # START | SYNC | STOP | SKIP | CLEAR | "" (nothing to do)
    task_id: str | None = None


@dataclass(frozen=True)
class TaskRequest:
    """An SMS migration task towards an existing target server (exist_server=true)."""

    name: str
    source_id: str
    target_server_id: str
    target_name: str
    os_type: str                           # LINUX | WINDOWS
    region: str
    project_id: str
    project_name: str = ""
    type: str = "MIGRATE_FILE"             # MIGRATE_FILE | MIGRATE_BLOCK
    migration_ip: str = ""
    use_public_ip: bool = True
    syncing: bool = False
    start_target_server: bool = False
    speed_limit_mbps: int = 0              # 0 = unlimited
    consistency_check: bool = False
    priority: int = 1
    target_disks: tuple[Mapping[str, Any], ...] = ()
    volume_groups: tuple[Mapping[str, Any], ...] | None = None   # TargetServerByTask.volume_groups (Linux: [])
    btrfs_list: tuple[Mapping[str, Any], ...] = ()

    def to_body(self) -> dict[str, Any]:
        target: dict[str, Any] = {"vm_id": self.target_server_id, "name": self.target_name,
                                  "disks": [dict(d) for d in self.target_disks]}
        if self.volume_groups is not None:
            target["volume_groups"] = [dict(v) for v in self.volume_groups]
        if self.btrfs_list:
            target["btrfs_list"] = [dict(b) for b in self.btrfs_list]
        return {
            "name": self.name, "type": self.type, "os_type": self.os_type, "source_server": {"id": self.source_id},
            "target_server": target,
            "migration_ip": self.migration_ip, "region_name": self.region, "region_id": self.region,
            "project_name": self.project_name or self.region, "project_id": self.project_id,
            "priority": self.priority, "use_public_ip": self.use_public_ip, "syncing": self.syncing,
            "exist_server": True, "start_target_server": self.start_target_server, "auto_start": False,
            "speed_limit": self.speed_limit_mbps, "is_need_consistency_check": self.consistency_check,
        }


@dataclass(frozen=True)
class SubTask:
    name: str
    progress: int
    migrate_speed: float = 0.0
    start_ms: int = 0                      # start_date (ms)
    end_ms: int = 0                        # end_date (ms; 0 while it runs)


@dataclass(frozen=True)
class CloneServer:
    """ShowTaskResponse.clone_server (SDK CloneServer): the server `clone_test` made from the target."""

    vm_id: str
    name: str = ""
    state: str = ""                        # clone_state: NOT_READY, READY, PREPARING, CREATING, ERROR, FINISHED
    error: str = ""


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    state: str                             # READY, RUNNING, SYNCING, MIGRATE_SUCCESS, ... (huaweicloud-api.md)
    source_id: str
    target_server_id: str
    migration_cycle: str = ""              # source_server.migration_cycle (a task has no top-level cycle)
    source_state: str = ""                 # source_server.state (show_task and list_tasks both carry it)
    sub_tasks: tuple[SubTask, ...] = ()
    replicated_bytes: int = 0              # not in a task's answer: filled from its source when asked
    total_bytes: int = 0
    migrate_speed_mbps: float = 0.0
    remain_seconds: int = 0
    connected: bool | None = None          # show_task only (None: list_tasks does not say)
    error: str = ""
    total_time: int = 0                    # ms the task has run (ShowTaskResponse.total_time)
    clone: CloneServer | None = None       # the clone of the target (operation clone_test), when one was made

    @property
    def progress(self) -> int:
        """Percent of the running phase: the last sub-task's progress (0 when none has started)."""
        return self.sub_tasks[-1].progress if self.sub_tasks else 0


@dataclass(frozen=True)
class Progress:
    """What the agent reports with PUT /v3/tasks/{id}/progress."""

    subtask_name: str                      # MIGRATE_LINUX_FILE, SYNC_LINUX_FILE, MIGRATE_WINDOWS_BLOCK, ...
    progress: int                          # 0..100
    replicated_bytes: int = 0
    total_bytes: int = 0
    migrate_speed_mbps: float = 0.0


@dataclass(frozen=True)
class SpeedLimit:
    start: str                             # "HH:MM"
    end: str
    speed_mbps: int                        # 0..1000
    over_speed_threshold: float = 0.0


@dataclass(frozen=True)
class ConsistencyResult:
    """One checked directory. A count the answer did not carry is None, and never reads as clean."""

    dir_check: str
    total_files: int | None = 0
    different_files: int | None = 0
    target_missing_files: int | None = 0
    target_extra_files: int | None = 0
    check_result: str = ""                 # the run's check_result (result_list[].check_result)
    finished_time: int = 0                 # the run's finished_time (ms)

    @property
    def nothing_compared(self) -> bool:
        """0 files compared here (an include path empty or absent on this source); a verification in which
        every directory compared nothing proves nothing and is never clean (sms_task.verify)."""
        return self.total_files == 0

    @property
    def clean(self) -> bool:
        counts = (self.different_files, self.target_missing_files, self.target_extra_files)
        return all(c == 0 for c in counts) and self.total_files is not None
