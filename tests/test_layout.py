"""The layout: no import cycles (imports inside functions count) and packages depend one way.

The graph is read from the source with ast, so an import hidden in a function body is an edge
like any other. ARCHITECTURE.md draws the same layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "strategies", "rulebook")

# package -> layer; a package may import only from lower layers (and itself)
LAYERS = {
    "engine.cli": 9,
    "rulebook": 8,
    "engine.practice": 7,
    "engine.sweep": 6, "engine.report": 6,
    "engine.run": 5,
    "engine.analysis": 4,
    "engine.hedges": 3,
    "engine.config": 2,
    "strategies": 1,
    "engine.sim": 0, "engine.data": 0,
    "engine.atomic": -1, "engine.strict": -1, "engine.user_cache": -1,
    "engine.errors": -2, "engine.interrupts": -2,
}


def module_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> project modules it imports anywhere in its file."""
    sources = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
               for package in PACKAGES for p in (root / package).rglob("*.py")}
    return {name: imports_of(path.read_text(), set(sources)) - {name} for name, path in sources.items()}


def imports_of(source: str, modules: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & modules


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "engine" and len(parts) > 1 else parts[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for vertex in list(graph):
        if vertex not in index:
            visit(vertex)
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, deps in graph.items():
        for dep in deps:
            if package_of(module) != package_of(dep) and package_of(module) != "engine":
                out.setdefault(package_of(module), set()).add(package_of(dep))
    return out


def test_no_module_imports_itself_through_others():
    assert cycles(module_graph()) == []


def test_no_package_cycle():
    assert cycles(package_graph(module_graph())) == []


def test_packages_depend_downwards_only():
    upward = sorted(f"{a} ({LAYERS.get(a)}) imports {b} ({LAYERS.get(b)})"
                    for a, deps in package_graph(module_graph()).items() for b in deps
                    if LAYERS.get(a) is None or LAYERS.get(b) is None or LAYERS[b] >= LAYERS[a])
    assert upward == [], "give a new package a layer in LAYERS and ARCHITECTURE.md, or move the code down"


def test_the_checks_see_a_cycle_hidden_in_a_function():
    modules = {"engine.a", "engine.b"}
    graph = {"engine.a": imports_of("from engine.b import f", modules),
             "engine.b": imports_of("def g():\n    import engine.a\n", modules)}
    assert cycles(graph) == [["engine.a", "engine.b"]]
    assert cycles({"x": {"y"}, "y": set()}) == []
    assert package_graph({"engine.sim.loop": {"strategies.caps"}}) == {"engine.sim": {"strategies"}}


# what a command may take from the engine directly: the printing helpers it shares with the report,
# so the terminal and the report print the same cells; everything else comes through rulebook
PRINTING = {
    "engine.report.formatting": {"FORMATTERS", "HEADLINE"},
    "engine.report.write": {"reports_line", "parse_formats"},
    "engine.report.attribution_section": {"COLUMNS", "add_one_in_rows", "leave_one_out_rows"},
    "engine.report.event_section": {"event_counts", "REACTION_COLUMNS", "coverage_note", "event_coverage", "reaction_rows"},
    "engine.analysis.variant_stats": {"BASE_VERDICT", "verdict_label"},
}


def engine_names_used(source: str) -> set[str]:
    """``module:name`` for every engine name a module imports (``module:*`` for a plain import),
    engine.cli's own modules left out."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}:{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {f"{alias.name}:*" for alias in node.names}
    return {name for name in found if name.startswith(("engine", "strategies")) and not name.startswith("engine.cli")}


def command_violations(sources: dict[str, str]) -> list[str]:
    return sorted(f"{module} imports {name}" for module, source in sources.items() for name in engine_names_used(source)
                  if name.partition(":")[2] not in PRINTING.get(name.partition(":")[0], ()))


def test_command_modules_hold_no_library_code():
    """engine/cli parses and prints: every command reaches the engine through rulebook/, and takes from
    the engine itself only the printing helpers it shares with the report (PRINTING)."""
    sources = {".".join(p.relative_to(ROOT).with_suffix("").parts): p.read_text()
               for p in (ROOT / "engine" / "cli").glob("*.py")}
    assert len(sources) >= 8
    assert command_violations(sources) == []


def test_the_command_check_sees_engine_work_in_a_command():
    sneaky = "def today_command():\n    from engine.practice.today import today\n    import engine.atomic\n"
    assert command_violations({"engine.cli.today": sneaky}) == [
        "engine.cli.today imports engine.atomic:*", "engine.cli.today imports engine.practice.today:today"]
    fine = "import rulebook\nfrom engine.cli.console import console\nfrom engine.report.write import reports_line\n"
    assert command_violations({"engine.cli.run": fine}) == []
    assert command_violations({"engine.cli.x": "from engine.report.write import write_reports"}) != []
