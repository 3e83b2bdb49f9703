"""Finding the SMS source server an agent registered (by its MAC): the task's create and StartUpAgent's wait both
ask it (mgc_iac.providers.migration_task, mgc_iac.providers.source_agent)."""

from __future__ import annotations

from typing import Any

from mgc_iac.errors import CloudNotFoundError


def find_source(cloud: Any, mac: str, name: str | None = None) -> Any:
    """The SMS source server whose network cards include `mac` (what the agent registered). list_servers has no
    networks: the sources named `name` are asked first and each is confirmed by its MACs in show_server; when
    none matches, every source is confirmed the same way. The MAC decides."""
    mac = mac.lower()
    named = cloud.sms.list_sources(name=name) if name else []
    for listed in named:
        source = cloud.sms.show_source(listed.id)
        if mac in (m.lower() for m in source.macs):
            return source
    asked = {n.id for n in named}
    for listed in cloud.sms.list_sources():          # named otherwise: every source, each confirmed by its MACs
        if listed.id in asked:
            continue
        source = cloud.sms.show_source(listed.id)
        if mac in (m.lower() for m in source.macs):
            return source
    raise CloudNotFoundError(f"no SMS source server has MAC {mac}: the agent has not registered it (StartUpAgent "
                             "runs it)", service="sms", operation="show_server")
