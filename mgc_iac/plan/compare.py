"""Which parts of a plan file differ from a fresh plan of the same stack: what `apply FILE` names when it
refuses a file (a plan file is a proposal; the fresh plan, from spec + state + policy, is the authority)."""

from __future__ import annotations

from typing import Any

# the parts compared one entry at a time, by address; the others as a whole
_KEYED = {"resource_changes": "address", "servers": "address"}
_SHOWN = 8  # at most this many differences per part


def differences(file_body: dict[str, Any], fresh_body: dict[str, Any]) -> list[str]:
    """Human lines naming every part where the file differs from the fresh plan ([] when they are the same)."""
    out: list[str] = []
    for key in sorted((set(file_body) | set(fresh_body)) - {"digest", "provenance", "cost"}):
        mine, theirs = file_body.get(key), fresh_body.get(key)
        if mine == theirs:
            continue
        if key in _KEYED and isinstance(mine, list) and isinstance(theirs, list):
            out.extend(_keyed(key, _KEYED[key], mine, theirs))
        elif key == "spec":
            out.append("spec: the file's spec is not the stack's spec now (spec_digest "
                       f"{file_body.get('spec_digest')} vs {fresh_body.get('spec_digest')})")
        else:
            out.append(f"{key}: the file has {_short(mine)}, the stack now gives {_short(theirs)}")
    return out


def _keyed(part: str, field: str, mine: list[Any], theirs: list[Any]) -> list[str]:
    a = {str(e.get(field)): e for e in mine if isinstance(e, dict)}
    b = {str(e.get(field)): e for e in theirs if isinstance(e, dict)}
    lines: list[str] = []
    for address in sorted(set(a) | set(b)):
        if address not in b:
            lines.append(f"{part} {address}: in the file, not in a fresh plan")
        elif address not in a:
            lines.append(f"{part} {address}: missing from the file")
        elif a[address] != b[address]:
            lines.append(f"{part} {address}: {_what(a[address], b[address])}")
    if len(lines) > _SHOWN:
        lines = [*lines[:_SHOWN], f"{part}: ... and {len(lines) - _SHOWN} more"]
    return lines


def _what(mine: dict[str, Any], theirs: dict[str, Any]) -> str:
    if "steps" in mine and "steps" in theirs and mine["steps"] != theirs["steps"]:
        a = {s.get("step"): s.get("action") for s in mine["steps"] if isinstance(s, dict)}
        b = {s.get("step"): s.get("action") for s in theirs["steps"] if isinstance(s, dict)}
        steps = [f"{step} {a.get(step)} (fresh plan: {b.get(step)})" for step in b if a.get(step) != b.get(step)]
        return "steps differ: " + (", ".join(steps) if steps else "order or details")
    keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    return "differs in " + ", ".join(keys)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
