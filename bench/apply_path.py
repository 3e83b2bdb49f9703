"""Measure the apply path (issue 21): run `mgc-iac apply STACK --auto-approve` in this process under a profiler and
count which of our modules it calls and how control crosses folders.

    cd <worktree> && MGC_IAC_LAB_DIR=/tmp/x-lab MGC_IAC_STATE=/tmp/x/state.db \
        .venv/bin/python bench/apply_path.py STACK_COPY [-v]

What is recorded: every `call` event of a Python function whose module is ours (mgc_iac.*, providers.*,
pulumi_program.*), in every thread; its caller is the nearest frame up the stack that is ours, so click, asyncio,
threads or a thread pool in between do not hide it. Module bodies run at import do not count. providers.* and
mgc_iac.providers.* (a symlink) are one folder, "providers". The kernel (mgc_iac's top: errors, diagnostics,
visible, ci, _gc, _lazy, _pids, the package __init__) belongs to no folder: everyone may call it.

(a) EVERYTHING THAT RAN
- modules: distinct modules of ours whose functions ran.
- folders: distinct folders among them (mgc_iac.X, providers, pulumi_program; "kernel").
- hops: distinct (caller module -> callee module) pairs whose folders differ.

(b) THE ORCHESTRATION PATH (how control crosses folders, leaf helpers collapsed)
Each module that ran is a NODE as follows: a private module (any part of its name starts with "_") and a public
module never called from another folder (a helper of its own folder) collapse into their folder's public entry
module (the package, e.g. mgc_iac.cloud); a public module called from another folder stays itself (it is part of
its folder's public surface as this apply used it).
- modules: distinct nodes; hops: distinct (caller node -> callee node) pairs whose folders differ;
- folder edges: distinct (caller folder -> callee folder) pairs (the kernel left out: everyone calls it).
So a folder that reaches into three public modules of another counts three hops; one that goes through its
facade counts one.

(c) THE SAME, BY HOW THE CALLER REACHED THE CALLEE (the public surface as imported)
As (b), but a public module is its own node only for the callers that import it BY NAME (tests/test_import_graph.py's
graph: `from mgc_iac.state.model import X`); a caller that imports the folder's facade (`from mgc_iac.state import
X`) or calls a method of an object handed to it reaches the facade. A caller's own node: itself when another
folder imports it by name and calls it, else its folder's facade. So (c) counts how many of another folder's
modules each caller names, (b) how many of them answer.

THE ONE-WAY FLOW (ranks: tests/test_import_graph.py's FLOW_RANK when it has them, else the copy below;
DESIGN.md: cli -> operations -> {render, pulumi} -> engine -> providers -> cloud, with
stack/graph/plan/state/approvals/drift/ssh services used from above; only operations start or reach the lab).
Ranks below; a call A -> B goes WITH the flow when B is the kernel, or A is an entry point (pulumi_program), or
rank(A) > rank(B) and B is not the lab (the lab, Huawei Cloud's double, may be called only by operations). Anything
else goes AGAINST the flow: upward (rank(A) < rank(B)) or sideways (equal rank, different folders; or the lab
called from below operations). Each against-the-flow folder edge is listed with, per module pair, whether A
imports B (an import, string and lazy imports included: tests/test_import_graph.py's graph) or not (B's function
reached A as a callback or an object handed down from above, e.g. the CLI's Hooks: inversion of control, the way
Terraform's views receive hooks, listed apart); an import of a package above B (its facade) counts as an import.

returns to the CLI: distinct functions outside cli/, operations/, render/ and the kernel that a function in cli/
calls directly: places where control comes back to the CLI between steps of business logic. Callbacks into the
CLI (the Hooks it hands down, confirm) are counted apart.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter, defaultdict

OURS = ("mgc_iac", "providers", "pulumi_program")
KERNEL = {"mgc_iac", "mgc_iac._lazy", "mgc_iac._pids", "mgc_iac.errors", "mgc_iac.diagnostics", "mgc_iac._gc",
          "mgc_iac.visible", "mgc_iac.ci", "mgc_iac.__main__"}
RANK = {
    "mgc_iac.cli": 9,
    "mgc_iac.operations": 8,
    "mgc_iac.render": 7, "mgc_iac.pulumi": 7,
    "mgc_iac.engine": 6,
    "providers": 5,
    "mgc_iac.approvals": 4, "mgc_iac.drift": 4,
    "mgc_iac.plan": 3,
    "mgc_iac.graph": 2,
    "mgc_iac.stack": 1, "mgc_iac.lab": 1,
    "mgc_iac.cloud": 0, "mgc_iac.ssh": 0, "mgc_iac.state": 0, "mgc_iac.data": 0,
}
ENTRY = {"pulumi_program"}
LAB_CALLERS = {"mgc_iac.operations", "mgc_iac.lab"}


def folder(mod: str) -> str:
    if mod in KERNEL:
        return "kernel"
    parts = mod.split(".")
    if parts[0] == "mgc_iac" and len(parts) > 1 and parts[1] == "providers" or parts[0] == "providers":
        return "providers"
    if parts[0] != "mgc_iac":
        return parts[0]
    return "mgc_iac." + parts[1] if len(parts) > 1 else "kernel"


def facade(fold: str) -> str:
    return "mgc_iac.providers" if fold == "providers" else fold


def canonical(mod: str) -> str:
    return "mgc_iac." + mod if mod.split(".")[0] == "providers" else mod


def ours(mod: str | None) -> bool:
    return bool(mod) and mod.split(".")[0] in OURS and mod != "__main__"


def with_the_flow(a: str, b: str) -> bool:
    if b == "kernel" or a in ENTRY or a == "kernel":
        return True
    if b == "mgc_iac.lab":
        return a in LAB_CALLERS
    return a in RANK and b in RANK and RANK[a] > RANK[b]


modules: set[str] = set()
edges: Counter = Counter()
cli_calls: set[tuple[str, str]] = set()
callbacks: set[tuple[str, str]] = set()


def profile(frame, event, arg):  # noqa: ANN001
    if event != "call":
        return
    mod = frame.f_globals.get("__name__")
    if not ours(mod) or frame.f_code.co_name == "<module>":  # functions that ran, not module bodies at import
        return
    mod = canonical(mod)
    modules.add(mod)
    back = frame.f_back
    while back is not None and not ours(back.f_globals.get("__name__")):
        back = back.f_back
    if back is None or back.f_code.co_name == "<module>":  # a call made by a module body at import is no step
        return
    caller = canonical(back.f_globals.get("__name__"))
    if caller == mod:
        return
    edges[(caller, mod)] += 1
    fa, fb = folder(caller), folder(mod)
    if fa == "mgc_iac.cli" and fb not in ("mgc_iac.cli", "mgc_iac.operations", "mgc_iac.render", "kernel"):
        cli_calls.add((f"{caller}.{back.f_code.co_name}", f"{mod}.{frame.f_code.co_qualname}"))
    if fb == "mgc_iac.cli" and fa != "mgc_iac.cli":
        callbacks.add((f"{caller}.{back.f_code.co_name}", f"{mod}.{frame.f_code.co_qualname}"))


def static_imports() -> dict[str, set[str]]:
    """tests/test_import_graph.py's graph (string and lazy imports included) of the tree in the current directory."""
    sys.path.insert(0, os.path.join(os.getcwd(), "tests"))
    import test_import_graph

    ranks = getattr(test_import_graph, "FLOW_RANK", None)  # the test's ranks when it has them: one definition
    if ranks:
        RANK.clear()
        RANK.update({"providers" if f == "mgc_iac.providers" else f: r for f, r in ranks.items()})
    return test_import_graph.GRAPH.edges


