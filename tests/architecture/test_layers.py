"""The house read from its imports: arrows point one way and nothing imports in a circle.

    server, cli, sdk (front ends)
      -> integrations (one slice per outside tool, listed once in ``integrations.INTEGRATIONS``)
      -> services (use cases) -> plugins (hooks) -> store (tables, reads, writes) -> domain

A slice's routes and commands are pieces of the server and the command line: they are built
with the front end's kit (``server.deps``, ``cli.common``) and loaded by name from the list,
so the server and the CLI never import them directly. The SDK talks HTTP, or in embedded
mode calls the services. The modules are parsed, not imported: an import inside a function
or under ``TYPE_CHECKING`` is an arrow too. (No cycles: ``test_import_cycles``.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "modeltrail"

# Lower number, lower layer. A module may import its own layer and the layers below.
LAYERS = {
    "domain": 0,
    "errors": 0,  # the domain's errors as the SDK re-exports them
    "collector": 0,
    "version": 0,
    "store": 1,
    "plugins": 2,
    "services": 3,
    "integrations": 4,
    "server": 5,
    "cli": 5,
    "sdk": 5,
    "__main__": 6,
    "": 6,  # modeltrail/__init__.py: the public surface, the SDK's
}
# Within the front ends, who may import whom: a front end never leans on another one, except
# the command line, which serves (server) and talks to a store like any client (sdk).
FRONT_ENDS = {"server": set(), "sdk": set(), "cli": {"server", "sdk"}}
# What a slice's routes and commands may use of the front end they extend.
KITS = {"server": {"server.deps"}, "cli": {"cli.common"}}
FRONT_END_PARTS = ("routes", "cli")  # integrations.<name>.routes / .cli
# Known arrows that point the wrong way, each with the work that removes it. Keep it short.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("sdk.connection", "server.app"): "embedded mode runs the app in-process (issue #24, item 5)",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in (SRC / PACKAGE).rglob("*.py")
        if "migrations" not in path.parts
    }


def imports(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for each import of a module of the project."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # ``from package import module`` imports the module.
            targets = [
                f"{module}.{a.name}" if f"{module}.{a.name}" in known else module
                for a in node.names
            ]
        else:
            continue
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                yield target, node.lineno


def graph() -> dict[str, list[tuple[str, int]]]:
    found = modules()
    known = set(found)
    return {name: list(imports(name, path, known)) for name, path in found.items()}


def short(name: str) -> str:
    return name.removeprefix(PACKAGE).removeprefix(".")


def layer_of(name: str) -> str:
    return short(name).partition(".")[0]


def why_not(source: str, target: str) -> str | None:
    """Why ``source`` may not import ``target``, or None if it may."""
    src, dst = short(source), short(target)
    a, b = layer_of(source), layer_of(target)
    if (src, dst) in EXCEPTIONS or a == b:
        return None
    if LAYERS[b] > LAYERS[a]:
        if a == "integrations" and src.rpartition(".")[2] in FRONT_END_PARTS:
            if dst in KITS.get(b, set()):
                return None
            return f"a slice's routes and commands use only {sorted(KITS.get(b, set()))} of {b}"
        return f"{a} is below {b}"
    if b == "integrations" and dst.rpartition(".")[2] in FRONT_END_PARTS:
        return f"{a} loads a slice's routes and commands by name from INTEGRATIONS"
    if a in FRONT_ENDS and b in FRONT_ENDS and b not in FRONT_ENDS[a]:
        return f"{a} does not lean on {b}"
    return None


def test_arrows_point_one_way() -> None:
    wrong = [
        f"{short(source)}:{line} imports {short(target)}: {reason}"
        for source, found in graph().items()
        for target, line in found
        if (reason := why_not(source, target))
    ]
    assert not wrong, "\n".join(wrong)


def test_every_exception_is_still_needed() -> None:
    seen = {(short(s), short(t)) for s, found in graph().items() for t, _ in found}
    assert set(EXCEPTIONS) <= seen, f"no longer imported: {set(EXCEPTIONS) - seen}"


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_every_package_has_a_layer(layer: str) -> None:
    assert layer == "" or any(layer_of(m) == layer for m in modules())


def test_every_module_is_in_a_layer() -> None:
    assert {layer_of(m) for m in modules()} <= set(LAYERS)
