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
"""


def scaffold_stack(directory: Path, name: str, project: str) -> list[Path]:
    """Write stack.yaml, sources.yaml and workflows.yaml; return the paths written."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._") or "stack"
    directory.mkdir(parents=True, exist_ok=True)
    schema = _schema_ref(directory)
    files = {"stack.yaml": _STACK, "sources.yaml": _SOURCES, "workflows.yaml": _WORKFLOWS}
    written = []
    for filename, template in files.items():
        path = directory / filename
        if path.exists():
            raise UserError(f"{path} exists; init writes only new files")
        text = template.format(name=slug, project=project, schema=schema or "")
        if schema is None:  # no schemas/ folder above: leave the editor modeline out rather than point nowhere
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