def orchestration(ran: set[str], cross: set[tuple[str, str]]) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """(b): each module's node, and the cross-folder node edges."""
    entered = {b for (a, b) in cross}
    node = {}
    for m in ran:
        private = any(p.startswith("_") and not p.startswith("__") for p in m.split("."))
        fold = folder(m)
        node[m] = m if fold == "kernel" or (m in entered and not private) else facade(fold)
    hops = {(node[a], node[b]) for (a, b) in cross}
    return node, hops


def by_surface(ran: set[str], cross: set[tuple[str, str]], imports: dict[str, set[str]]
               ) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """(c): each module's node, and the cross-folder node edges, by how the caller reached the callee."""
    def private(m: str) -> bool:
        return any(p.startswith("_") and not p.startswith("__") for p in m.split("."))

    def node_in(a: str, b: str) -> str:
        if folder(b) == "kernel" or (not private(b) and b in imports.get(a, set())):
            return b
        return facade(folder(b))

    named = {b for (a, b) in cross if node_in(a, b) == b}
    node = {m: m if folder(m) == "kernel" or m in named else facade(folder(m)) for m in ran}
    return node, {(node[a], node_in(a, b)) for (a, b) in cross}


def report(code: object, verbose: bool) -> None:
    cross = {(a, b) for (a, b) in edges if folder(a) != folder(b)}
    folders = {folder(m) for m in modules}
    print(f"exit code {code}", file=sys.stderr)
    print(f"(a) everything that ran: modules {len(modules)} in {len(folders)} folders; hops (distinct cross-folder "
          f"module edges) {len(cross)}")
    node, hops = orchestration(modules, cross)
    nodes = set(node.values())
    path_hops = {(a, b) for (a, b) in hops if folder(a) != "kernel" and folder(b) != "kernel"}
    folder_edges = {(folder(a), folder(b)) for (a, b) in cross if "kernel" not in (folder(a), folder(b))}
    print(f"(b) orchestration path (helpers and private modules collapsed into their folder): modules {len(nodes)} "
          f"in {len({folder(n) for n in nodes})} folders; hops {len(path_hops)} (kernel left out; {len(hops)} with "
          f"it); folder edges {len(folder_edges)}")
    imports = static_imports()
    snode, shops = by_surface(modules, cross, imports)
    snodes = set(snode.values())
    shops = {(a, b) for (a, b) in shops if folder(a) != "kernel" and folder(b) != "kernel"}
    print(f"(c) by the surface each caller imports: modules {len(snodes)}; hops {len(shops)} (kernel left out)")
    against: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a, b in sorted(cross):
        fa, fb = folder(a), folder(b)
        if not with_the_flow(fa, fb):
            parents = {b.rsplit(".", n)[0] for n in range(b.count("."))}  # b and the packages above it
            kind = "import" if (parents | {b}) & imports.get(a, set()) - {"mgc_iac"} else "handed down"
            against[(fa, fb)].append(f"{a} -> {b} ({kind})")
    by_import = {k for k, v in against.items() if any(x.endswith("(import)") for x in v)}
    print(f"against the flow: {len(against)} folder edges ({len(by_import)} by an import, "
          f"{len(against) - len(by_import)} only through callbacks/objects handed down)")
    for (fa, fb), pairs in sorted(against.items()):
        print(f"  {fa} -> {fb}: {len(pairs)} module pairs; {pairs[0]}" + (" ..." if len(pairs) > 1 else ""))
    print(f"returns to the CLI {len(cli_calls)}; callbacks into the CLI {len(callbacks)}")
    if verbose:
        print("folders:", sorted(folders))
        for m in sorted(modules):
            print("  module", m, "" if node[m] == m else f"(collapsed into {node[m]})")
        for a, b in sorted(cross):
            print("  hop", a, "->", b)
        for a, b in sorted(path_hops):
            print("  path hop", a, "->", b)
        for a, b in sorted(shops):
            print("  surface hop", a, "->", b)
        for a, b in sorted(folder_edges):
            print("  folder edge", a, "->", b, "" if with_the_flow(a, b) else "AGAINST")
        for pairs in against.values():
            for p in pairs:
                print("  against", p)
        for a, b in sorted(cli_calls):
            print("  return", a, "->", b)
        for a, b in sorted(callbacks):
            print("  callback", a, "->", b)


def main() -> None:
    stack = sys.argv[1]
    sys.path.insert(0, os.getcwd())
    threading.setprofile(profile)
    sys.setprofile(profile)
    from mgc_iac.cli import cli

    code: object = 0
    try:
        cli.main(["apply", stack, "--auto-approve", "--no-progress"], prog_name="mgc-iac", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    report(code, "-v" in sys.argv)


if __name__ == "__main__":
    main()
