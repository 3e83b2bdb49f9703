"""The mermaid `flowchart LR` of a workflow's step template: gates stand out, skipped steps are dashed."""

from __future__ import annotations

from mgc_iac.render._view import TemplateStep
from mgc_iac.render.filters import mermaid_id, mermaid_label

RESYNC_FROM, RESYNC_TO = "BusinessValidation", "StartSynchronization"  # synchronization can be run again
CLASS_DEFS = (
    "classDef gate fill:#fff3cd,stroke:#b45309,stroke-width:3px",
    "classDef skipped fill:#f6f6f6,stroke:#999999,stroke-dasharray:5 5,color:#888888",
)


def flowchart(template: tuple[TemplateStep, ...]) -> list[str]:
    """The lines of the chart, without the ``` fence."""
    lines = ["flowchart LR"]
    ids = {t.step: mermaid_id(t.step) for t in template}
    for t in template:
        lines.append(f"  {ids[t.step]}[{mermaid_label(_label(t))}]")
    for prev, nxt in zip(template, template[1:], strict=False):
        arrow = "-.->" if prev.skipped or nxt.skipped else "-->"
        lines.append(f"  {ids[prev.step]} {arrow} {ids[nxt.step]}")
    steps = {t.step: t for t in template}
    if RESYNC_FROM in steps and RESYNC_TO in steps and not steps[RESYNC_TO].skipped:
        lines.append(f"  {ids[RESYNC_FROM]} -.->|sync again| {ids[RESYNC_TO]}")
    lines.extend("  " + c for c in CLASS_DEFS)
    gates = [ids[t.step] for t in template if t.manual and not t.skipped]
    skipped = [ids[t.step] for t in template if t.skipped]
    if gates:
        lines.append(f"  class {','.join(gates)} gate")
    if skipped:
        lines.append(f"  class {','.join(skipped)} skipped")
    return lines


def _label(t: TemplateStep) -> str:
    notes = []
    if t.manual:
        notes.append("manual gate")
    if t.skipped:
        notes.append("skipped")
    elif t.partly_skipped:
        notes.append("some servers")
    return f"{t.step} ({', '.join(notes)})" if notes else t.step


def waves_chart(depends_on: dict[str, tuple[str, ...]], order: tuple[tuple[str, ...], ...]) -> list[str]:
    """The workflows' order as `flowchart LR`: an edge from each workflow to those that wait for its Cutover."""
    lines = ["flowchart LR"]
    names = [w for wave in order for w in wave]
    ids = {w: mermaid_id(w) for w in names}
    for n, wave in enumerate(order, 1):
        for w in wave:
            lines.append(f"  {ids[w]}[{mermaid_label(f'{w} (wave {n})')}]")
    for w in names:
        for dep in depends_on.get(w, ()):
            if dep in ids:
                lines.append(f"  {ids[dep]} -->|Cutover done| {ids[w]}")
    return lines
