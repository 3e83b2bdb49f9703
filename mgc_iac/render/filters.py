"""Small pure helpers the templates call: wording, symbols, colours, durations, markdown and mermaid safety."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from mgc_iac.plan import Action, Plan, ResourceChange, StepAction
from mgc_iac.visible import Painted, visible

SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-",
           Action.FORGET: "forget", Action.NOOP: " "}
STEP_LABELS = {StepAction.RUN: "run", StepAction.WAIT: "gate", StepAction.SKIP: "skip", StepAction.DONE: "done"}
EMOJI = {Action.CREATE: "➕", Action.UPDATE: "✏️", Action.REPLACE: "♻️", Action.DELETE: "🗑️",
         Action.FORGET: "✋", Action.NOOP: "·"}
# click.style keyword arguments per role; colour is applied only when the caller asks for it
STYLES: dict[str, dict[str, Any]] = {
    "create": {"fg": "green"}, "update": {"fg": "yellow"}, "replace": {"fg": "magenta", "bold": True},
    "delete": {"fg": "red"}, "forget": {"fg": "cyan"}, "no-op": {"dim": True},
    "run": {"fg": "green"}, "wait-for-approval": {"fg": "yellow", "bold": True}, "skip": {"dim": True},
    "done": {"fg": "blue"}, "heading": {"bold": True}, "warning": {"fg": "yellow", "bold": True},
    "error": {"fg": "red", "bold": True}, "dim": {"dim": True},
}
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_]")
_LEAF_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_ABSENT = object()


def paint(text: object, role: str, color: bool) -> str:
    """`text` in the role's colour (escaped first: the colour codes are the only ones that reach the terminal)."""
    return Painted(click.style(visible(text), **STYLES[role])) if color else str(text)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def summary_line(plan: Plan) -> str:
    """`Plan: 4 to create, ...; 14 steps to run; 4 gates await approval.` — the line CI logs grep for."""
    s = plan.summary()
    actions = ", ".join(f"{s[a.value]} to {a.value}" for a in Action if a is not Action.NOOP)
    if s.get("move"):
        actions += f", {s['move']} to move"
    gates = s["gates"]
    waits = f"{plural(gates, 'gate')} {'awaits' if gates == 1 else 'await'} approval"
    drifted = f"; {plural(plan.drifted(), 'resource')} changed outside mgc-iac" if plan.drift else ""
    return f"Plan: {actions}; {plural(s['steps_to_run'], 'step')} to run; {waits}{drifted}."


def human_duration(seconds: int | float) -> str:
    """983 -> '16 min'; 5700 -> '1 h 35 min'; 200000 -> '2 d 7 h'. Whole minutes above a minute."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = (seconds + 30) // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def number(value: float) -> str:
    """12.0 -> '12', 12.5 -> '12.5', 33.333 -> '33.3'."""
    return f"{value:.1f}".removesuffix(".0")


def mermaid_id(*parts: str) -> str:
    """A node id mermaid accepts whatever the names hold (slashes, dots, dashes)."""
    return "n_" + "_".join(_UNSAFE_ID.sub("_", p) for p in parts)


def mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


_MD_PUNCT = re.compile(r"([\\`*_\[\]<>#|~&!])")
_TICKS = re.compile(r"`+")


def md_cell(text: object) -> str:
    """Markdown (already formatted) safe inside a table cell: GFM splits cells on every unescaped pipe, code
    spans included, and turns `\\|` back into `|` before anything else."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_text(text: object) -> str:
    """Plain text shown literally in markdown: every markdown punctuation character backslash-escaped."""
    return _MD_PUNCT.sub(r"\\\1", str(text).replace("\n", " "))


def md_code(text: object) -> str:
    """A code span showing `text` literally: a fence longer than any run of backticks inside (CommonMark 6.1)."""
    body = str(text).replace("\n", " ")
    fence = "`" * (max((len(m) for m in _TICKS.findall(body)), default=0) + 1)
    pad = " " if body.startswith(("`", " ")) or body.endswith(("`", " ")) else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def md_pieces(pieces: tuple[tuple[str, bool], ...]) -> str:
    """A fact's pieces as markdown: literal pieces as code spans, the rest escaped."""
    return "".join(md_code(text) if literal else md_text(text) for text, literal in pieces)


def leaf(data: Any, dotted: str) -> Any:
    """The value at a planner leaf path such as `tags.owner` or `disks[1].size_gb` (_ABSENT if none)."""
    node = data
    for key, index in _LEAF_TOKEN.findall(dotted):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            return _ABSENT
    return node


def leaf_change(before: Any, after: Any, dotted: str) -> str:
    """`tags.owner: "platform" -> "team-b"` for one changed leaf."""
    return f"{dotted}: {_show(leaf(before, dotted))} -> {_show(leaf(after, dotted))}"


def leaf_value(data: Any, dotted: str) -> str:
    """One side of a changed leaf, as JSON ("(absent)" when that side has none)."""
    return _show(leaf(data, dotted))


def target_label(change: ResourceChange) -> str:
    """`: web-01-hw` for a target server change (the name a reviewer knows it by), else nothing."""
    name = (change.after or change.before or {}).get("name") if change.kind == "target_server" else None
    return f": {name}" if name else ""


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def md_details(change: ResourceChange) -> str:
    """A resource row's details cell: reasons, then changed leaves as code, one per line."""
    from mgc_iac.render._facts import summary_pieces

    summary = summary_pieces(change)
    parts = [md_cell(f"moved from {md_code(change.moved_from)} (keeps its records)")] if change.moved_from else []
    parts += [md_cell(md_pieces(summary))] if summary else []
    parts += [md_cell(md_text(r)) for r in change.reasons]
    parts += [md_cell(md_code(leaf_change(change.before, change.after, p))) for p in change.changed]
    return "<br>".join(parts)


def detailed(change: ResourceChange) -> bool:
    """Whether a change gets a detail section: what a create or replace makes, or what an update changes."""
    return change.action in (Action.CREATE, Action.REPLACE) and bool(change.after) or bool(change.changed)


def cut_markdown(text: str, limit: int) -> str:
    """`text` cut at a line so that it fits in `limit` characters with a closing note; a cut inside a code
    fence or a <details> block closes it, so what is left stays well-formed."""
    note = (f"\n\n**Truncated** to stay under GitHub's {limit:,}-character comment limit: "
            "`mgc-iac show PLAN_FILE` shows the whole plan.\n")
    at = text.rfind("\n---\n")  # the footer (plan digest, what needs approval) always stays: approvals bind to it
    footer = text[at:] if at > 0 and len(text) - at < limit // 4 else ""
    body = text[:at] if footer else text
    budget = limit - len(note) - len(footer) - 40  # room for the closing fence and tags
    kept = body[:budget].rsplit("\n", 1)[0]
    closing = ""
    if kept.count("\n```") % 2:
        closing += "\n```"
    closing += "\n\n</details>" * max(0, kept.count("<details") - kept.count("</details>"))
    return kept + closing + note + footer
