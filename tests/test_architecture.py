"""The package's shape, checked: no import cycles inside `latentgap/`, and the core never imports the tooling.

Imports are read from the source (module level and inside functions alike: a lazy import is still a dependency;
imports under `if TYPE_CHECKING:` are annotations only and do not count).
The core is every module but `latentgap.tools.*` (benchmarks, self-check, zoo trainer) and the CLI that dispatches
to them.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "latentgap"
TOOLING = ("latentgap.tools", "latentgap.cli", "latentgap.__main__")


def _modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the latentgap modules it imports (a `from pkg import name` of a submodule counts as that module)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: set() for m in modules}
    for m, f in modules.items():
        tree = ast.parse(f.read_text())
        typing_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
            for n in ast.walk(block)
        }
        for node in (n for n in ast.walk(tree) if id(n) not in typing_only):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("latentgap"):
                names = [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("latentgap")]
            graph[m] |= {t for t in map(resolve, names) if t and t != m and not m.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("tooling", ["latentgap.tools"])
def test_core_never_imports_the_tooling(tooling):
    offenders = {
        m: sorted(t for t in targets if t == tooling or t.startswith(tooling + "."))
        for m, targets in import_graph().items()
        if not m.startswith(TOOLING)
    }
    assert {m: t for m, t in offenders.items() if t} == {}
