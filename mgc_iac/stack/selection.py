"""Which sources each workflow migrates: by application or by migration plan."""

from __future__ import annotations

from collections import defaultdict

from mgc_iac.stack.models import Source, Stack


def workflow_servers(stack: Stack) -> dict[str, list[Source]]:
    """Workflow name -> its servers in inventory order (one pass over the inventory, indexed)."""
    by_app: dict[str, list[Source]] = defaultdict(list)
    by_name: dict[str, Source] = {}
    for src in stack.sources:
        by_name.setdefault(src.name, src)
        if src.application:
            by_app[src.application].append(src)
    plans = {p.name: p for p in stack.migration_plans}
    out: dict[str, list[Source]] = {}
    for wf in stack.workflows:
        if wf.source.application is not None:
            out[wf.name] = list(by_app.get(wf.source.application, ()))
        elif wf.source.migration_plan is not None and wf.source.migration_plan in plans:
            names = dict.fromkeys(plans[wf.source.migration_plan].servers)
            out[wf.name] = [by_name[n] for n in names if n in by_name]
        else:
            out[wf.name] = []
    return out
