"""The package layout that ARCHITECTURE.md describes: each stage imports only from the stages below it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from tests.support.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "incrinstall"

# Lowest first. A package may import from its own folder and from any lower layer; two packages
# of one layer are independent of each other. The top layer (modules directly under
# incrinstall/) may import anything.
LAYERS = [
    ("common",),
    ("environment",),
    ("backends",),
    ("index", "specs"),
    ("resolve",),
    ("install",),
]
TOP = "<top>"


def _unit(module: str) -> str:
    """The stage folder a dotted module belongs to, or TOP for a module directly under incrinstall/."""
    parts = module.split(".")
    if len(parts) >= 3 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()):
        return parts[1]
    return TOP


def _rank(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    return len(LAYERS)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every incrinstall import in the file, function-level ones included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "incrinstall":
            if node.module == "incrinstall":
                out += [(node.lineno, f"incrinstall.{a.name}") for a in node.names if a.name != "__version__"]
            else:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("incrinstall.")]
    return out


def _violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        me = ".".join(rel.with_suffix("").parts)
        mine = _unit(me)
        if mine == TOP:
            continue
        for line, target in _imports(path):
            theirs = _unit(target)
            if theirs == mine:
                continue
            if theirs == TOP or _rank(theirs) >= _rank(mine):
                found.append(f"{rel}:{line} imports {target} ({mine} may not import {theirs})")
    return found


def test_every_stage_folder_is_in_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {unit for layer in LAYERS for unit in layer}


def test_no_folder_is_named_like_build_output():
    # pytest's norecursedirs, black's excludes and the common .gitignore all skip "build" and "target".
    folders = {p.name for p in PACKAGE.rglob("*") if p.is_dir()}
    assert not folders & {"build", "target", "dist"}


def test_no_stage_imports_from_a_stage_above_it():
    assert _violations() == []


def test_package_faces_hold_no_code():
    # An __init__.py runs on every import of its folder: the no-op path must not pay for logic there.
    for init in PACKAGE.glob("*/__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body), init


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    # The rule above must be able to fail: an index module importing the resolver is reported.
    fake = tmp_path / "incrinstall"
    for unit in ("common", "environment", "backends", "index", "specs", "resolve", "install"):
        (fake / unit).mkdir(parents=True)
        (fake / unit / "__init__.py").write_text('"""x"""\n')
    (fake / "index" / "client.py").write_text("def f():\n    from incrinstall.resolve.resolver import resolve\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert _violations() == ["incrinstall/index/client.py:2 imports incrinstall.resolve.resolver "
                             "(index may not import resolve)"]
