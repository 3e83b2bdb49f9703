"""Waves: the order a stack's `depends_on` puts its workflows in (the stack's own declaration, so it lives with the
stack: its rules, the engine and the renderers read it). A workflow's servers start only once every server of the
workflows it depends on has finished Cutover; workflows with no dependency between them run side by side.
Pure functions of the declared dependencies (validation refuses unknown names and cycles before these run)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(depends_on: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as the path that closes it (`[a, b, a]`), or None. Unknown names are ignored."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for dep in depends_on.get(name, ()):
            if dep not in depends_on:
                continue
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if state.get(dep) is None and (found := visit(dep)) is not None:
                return found
        path.pop()
        state[name] = 2
        return None

    for name in depends_on:
        if state.get(name) is None and (found := visit(name)) is not None:
            return found
    return None


def wave_levels(order: Sequence[str], depends_on: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Workflows grouped into waves: wave 1 depends on nothing, wave n+1 on waves up to n (declared order kept
    inside a wave). Assumes no cycle."""
    level: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in level:
            deps = [d for d in depends_on.get(name, ()) if d in depends_on]
            level[name] = 1 + max((depth(d) for d in deps), default=0)
        return level[name]

    waves: dict[int, list[str]] = {}
    for name in order:
        waves.setdefault(depth(name), []).append(name)
    return [waves[n] for n in sorted(waves)]


def dependencies(spec: Mapping) -> dict[str, list[str]]:  # type: ignore[type-arg]
    """workflow -> its depends_on, from a canonical spec (plan.spec) or a Stack dumped as JSON."""
    return {wf["name"]: list(wf.get("depends_on") or ()) for wf in spec.get("workflows") or ()
            if isinstance(wf, dict) and "name" in wf}
