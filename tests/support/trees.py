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
