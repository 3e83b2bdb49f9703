"""The markdown plan fitted to a size limit ONCE, on the plan model: each workflow is rendered at the level of
detail the room allows, never cut apart and re-parsed afterwards.

Levels, most detailed first: `full` (resource table, per-server details, chart, server table), `tables` (the
same without the per-server details), `summary` (the workflow named with its counts, and every replace, delete
and forget listed by name). Every workflow starts at `full`; while the document is over the limit, the
biggest workflow section still above `summary` goes down one level (later workflows first among equals). So
under GitHub's 65,536 characters every workflow is named with its counts and no replace or delete is hidden;
only when even the summaries do not fit is the text cut at a line, the footer with the digest kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import jinja2

LEVELS = ("full", "tables", "summary")


@dataclass(frozen=True)
class Comment:
    """A PR/MR comment: a marker line to find it again, workflows folded, where the full plan is."""

    marker: str
    full_plan: str = "the job's artifacts"


def fit_markdown(doc: jinja2.Template, section: jinja2.Template, context: dict[str, Any], *, limit: int,
                 open_details: bool, comment: Comment | None = None, cut: Any = None) -> str:
    """The plan's markdown in at most `limit` characters (see the module docstring)."""
    workflows = context["workflows"]
    cache: dict[tuple[int, str], str] = {}

    def part(index: int, level: str) -> str:
        key = (index, level)
        if key not in cache:
            cache[key] = section.render(**context, wf=workflows[index], level=level, comment=comment is not None,
                                        open_details=open_details).rstrip("\n") + "\n"
        return cache[key]

    def document(levels: list[int]) -> str:
        summarised = sum(1 for n in levels if LEVELS[n] == "summary")
        detail_left_out = sum(1 for i, n in enumerate(levels) if LEVELS[n] != "full" and part(i, "full") != part(
            i, "tables"))
        return doc.render(**context, sections=[part(i, LEVELS[n]) for i, n in enumerate(levels)],
                          marker=comment.marker if comment else "", summarised=summarised,
                          gates_table=open_details and not detail_left_out,
                          gate_steps=sorted(Counter(g.gate.rsplit("/", 1)[1] for g in context["gates"]).items()),
                          notes=_notes(summarised, detail_left_out, len(levels), limit, comment),
                          ).rstrip("\n") + "\n"

    levels = [0] * len(workflows)
    text = document(levels)
    lower = list(range(len(levels)))
    while len(text) > limit and lower:
        over = len(text) - limit
        while lower and over > 0:  # at least one step per render; each step's saving from the cached parts
            i = max(lower, key=lambda j: (len(part(j, LEVELS[levels[j]])), j))
            before = len(part(i, LEVELS[levels[i]]))
            levels[i] += 1
            over -= before - len(part(i, LEVELS[levels[i]]))
            lower = [j for j, n in enumerate(levels) if n < len(LEVELS) - 1]
        text = document(levels)
    if any(levels) and len(text) <= limit:
        text = _refill(levels, part, document, text, limit)
    if len(text) > limit and cut is not None:
        return cut(text, limit)
    return text


def _refill(levels: list[int], part: Any, document: Any, text: str, limit: int) -> str:
    """Give detail back, first workflows first, where the room the lowering left allows (equal sections all
    lowered together can leave half the limit unused)."""
    trial, estimate = list(levels), len(text)
    for i in range(len(trial)):
        while trial[i] > 0:
            gain = len(part(i, LEVELS[trial[i] - 1])) - len(part(i, LEVELS[trial[i]]))
            if estimate + gain > limit:
                break
            trial[i] -= 1
            estimate += gain
    if trial == levels:
        return text
    refilled = document(trial)
    if len(refilled) > limit:
        return text
    levels[:] = trial
    return refilled


def _notes(summarised: int, detail_left_out: int, total: int, limit: int, comment: Comment | None) -> list[str]:
    if not detail_left_out:
        return []
    where = (f"the full plan is in {comment.full_plan}" if comment
             else "`mgc-iac show PLAN_FILE` shows the whole plan")
    limit_text = f"to stay under GitHub's {limit:,}-character comment limit; {where}."
    if summarised:
        which = f"All {total}" if summarised == total else f"{summarised} of {total}"
        more = detail_left_out - summarised
        others = f", and per-server details of {more} more are left out," if more > 0 else ""
        return [f"{which} workflow(s) are summarised (their counts, and every replace, delete and forget by "
                f"name){others} {limit_text}"]
    return [f"Per-server details of {detail_left_out} of {total} workflow(s) are left out {limit_text}"]
