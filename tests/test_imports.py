"""The house has no circles: import rules of the two packages, read from the source (no imports run).

* no import cycle between modules of ``ntkcheck`` and ``bounds`` (imports anywhere in a file count,
  lazy ones included, except ``if TYPE_CHECKING:`` blocks);
* ``bounds`` never imports ``ntkcheck`` (it is pure symbolic mathematics);
* the numeric core (kernels, eigenvalues, network, masks, training) never imports a workflow module;
* the packages' own imports stand at module top; an import inside a function is allowed only for
  start-up cost or an optional dependency, and says so in a comment on its line or the line above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ntkcheck", "bounds")
CORE = {"ntkcheck.ntk", "ntkcheck._ntk_kernels", "ntkcheck.eigen", "ntkcheck.network", "ntkcheck.masks",
        "ntkcheck.train", "ntkcheck._train_kernels", "ntkcheck._validation", "ntkcheck._config",
        "ntkcheck._rng", "ntkcheck._params", "ntkcheck._progress"}
WORKFLOW = {"ntkcheck.experiment", "ntkcheck.unit", "ntkcheck.sweep", "ntkcheck._sweep_exec", "ntkcheck.reproduce",
            "ntkcheck.report", "ntkcheck.plotting", "ntkcheck.aggregate", "ntkcheck.verify", "ntkcheck.store",
            "ntkcheck.cli", "ntkcheck.testing", "ntkcheck.assumptions", "ntkcheck.data"}


def _modules() -> dict:
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if node.level:
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))
    return node.module or ""


def _imports(mods: dict):
    """(importer, imported, lineno, top_level) for every import of the packages' own modules."""
    out = []
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_pkg = path.name == "__init__.py"
        skip = set()
        for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks are not imports at run time
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip.update(id(n) for n in ast.walk(node))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(mod, is_pkg, node)
                names = [f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target for a in node.names]
            for name in names:
                while name and name not in mods:
                    name = name.rpartition(".")[0]
                if name and name != mod:
                    out.append((mod, name, node.lineno, id(node) in top))
    return out


MODS = _modules()
EDGES = _imports(MODS)


def _cycles(edges) -> list:
    graph = {}
    for a, b, *_ in edges:
        graph.setdefault(a, set()).add(b)
    cycles, state, stack = [], {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w)
        stack.pop()
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v)
    return cycles


def test_the_reader_sees_the_imports():
    """The rules below would pass vacuously if the parser missed imports: check known edges."""
    pairs = {(a, b) for a, b, *_ in EDGES}
    assert ("ntkcheck.train", "ntkcheck.masks") in pairs
    assert ("ntkcheck.unit", "ntkcheck.train") in pairs
    assert ("ntkcheck.sweep", "ntkcheck._sweep_exec") in pairs
    assert len(MODS) > 40
    assert _cycles([("a", "b", 1, True), ("b", "c", 1, True), ("c", "a", 1, True)])  # the finder works


def test_no_import_cycles():
    assert _cycles(EDGES) == [], "import cycles: " + "; ".join(" -> ".join(c) for c in _cycles(EDGES))


def test_bounds_never_imports_ntkcheck():
    bad = [(a, b, n) for a, b, n, _ in EDGES if a.startswith("bounds") and b.startswith("ntkcheck")]
    assert bad == []
    for path in (ROOT / "bounds").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "ntkcheck" for a in node.names), path
            if isinstance(node, ast.ImportFrom) and not node.level:
                assert (node.module or "").split(".")[0] != "ntkcheck", path


@pytest.mark.parametrize("core", sorted(CORE))
def test_numeric_core_never_imports_a_workflow_module(core):
    assert core in MODS
    bad = [(b, n) for a, b, n, _ in EDGES if a == core and (b in WORKFLOW or b.startswith("ntkcheck.commands"))]
    assert bad == [], f"{core} imports workflow module(s) {bad}"


def test_own_imports_inside_functions_say_why():
    """A lazy import of the packages' own modules carries a comment with "lazy" on its line or above,
    or its module declares ``# lazy imports: <why>`` once (the command modules: start-up time)."""
    missing = []
    for a, b, lineno, top in EDGES:
        if top:
            continue
        text = MODS[a].read_text(encoding="utf-8")
        if "\n# lazy imports: " in text:
            continue
        lines = text.splitlines()
        near = " ".join(lines[max(0, lineno - 2): lineno]).lower()
        if "lazy" not in near:
            missing.append(f"{MODS[a].relative_to(ROOT)}:{lineno} imports {b}")
    assert missing == [], "lazy imports without a reason:\n" + "\n".join(missing)
