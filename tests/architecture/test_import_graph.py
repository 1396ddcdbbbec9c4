"""Dependencies point one way: pure rules and the contract at the bottom, stores and the log above
them, application services above those, delivery (HTTP, scheduler) on top, and the `liveboard`
command (CLI, wiring, demo) over everything. Read from the source (AST), so a new import that
breaks the direction or closes a cycle fails here, with the file and line that did it."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LAYERS = {
    # 0: pure rules, the event contract, settings from the environment
    "domain": 0, "schemas": 0, "settings": 0,
    # 1: stores, the event log, the WeChat adapter
    "analytics": 1, "configstore": 1, "eventlog": 1, "wechat": 1,
    # 2: application services, operations, the pipelines that move events
    "services": 2, "operations": 2, "consumers": 2, "connectors": 2,
    # 3: delivery
    "backend": 3, "miniprogram_api": 3, "scheduler": 3,
    # 4: the command line, wiring and the demo
    "liveboard": 4,
}
TOOLS = {"devservices", "bench", "reliability", "tests"}  # may use the product; the product never uses them
DELIVERY = 3


def _top_level_packages() -> set[str]:
    return {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()}


def _imports() -> list[tuple[str, str, str]]:
    """(importing package, imported package, "file:line") for every import between project packages."""
    packages = _top_level_packages()
    found = []
    for package in sorted(packages):
        for path in sorted((REPO / package).rglob("*.py")):
            if ".venv" in path.parts or "node_modules" in path.parts:
                continue
            tree = ast.parse(path.read_text("utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    target = name.split(".")[0]
                    if target in packages and target != package:
                        found.append((package, target, f"{path.relative_to(REPO)}:{node.lineno}"))
    return found


def test_every_package_has_a_layer():
    unknown = _top_level_packages() - set(LAYERS) - TOOLS
    assert not unknown, f"give these packages a layer in {Path(__file__).name}: {sorted(unknown)}"


def test_no_import_points_up_or_into_the_tools():
    wrong = []
    for source, target, where in _imports():
        if source in TOOLS:
            continue
        if target in TOOLS:
            wrong.append(f"{where}: {source} imports the tool package {target}")
        elif LAYERS[target] > LAYERS[source]:
            kind = "a delivery package" if LAYERS[target] >= DELIVERY else "a higher layer"
            wrong.append(f"{where}: {source} (layer {LAYERS[source]}) imports {kind}, {target} "
                         f"(layer {LAYERS[target]})")
    assert not wrong, "\n".join(wrong)


def test_the_bottom_layer_stands_alone():
    wrong = [f"{where}: {source} imports {target}" for source, target, where in _imports()
             if LAYERS.get(source) == 0 and source != "schemas" and target in LAYERS]
    # the contract may use pure rules (domain), nothing else
    wrong += [f"{where}: schemas imports {target}" for source, target, where in _imports()
              if source == "schemas" and target in LAYERS and target != "domain"]
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_top_level_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for source, target, at in _imports():
        if source in TOOLS or target in TOOLS:
            continue
        graph[source].add(target)
        where.setdefault((source, target), at)
    cycles = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    cycles.append(path + [start])
                elif nxt not in path and nxt > start:  # report each cycle once, from its smallest member
                    stack.append((nxt, path + [nxt]))
    described = [" -> ".join(c) + "  (" + ", ".join(where[(a, b)] for a, b in zip(c, c[1:], strict=False)) + ")"
                 for c in cycles]
    assert not cycles, "\n".join(described)
