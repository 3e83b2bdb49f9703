"""`mgc-iac init`: the files of a new stack, from templates, that validate as written."""

from __future__ import annotations

import re
from pathlib import Path

from mgc_iac.errors import UserError

_STACK = """\
# yaml-language-server: $schema={schema}
apiVersion: mgc-iac/v1
kind: MigrationStack
metadata:
  name: {name}
  project: {project}
cloud:
  provider: lab            # lab: the embedded cloud; huaweicloud: credentials from HUAWEICLOUD_SDK_AK/SK
  region: cn-north-4
"""
_SOURCES = """\
# yaml-language-server: $schema={schema}
# The discovered inventory: one entry per source server (`mgc-iac discover` checks it against the servers).
sources:
  - name: app-01
    ip: 192.168.1.20
    mac: "fa:16:3e:00:10:01"
    os: linux
    cpus: 2
    memory_mb: 4096
    disks: [{{device: /dev/vda, size_gb: 40, used_gb: 10}}]
    application: app
"""
_WORKFLOWS = """\
# yaml-language-server: $schema={schema}
workflows:
  - name: app-wave-1
    source: {{application: app}}
    network: {{type: public}}
    target:
      region: cn-north-4
      project: cn-north-4
      vpc: vpc-shop
      subnet: subnet-shop
      security_group: sg-shop
    migration_port: 22
    encryption: {{enabled: true, key_alias: evs/default}}
    advanced:
      verify_consistency: true
      start_target_after_migration: true
      tags: {{owner: platform}}
    servers:
      app-01: {{target_name: app-01-hw}}   # the lab host of lab-seed.yaml that stands in for the target
"""
# The embedded lab's account and hosts for the stack above, so `mgc-iac apply` runs it end to end on the lab:
# every name the workflow uses exists here, and app-01 / app-01-hw are real SSH hosts (bubblewrap sandboxes).
_LAB_SEED = """\
# The embedded lab for this stack (`cloud.provider: lab`): the account (`cloud:`) and the SSH hosts (`hosts:`)
# standing in for the source and its target. Keep the names in step with workflows.yaml and sources.yaml.
cloud:
  region: cn-north-4
  availability_zone: cn-north-4a
  vpcs:
    - name: vpc-shop
      cidr: 192.168.0.0/16
      subnets:
        - {{name: subnet-shop, cidr: 192.168.1.0/24, gateway_ip: 192.168.1.1}}
  security_groups:
    - name: sg-shop
      description: SSH for the Linux migration (port 22)
      rules:
        - {{direction: ingress, protocol: tcp, ports: "22", remote_ip_prefix: 0.0.0.0/0, action: allow, priority: 1}}
  kms_keys:
    - {{alias: evs/default, spec: AES_256, state: enabled}}
  flavors:
    - {{id: s6.large.2, vcpus: 2, ram_mb: 4096}}
  images:
    - {{id: lab-image-linux, name: CentOS 7.9 64bit, os_type: Linux}}
  lab:
    job_seconds: 1            # ECS jobs stay RUNNING this long (0 = instant)
hosts:
  - name: app-01
    role: source
    ip: 192.168.1.20
    mac: "fa:16:3e:00:10:01"
    os: linux
    distro: ubuntu
    os_version: "22.04"
    cpus: 2
    memory_mb: 4096
    available_memory_mb: 3072
    rsync: true
    files: {{count: 50, sizes: mixed, seed: 1, paths: [/srv/app]}}
  - name: app-01-hw
    role: target
    mac: "fa:16:3e:00:11:01"
    cpus: 2
    memory_mb: 4096
"""


def scaffold_stack(directory: Path, name: str, project: str) -> list[Path]:
    """Write stack.yaml, sources.yaml, workflows.yaml and the lab-seed.yaml of its lab; return the paths written."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "stack"
    directory.mkdir(parents=True, exist_ok=True)
    schema = _schema_ref(directory)
    files = {"stack.yaml": _STACK, "sources.yaml": _SOURCES, "workflows.yaml": _WORKFLOWS, "lab-seed.yaml": _LAB_SEED}
    written = []
    for filename, template in files.items():
        path = directory / filename
        if path.exists():
            raise UserError(f"{path} exists; init writes only new files")
        text = template.format(name=slug, project=project, schema=schema or "")
        if schema is None and filename != "lab-seed.yaml":  # no schemas/ above: no editor modeline pointing nowhere
            text = text.split("\n", 1)[1]
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _schema_ref(directory: Path) -> str | None:
    """A relative path to the nearest schemas/stack.schema.json above the stack, for editor completion."""
    import os

    here = directory.resolve()
    for parent in (here, *here.parents):
        candidate = parent / "schemas" / "stack.schema.json"
        if candidate.is_file():
            return os.path.relpath(candidate, here)
    return None
