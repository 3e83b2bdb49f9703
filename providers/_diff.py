"""The one diff of every provider: desired attributes against what was applied, by the shared replace rules."""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import DiffResult

from mgc_iac.graph import replace_reasons


def input_attrs(props: dict[str, Any], meta: tuple[str, ...]) -> dict[str, Any]:
    """The attributes that describe the resource (not bookkeeping such as the stack, address or cloud)."""
    return {k: v for k, v in props.items() if k not in meta and not k.startswith("__")}


def diff_attrs(kind: str, olds: dict[str, Any], news: dict[str, Any], meta: tuple[str, ...]) -> DiffResult:
    """Compare only the desired keys: Pulumi passes the old OUTPUTS (ids, status...), which are not inputs.
    Numbers come back from Pulumi's host as floats; 22 == 22.0 keeps them equal."""
    after = input_attrs(news, meta)
    before = {k: olds.get(k) for k in after}
    replaces = sorted({r.attribute for r in replace_reasons(kind, before, after)})
    return DiffResult(changes=before != after, replaces=replaces, stables=[], delete_before_replace=bool(replaces))
