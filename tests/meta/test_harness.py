"""The test suite's own layout: one harness (tests/support), listed in its index, and what may import what.

Tests import the product and tests.support; benchmarks may import tests.support; nothing under tests/
imports benchmarks or another test module. A World or an HTTP server is defined in tests/support,
where every test finds it, and subclassed (not copied) where a suite needs more.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"
SUPPORT = TESTS / "support"

# Files that keep a harness of their own, and why.
OWN_HARNESS = {
    # The Docker suite's World builds images on a real engine; it is reworked with that suite.
    "tests/slow/test_docker.py": "the Docker suite's image-building World",
}
SERVER_BASES = {"BaseHTTPRequestHandler", "SimpleHTTPRequestHandler", "HTTPServer", "ThreadingHTTPServer",
                "TCPServer", "ThreadingTCPServer"}


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "packse" not in p.relative_to(TESTS).parts[:2])


def _imported(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """(line, the dotted modules it may import) of every import statement, function-level ones included."""
    out: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.lineno, [node.module] + [f"{node.module}.{a.name}" for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, [a.name]) for a in node.names]
    return out


def _forbidden(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "benchmarks":
        return "benchmarks"
    if parts[0] == "tests" and len(parts) > 2 and parts[1] != "support" and parts[2].startswith("test_"):
        return "the test module " + ".".join(parts[:3])
    return None


def _rel(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def test_nothing_under_tests_imports_benchmarks_or_another_test_module():
    found = []
    for path in _python_files():
        for line, modules in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            what = next((w for w in map(_forbidden, modules) if w), None)
            if what:
                found.append(f"{_rel(path)}:{line} imports {what}")
    assert found == [], "\n".join(found)


def test_worlds_and_servers_are_defined_only_in_the_harness():
    found = []
    for path in _python_files():
        if path.is_relative_to(SUPPORT) or _rel(path) in OWN_HARNESS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "" for b in node.bases}
            if node.name.endswith("World") and not bases & {"World", "LoopbackIndex", "LoopbackServer"}:
                found.append(f"{_rel(path)}:{node.lineno} class {node.name}: a World of its own (tests/support/world.py)")
            if bases & SERVER_BASES:
                found.append(f"{_rel(path)}:{node.lineno} class {node.name}: a server of its own "
                             "(tests/support/loopback.py)")
    assert found == [], "\n".join(found)


def test_the_harness_index_lists_every_module_of_the_harness():
    index = ast.get_docstring(ast.parse((SUPPORT / "__init__.py").read_text(encoding="utf-8"))) or ""
    listed = set(re.findall(r"^- ([a-z_]+\.py) ", index, re.MULTILINE))
    present = {p.name for p in SUPPORT.glob("*.py")} - {"__init__.py"}
    assert listed == present, f"not listed: {sorted(present - listed)}; listed but absent: {sorted(listed - present)}"


def test_every_harness_module_says_its_job():
    silent = [p.name for p in sorted(SUPPORT.glob("*.py")) if p.name != "__init__.py"
              and not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert silent == []
