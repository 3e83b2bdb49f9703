"""One way through the code: the import graph of mgc_iac, providers and pulumi_program, string imports included.

What counts as an import of module B by module A (an edge A -> B):
- `import B`, `from B import x` and `from P import B` (B a module), relative forms too, anywhere in A: at the top,
  inside a function (a lazy import) or under `if TYPE_CHECKING:` (a type is a dependency as well, for the layering
  rules; it never runs, so it is no part of an import cycle);
- a string constant in A that names one of our modules, `pkg.mod` or `pkg.mod:attr` (at least one dot): what
  `importlib.import_module`, `__import__`, a lazy-export table (`mgc_iac.__init__`'s names, the CLI's COMMANDS)
  or any "module:attr" table hands to the import system later.
What does not count (a string that names a module but is not imported by this process):
- a docstring;
- the item after "-m" in an argv list or tuple: a child process runs that module (the lab's supervisor, stack.py's
  sandbox), it is not imported here;
- the first argument of `logging.getLogger(...)` (a logger's name), of `jinja2.PackageLoader(...)` and of
  `importlib.resources.files(...)` (a package's data files are read, not imported).
An import of ours the graph cannot see is refused: `import_module`/`__import__` of a string built from a piece of
our package's name (an f-string or a concatenation like f"mgc_iac.ssh.{name}"): write the module's full name as a
constant (in a table) instead. (Names built from the SDK's own tables, e.g. the lab's parity check of
huaweicloudsdk* packages, are not ours.)

What the graph must keep (issue 21, "one way"):
- no import cycle between modules (a package's __init__ and its modules included; imports that run only);
- no module imports the __init__ of a package it is part of (its own facade: the cycle's usual start);
- no folder (mgc_iac/<folder>, providers, pulumi_program) imports another folder's private module (`_name`); the
  kernel at mgc_iac's top (errors, diagnostics, visible, ci, _gc, _pids, _lazy) belongs to no folder and may be
  imported by all (and imports nothing of ours beside the kernel);
- nothing is loose at mgc_iac's top but the kernel and the package's own entry points;
- only the workspace (mgc_iac.operations._workspace) and `mgc-iac lab` (mgc_iac.operations.lab) start the lab or its
  hosts: outside mgc_iac.lab, no other module imports the lab's supervisor or names its starters;
- the cloud client (mgc_iac.cloud) never imports the lab; approvals never import the cloud or the lab (they are
  given an environment, never resolve one);
- no folder imports against the one-way flow (FLOW_RANK below): a folder imports only folders of a lower rank (the
  kernel and the entry points aside), never one of its own rank (sideways) or above (upward); the lab, Huawei Cloud's
  double, is imported only by the operations (the workspace, `mgc-iac lab`); the few exceptions are named with why
  (FLOW_EXCEPTIONS); bench/apply_path.py counts the same ranks over the calls an apply makes;
- the CLI imports only the CLI, the operations, the renderers, the kernel and the types it renders or implements
  (the engine's Hooks, the plan model, the wording of a gate's checks) and where the shipped files are: it parses,
  calls one operation, renders;
- across folders an import names the other folder's package, its public surface (`from mgc_iac.cloud import
  Cloud`, `from mgc_iac.operations import apply`), never a module behind it; a few namespaces aside.
"""

from __future__ import annotations

import ast
import os
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mgc_iac", "providers", "pulumi_program")
KERNEL = {"mgc_iac.errors", "mgc_iac.diagnostics", "mgc_iac.visible", "mgc_iac.ci", "mgc_iac._gc", "mgc_iac._lazy",
          "mgc_iac._pids"}
