"""The house keeps its plan: layers as folders, calls one way, small modules and functions,
no import circle (imports inside functions count), no work at import time."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# (most lines of a module, of a function): the product is held to the tighter bound
LIMITS = {"app": (400, 60), "eval": (500, 80)}

# Lower layers never import higher ones. Peers of one rank do not import each other.
RANKS = {
    "app.errors": 0,
    "app.config": 1,
    "app.plugins": 1,
    "app.text": 2,
    "app.domain": 3,
    "app.corpus": 4,
    "app.index": 5,
    "app.llm": 5,
    "app.testing": 6,  # the fakes stand in for the backends of app.llm
    "app.answer": 6,
    "app.claims": 7,
    "app.services": 8,
    "app.wiring": 9,
    "app.adapters": 10,
    "app.__main__": 11,
}
# What an adapter may import besides itself: the services and the shared value types.
ADAPTER_MAY_IMPORT = (
    "app.services",
    "app.wiring",
    "app.domain",
    "app.errors",
    "app.config",
    "app.text.dates",
    "app.answer.reply",  # the reply's value types (Answer, Token, Stage, Final)
    "app.claims.checker",  # the claim check's report types
)


def modules(package: str) -> dict[str, Path]:
    found = {}
    for path in (REPO / package).rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of ours a file imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def layer(module: str) -> str:
    return next(p for p in sorted(RANKS, key=len, reverse=True) if module == p or module.startswith(p + "."))


@pytest.mark.parametrize("package", ["app", "eval"])
def test_modules_and_functions_are_small(package):
    max_module_lines, max_function_lines = LIMITS[package]
    too_long = []
    for name, path in modules(package).items():
        source = path.read_text()
        if len(source.splitlines()) > max_module_lines:
            too_long.append(f"{name}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > max_function_lines:
                    too_long.append(f"{name}.{node.name}: {lines} lines")
    assert not too_long


@pytest.mark.parametrize("package", ["app", "eval"])
def test_no_import_circle(package):
    known = modules(package)
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    # a package's __init__ re-exporting its modules is not a circle with them
    for name in graph:
        graph[name] = {m for m in graph[name] if not (name.startswith(m + ".") and known[m].name == "__init__.py")}
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state[nxt] == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if state[nxt] == 0 and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if state[start] == 0:
            assert (cycle := visit(start, [start])) is None, " -> ".join(cycle)


def test_calls_go_one_way():
    known = modules("app")
    wrong = []
    for name, path in known.items():
        if name == "app":
            continue
        mine = layer(name)
        for used in imports(path, known) - {"app"}:
            theirs = layer(used)
            if theirs == mine or used.startswith(name + "."):
                continue
            if RANKS[theirs] >= RANKS[mine]:
                wrong.append(f"{name} ({mine}) imports {used} ({theirs})")
            if mine == "app.adapters" and not used.startswith(ADAPTER_MAY_IMPORT):
                wrong.append(f"adapter {name} reaches past the services into {used}")
    assert not wrong


def test_the_answer_wing_keeps_to_itself():
    """The path of a question (app/answer/) imports no adapter and no service, and the claim
    check (app/claims/) builds on it, never the reverse."""
    known = modules("app")
    wrong = []
    for name, path in known.items():
        if not name.startswith("app.answer"):
            continue
        for used in imports(path, known):
            if used.startswith(("app.adapters", "app.services", "app.wiring", "app.claims")):
                wrong.append(f"{name} imports {used}")
    assert not wrong


def test_no_two_classes_of_one_name():
    """One name, one class: a reader never has to ask which ``Context`` is meant."""
    where = defaultdict(list)
    for name, path in modules("app").items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(name)
    assert not {cls: places for cls, places in where.items() if len(places) > 1}


def test_no_formatter_switched_off():
    """The formatter runs over every line of app/: no ``fmt: skip`` or ``fmt: off``."""
    marked = [
        f"{path.relative_to(REPO)}:{i}"
        for path in (REPO / "app").rglob("*.py")
        for i, line in enumerate(path.read_text().splitlines(), start=1)
        if "# fmt: skip" in line or "# fmt: off" in line
    ]
    assert not marked


def test_no_module_file_name_twice():
    """No two modules of app/ share a file name (two ``claims.py``, two ``models.py``)."""
    names = defaultdict(list)
    for path in (REPO / "app").rglob("*.py"):
        if path.name != "__init__.py":
            names[path.name].append(str(path.relative_to(REPO)))
    assert not {n: paths for n, paths in names.items() if len(paths) > 1}


def test_at_least_three_subpackages():
    subpackages = [p for p in (REPO / "app").iterdir() if (p / "__init__.py").is_file()]
    assert len(subpackages) >= 3


def test_importing_the_package_does_no_work():
    """Importing every module sets no environment variable and configures no logging."""
    code = (
        "import importlib, logging, os, sys; before = dict(os.environ);"
        f"names = {sorted(modules('app'))!r};"
        "[importlib.import_module(n) for n in names if n != 'app.__main__'];"
        "changed = {k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k)};"
        "handlers = logging.getLogger().handlers;"
        "sys.exit(f'env {sorted(changed)} handlers {handlers}' if changed or handlers else 0)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "GRADIO_ANALYTICS_ENABLED")}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
