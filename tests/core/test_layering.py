"""The package's layers, read from the source with ``ast`` (nothing is imported).

- Training and experiment support (``mmroute/training/``) is never on the runtime import path: no module
  outside it imports ``mmroute.training``, at module level, inside a function or under ``TYPE_CHECKING``,
  except the CLI commands that train, inside their command functions.
- The top-level parts of the package (``routing``, ``training``, ``reading``, ``kb``, ``ops``, ...) import
  each other without cycles.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mmroute"

TRAINING = "mmroute.training"
TRAINING_COMMANDS = {
    ("cli/route_cmd.py", "route_train"),
    ("cli/route_cmd.py", "route_finetune"),
    ("cli/reader_cmd.py", "reader_train"),
}
"""(module, top-level function) pairs that may import the training package, lazily: the training commands."""

KNOWN_LAZY_CYCLES: set[frozenset[str]] = set()
"""Cycles made only by imports inside functions that are tolerated: none (``generation/moments.py`` once
measured word coverage with ``retrieval.widening``; it now uses ``text.word_coverage``)."""


@dataclass(frozen=True)
class Import:
    path: str
    """Relative to ``mmroute/``."""
    line: int
    target: str
    """Absolute dotted name of the module (or module attribute) imported."""
    function: str | None
    """The top-level function or class the import sits in; ``None`` at module level."""
    type_checking: bool
    by_name: bool = False
    """A string naming the module (``importlib.import_module``, a registry's ``"module:factory"``)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[Import]:
    rel = path.relative_to(PACKAGE).as_posix()
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def walk(node: ast.AST, function: str | None, type_checking: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(rel, child.lineno, alias.name, function, type_checking)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                yield Import(rel, child.lineno, source, function, type_checking)
                for alias in child.names:
                    yield Import(rel, child.lineno, f"{source}.{alias.name}", function, type_checking)
            elif isinstance(child, ast.Constant) and isinstance(child.value, str):
                # importlib.import_module("mmroute.x"), registry entries "mmroute.x:factory"
                m = re.fullmatch(r"(mmroute(?:\.\w+)+)(?::\w+)?", child.value)
                if m:
                    yield Import(rel, child.lineno, m.group(1), function, type_checking, by_name=True)
            inner = function
            if function is None and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = child.name
            guarded = type_checking or (
                isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            )
            yield from walk(child, inner, guarded)

    yield from walk(tree, None, False)


@cache
def _all_imports() -> tuple[Import, ...]:
    return tuple(i for path in sorted(PACKAGE.rglob("*.py")) for i in _imports(path))


def _part(path_or_target: str) -> str | None:
    """The top-level part of the package a module path (``routing/base.py``) or dotted name belongs to."""
    if path_or_target.endswith(".py"):
        first = path_or_target.split("/")[0]
        return None if first == "__init__.py" else first.removesuffix(".py")
    parts = path_or_target.split(".")
    return parts[1] if parts[0] == "mmroute" and len(parts) > 1 else None


def _imports_training(i: Import) -> bool:
    return i.target == TRAINING or i.target.startswith(TRAINING + ".")


def test_the_parser_sees_the_training_commands_import_training():
    """A control: the lazy imports the rule allows are found, so the rule below can see a forbidden one."""
    seen = {(i.path, i.function) for i in _all_imports() if _imports_training(i)}
    assert TRAINING_COMMANDS <= seen


def test_runtime_modules_never_import_training():
    bad = [
        f"mmroute/{i.path}:{i.line} ({i.function or 'module level'}) imports {i.target}"
        for i in _all_imports()
        if _imports_training(i) and _part(i.path) != "training" and (i.path, i.function) not in TRAINING_COMMANDS
    ]
    assert not bad, "training code on the runtime import path:\n" + "\n".join(bad)


def _edges(imports: Sequence[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for i in imports:
        src, dst = _part(i.path), _part(i.target)
        if src and dst and src != dst:
            graph.setdefault(src, set()).add(dst)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _explain(graph: dict[str, set[str]], cycle: frozenset[str], imports: Sequence[Import]) -> str:
    lines = [
        f"  mmroute/{i.path}:{i.line} imports {i.target}"
        for i in imports
        if _part(i.path) in cycle and _part(i.target) in cycle and _part(i.path) != _part(i.target)
    ]
    return f"{sorted(cycle)}:\n" + "\n".join(sorted(set(lines)))


def test_no_import_cycles_between_top_level_parts_at_import_time():
    """Module-level imports (what runs when a module is imported; ``TYPE_CHECKING`` blocks left out)."""
    imports = [i for i in _all_imports() if i.function is None and not i.type_checking]
    graph = _edges(imports)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(_explain(graph, c, imports) for c in cycles)


def test_no_new_import_cycles_between_top_level_parts_counting_lazy_imports():
    imports = [i for i in _all_imports() if not i.type_checking]
    graph = _edges(imports)
    cycles = [c for c in _cycles(graph) if c not in KNOWN_LAZY_CYCLES]
    assert not cycles, "import cycles:\n" + "\n".join(_explain(graph, c, imports) for c in cycles)


def test_training_takes_part_in_no_cycle_even_lazily():
    graph = _edges(_all_imports())
    assert all("training" not in c for c in _cycles(graph))


@pytest.mark.parametrize("part", ["training", "routing", "reading"])
def test_modules_of_a_part_import_each_other_without_cycles(part: str):
    """Inside ``mmroute/<part>/`` too, counting imports inside functions (``routing.distill`` and
    ``routing.training`` used to import each other). A role's registry names its implementations in
    strings, which the implementations' imports of the role do not make a cycle."""
    imports = [i for i in _all_imports() if _part(i.path) == part and not i.type_checking and not i.by_name]
    prefix = f"mmroute.{part}."
    modules = {_module_name(p) for p in (PACKAGE / part).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for i in imports:
        src = _module_name(PACKAGE / i.path)
        # "from .model import softmax" names both mmroute.routing.model and mmroute.routing.model.softmax
        dst = i.target if i.target in modules else i.target.rpartition(".")[0]
        if i.target.startswith(prefix) and dst in modules and dst not in (src, f"mmroute.{part}"):
            graph.setdefault(src, set()).add(dst)
    assert not _cycles(graph), _cycles(graph)