ENTRY = {"mgc_iac", "mgc_iac.__main__"}
MODULE_STRING = re.compile(r"^((?:mgc_iac|providers|pulumi_program)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?::[A-Za-z_]\w*)?$")
NOT_IMPORTS = {"getLogger", "PackageLoader", "files"}  # calls whose first argument names a package, not an import
STARTERS = {"ensure_lab", "start_background", "ensure_lab_hosts", "lab_process", "hosts_process", "Background"}
MAY_START_THE_LAB = {"mgc_iac.operations._workspace", "mgc_iac.operations.lab"}
# the CLI, what it calls and renders with, and the types it implements or shows: the engine's Hooks, the plan, the
# engine's own wording of a gate's automated checks (engine.schedule.checks_summary, in the live view as in messages);
# and where the shipped files are (mgc_iac.data: the demo stack)
CLI_MAY_IMPORT = ("mgc_iac.cli", "mgc_iac.operations", "mgc_iac.render", "mgc_iac.data")
CLI_MAY_NAME = {"mgc_iac.engine": {"Hooks", "checks_summary"}, "mgc_iac.plan": {"Plan", "StepAction"}}
# public modules another folder may import as a namespace (`from mgc_iac.cloud import sms_states`), with why
NAMESPACES = {
    # the SMS state table: one reader per step (sms_states.migration(task), .cutover(task)), read by the step
    # functions and the task provider alike
    "mgc_iac.cloud.sms_states",
    # `mgc-iac lab`'s operations (up, down, ls, reset, status, messages): names that would be vague in the
    # operations package itself
    "mgc_iac.operations.lab",
}
# the one-way flow (DESIGN.md): cli -> operations -> {render, pulumi} -> engine -> providers -> cloud, with the
# services used from above (approvals and drift over plan over graph over stack; state, ssh and cloud at the bottom)
FLOW_RANK = {
    "mgc_iac.cli": 9, "mgc_iac.operations": 8, "mgc_iac.render": 7, "mgc_iac.pulumi": 7, "mgc_iac.engine": 6,
    "mgc_iac.providers": 5, "mgc_iac.approvals": 4, "mgc_iac.drift": 4, "mgc_iac.plan": 3, "mgc_iac.graph": 2,
    "mgc_iac.stack": 1, "mgc_iac.lab": 1, "mgc_iac.cloud": 0, "mgc_iac.ssh": 0, "mgc_iac.state": 0, "mgc_iac.data": 0,
}
MAY_IMPORT_THE_LAB = {"mgc_iac.operations", "mgc_iac.lab"}
FLOW_EXCEPTIONS = {
    # test support shipped with the lab: a task request as the provider builds it (tests only, never on a user's path)
    ("mgc_iac.lab.testing", "mgc_iac.providers.migration_task"),
    # under Pulumi's provider host a provider has only its inputs: it finds the lab hosts running (never starts them)
    ("mgc_iac.providers.source_agent", "mgc_iac.lab.host_access"),
    # the state backend shares the rate limiters' learnt rates between applies: it hands out the cloud's LimiterPeer
    # (store.limiter_peer) and the PostgreSQL peer implements it (issue 20 point 2)
    ("mgc_iac.state.pg_limits", "mgc_iac.cloud"), ("mgc_iac.state.store", "mgc_iac.cloud"),
}


def _modules() -> dict[str, Path]:
    """Every module by its import name. providers/ is imported as mgc_iac.providers (mgc_iac/providers is a symlink
    to it); mgc_iac/data's symlinks to the shipped files (the Pulumi program among them) are data, not modules."""
    found = {}
    for package, name in (("mgc_iac", "mgc_iac"), ("providers", "mgc_iac.providers"), ("pulumi_program",
                                                                                        "pulumi_program")):
        top = ROOT / package
        for directory, _dirs, files in os.walk(top):  # symlinked directories are not followed
            for file in sorted(f for f in files if f.endswith(".py")):
                parts = Path(directory, file).relative_to(top).with_suffix("").parts
                found[".".join((name, *parts)).removesuffix(".__init__")] = Path(directory, file)
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _call_name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _not_imports(tree: ast.AST) -> set[int]:
    """ids of the string constants that name a module without importing it (see the module doc)."""
    out = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple):
            for before, item in zip(node.elts, node.elts[1:], strict=False):
                if isinstance(before, ast.Constant) and before.value == "-m":
                    out.add(id(item))
        elif isinstance(node, ast.Call) and _call_name(node.func) in NOT_IMPORTS and node.args:
            out.add(id(node.args[0]))
    return out


class Graph:
    def __init__(self) -> None:
        self.edges: dict[str, set[str]] = defaultdict(set)
        self.runtime: dict[str, set[str]] = defaultdict(set)  # the edges that run (not under TYPE_CHECKING)
        self.built_imports: list[str] = []      # import_module/__import__ of a built string: invisible imports
        self.names: dict[str, set[str]] = defaultdict(set)  # module -> names it imports (from X import name)
        self.named: dict[tuple[str, str], set[str]] = defaultdict(set)  # (module, package) -> names taken from it

    def add(self, module: str, target: str | None, *, typing_only: bool = False) -> None:
        if target and target != module:
            self.edges[module].add(target)
            if not typing_only:
                self.runtime[module].add(target)


