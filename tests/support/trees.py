"""Small project trees and marker environments for spec tests, independent of the running Python."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write `relpath -> text` (dedented) under root; returns root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def marker_env(python: str = "3.12", patch: str = "1", **overrides: str) -> dict[str, str]:
    """A complete PEP 508 marker environment for a Linux CPython `python` (e.g. "3.12")."""
    full = f"{python}.{patch}"
    env = {
        "implementation_name": "cpython", "implementation_version": full, "os_name": "posix",
        "platform_machine": "x86_64", "platform_release": "6.1.0", "platform_system": "Linux",
        "platform_version": "#1 SMP", "python_full_version": full, "platform_python_implementation": "CPython",
        "python_version": python, "sys_platform": "linux",
    }
    env.update(overrides)
    return env


def write_project(folder: Path, deps: list[str], tool: str = "", *, name: str = "proj", version: str = "0.1") -> Path:
    """A static pyproject.toml with one requirement per line (deps[i] on line 5 + i), then `tool` verbatim."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[project]", f'name = "{name}"', f'version = "{version}"', "dependencies = ["]
    lines += [f'  "{d}",' for d in deps] + ["]"]
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n" + tool)
    return folder