def _typing_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:` (they never run)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                out.update(id(n) for n in ast.walk(child))
    return out


def build() -> Graph:
    graph = Graph()
    for module, path in MODULES.items():
        scan(graph, module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")
    return graph


def scan(graph: Graph, module: str, source: str, *, is_package: bool = False) -> None:
    """Add the imports of `module` (its source text) to `graph`."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    skip = _not_imports(tree)
    typing = _typing_only(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                graph.add(module, _resolve(alias.name), typing_only=id(node) in typing)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                graph.add(module, full if full in MODULES else _resolve(base), typing_only=id(node) in typing)
                graph.names[module].add(alias.name)
                if full not in MODULES and _resolve(base):
                    graph.named[(module, _resolve(base))].add(alias.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            match = MODULE_STRING.match(node.value)
            if match:
                graph.add(module, _resolve(match.group(1)))
        elif isinstance(node, ast.Call) and _call_name(node.func) in ("import_module", "__import__") and node.args:
            built = node.args[0]
            pieces = [n.value for n in ast.walk(built) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            if isinstance(built, ast.JoinedStr | ast.BinOp) and any(p.startswith(PACKAGES) for p in pieces):
                graph.built_imports.append(f"{module}:{node.lineno}")
        elif isinstance(node, ast.Name | ast.Attribute):
            graph.names[module].add(node.id if isinstance(node, ast.Name) else node.attr)


GRAPH = build()


def folder(module: str) -> str:
    """mgc_iac/<folder>, providers or pulumi_program; the kernel and entry points at mgc_iac's top: 'mgc_iac'."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "mgc_iac" and len(parts) > 2 or (
        parts[0] == "mgc_iac" and len(parts) == 2 and (ROOT / "mgc_iac" / parts[1]).is_dir()) else parts[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(MODULES):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_sees_string_imports() -> None:
    """The graph is what it claims: the CLI's COMMANDS table and the public API's lazy names are edges, a child
    process's `-m` module and a logger's name are not."""
    assert "mgc_iac.cli.apply_cmds" in GRAPH.edges["mgc_iac.cli"]          # "mgc_iac.cli.apply_cmds:apply_cmd"
    assert "mgc_iac.stack.models" in GRAPH.edges["mgc_iac"]                 # _EXPORTS
    assert "mgc_iac.lab.hosts" not in GRAPH.edges["mgc_iac.lab.supervisor"]  # [python, "-m", "mgc_iac.lab.hosts"]
    assert len(MODULES) > 150 and sum(map(len, GRAPH.edges.values())) > 400


def test_the_checker_tells_imports_from_names() -> None:
    """The rules of the module doc, on a sample: what is an edge, what is not, what is refused."""
    graph = Graph()
    scan(graph, "mgc_iac.cli.sample", '''"""Docstring naming mgc_iac.lab.process."""
import logging, subprocess, sys, importlib
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from mgc_iac.plan.model import Plan
TABLE = {"up": "mgc_iac.operations.lab:up"}
log = logging.getLogger("mgc_iac.state.sqlite")
subprocess.run([sys.executable, "-m", "mgc_iac.lab.hosts", "serve"])
def later(name):
    from mgc_iac.engine import engine
    return importlib.import_module(f"mgc_iac.ssh.{name}")
''')
    ran = {"mgc_iac.operations.lab", "mgc_iac.engine.engine"}
    assert graph.runtime["mgc_iac.cli.sample"] == ran and graph.edges["mgc_iac.cli.sample"] == ran | {
        "mgc_iac.plan.model"}  # the TYPE_CHECKING import: a dependency, but it never runs
    assert graph.built_imports == ["mgc_iac.cli.sample:11"]


def test_no_import_the_graph_cannot_see() -> None:
    assert GRAPH.built_imports == [], "import_module of a built string: name the module in full instead"


def test_no_import_cycles() -> None:
    assert cycles(GRAPH.runtime) == []


def test_no_module_imports_its_own_package() -> None:
    own = sorted((a, b) for a, targets in GRAPH.edges.items() for b in targets
                 if MODULES[b].name == "__init__.py" and a.startswith(b + "."))
    assert own == []


def test_no_folder_imports_another_folders_private_module() -> None:
    private = sorted((a, b) for a, targets in GRAPH.edges.items() for b in targets
                     if b not in KERNEL and folder(a) != folder(b)
                     and any(p.startswith("_") and not p.startswith("__") for p in b.split(".")))
    assert private == []


def test_the_kernel_imports_nothing_of_ours() -> None:
    assert {m: sorted(GRAPH.edges[m] - KERNEL) for m in KERNEL if GRAPH.edges[m] - KERNEL} == {}


def test_nothing_is_loose_but_the_kernel() -> None:
    loose = {m for m in MODULES if m.count(".") == 1 and m.startswith("mgc_iac.") and MODULES[m].name != "__init__.py"
             and MODULES[m].parent == ROOT / "mgc_iac"}
    assert loose <= KERNEL | ENTRY, sorted(loose - KERNEL - ENTRY)


def test_only_the_workspace_and_mgc_iac_lab_start_the_lab() -> None:
    outside = {m for m in MODULES if not m.startswith("mgc_iac.lab")}
    supervisor = sorted(m for m in outside if "mgc_iac.lab.supervisor" in GRAPH.edges[m])
    naming = sorted(m for m in outside if GRAPH.names[m] & STARTERS)
    assert set(supervisor) <= MAY_START_THE_LAB and set(naming) <= MAY_START_THE_LAB, (supervisor, naming)


@pytest.mark.parametrize(("below", "never"), [("mgc_iac.cloud", "mgc_iac.lab"), ("mgc_iac.approvals", "mgc_iac.lab"),
                                              ("mgc_iac.approvals", "mgc_iac.cloud")])
def test_a_layer_below_never_imports(below: str, never: str) -> None:
    wrong = sorted((a, b) for a, targets in GRAPH.edges.items() for b in targets
                   if (a == below or a.startswith(below + ".")) and (b == never or b.startswith(never + ".")))
    assert wrong == []


def with_the_flow(importer: str, imported: str) -> bool:
    """Whether folder `importer` may import folder `imported` (module doc: the one-way flow)."""
    if importer == imported or imported == "mgc_iac" or importer in ("mgc_iac", "pulumi_program"):
        return True
    if imported == "mgc_iac.lab":
        return importer in MAY_IMPORT_THE_LAB
    return FLOW_RANK[importer] > FLOW_RANK[imported]


def test_every_folder_has_a_rank_in_the_flow() -> None:
    assert {folder(m) for m in MODULES} - {"mgc_iac", "pulumi_program"} == set(FLOW_RANK)


def test_no_folder_imports_against_the_flow() -> None:
    """Upward or sideways imports (the engine reaching the lab, the stack reaching the graph) are refused."""
    against = sorted((a, b) for a, targets in GRAPH.edges.items() for b in targets
                     if not with_the_flow(folder(a), folder(b)) and (a, b) not in FLOW_EXCEPTIONS)
    assert against == []
    assert not with_the_flow("mgc_iac.engine", "mgc_iac.lab") and not with_the_flow("mgc_iac.cloud", "mgc_iac.state")
    assert with_the_flow("mgc_iac.engine", "mgc_iac.providers") and not with_the_flow("mgc_iac.providers",
                                                                                     "mgc_iac.engine")


def test_the_flow_exceptions_are_still_needed() -> None:
    assert {(a, b) for a, b in FLOW_EXCEPTIONS if b in GRAPH.edges[a]} == FLOW_EXCEPTIONS


def test_the_cli_parses_calls_one_operation_and_renders() -> None:
    wrong = sorted((a, b) for a, targets in GRAPH.edges.items() for b in targets
                   if a.startswith("mgc_iac.cli") and b not in KERNEL
                   and not any(b == allowed or b.startswith(allowed + ".") for allowed in CLI_MAY_IMPORT)
                   and not (b in CLI_MAY_NAME and GRAPH.named[(a, b)] <= CLI_MAY_NAME[b]))
    assert wrong == []


def test_a_folder_is_reached_through_its_package() -> None:
    """Across folders an import names the folder's package (`from mgc_iac.state import Snapshot`, `from
    mgc_iac.operations import apply`), never one of its modules: the package is the folder's public surface, its
    modules can move behind it. NAMESPACES and FLOW_EXCEPTIONS are named with why."""
    packages = {m for m, path in MODULES.items() if path.name == "__init__.py"}
    by_module = sorted((a, b) for a, targets in GRAPH.edges.items() for b in targets
                       if folder(a) not in (folder(b), "mgc_iac") and folder(b) != "mgc_iac"
                       and b not in packages | KERNEL | NAMESPACES and (a, b) not in FLOW_EXCEPTIONS)
    assert by_module == []


def test_a_package_exports_no_name_its_own_submodule_shadows() -> None:
    """`from mgc_iac.ssh import verify` would hand out the module mgc_iac.ssh.verify once that module is imported."""
    import importlib

    clashes = {}
    for package in sorted(m for m, path in MODULES.items() if path.name == "__init__.py"):
        names = set(getattr(importlib.import_module(package), "__all__", ()))
        clashes.update({f"{package}.{n}": "a module" for n in names if f"{package}.{n}" in MODULES})
    assert clashes == {}
