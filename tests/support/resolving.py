"""The resolver in process, wired as the pipeline wires it: an index client for a target, and a ResolverWorld.

Where the CLI tests see only the rendered plan, these let a test look inside a Resolution (pins,
extras, provenance, request counts):
- `index_client(interpreter, config)`: the IndexClient the pipeline makes for that target;
- `roots("a>=1", "b")`: root requirements as pyproject.toml lines 1, 2, ...;
- `ResolverWorld(index, python)`: a venv filled by uv from the index, and `resolve()` reading it as incrinstall does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from incrinstall.common.config import IndexConfig
from incrinstall.environment.installed import read_installed
from incrinstall.environment.interpreter import Interpreter, find_interpreter
from incrinstall.index.client import IndexClient
from incrinstall.resolve import resolver
from incrinstall.specs.model import RootRequirement
from tests.support.index_server import LoopbackIndex
from tests.support.venvs import uv_pip_install


def index_client(interpreter: Interpreter, config: IndexConfig | str, **options: Any) -> IndexClient:
    """The IndexClient for `interpreter` (its Python version and tags) on `config` (or just an index URL).

    `options` go to IndexClient (cache_dir, build_python, ...); use it as a context manager to close it.
    """
    if isinstance(config, str):
        config = IndexConfig(index_url=config)
    return IndexClient(config, python_full_version=interpreter.version, tags=list(interpreter.tags), **options)


def roots(*texts: str, file: str = "pyproject.toml") -> list[RootRequirement]:
    """Root requirements from pyproject.toml's dependencies, one a line from line 1 (or `file`'s)."""
    return [RootRequirement(t, f"{file}:{n}", "pyproject") for n, t in enumerate(texts, 1)]


class ResolverWorld:
    """A venv (filled by uv from the index) and a resolve() that reads it as incrinstall does."""

    def __init__(self, index: LoopbackIndex, python: Path):
        self.index = index
        self.python = python
        self.interpreter = find_interpreter(str(python))
        self.client: IndexClient | None = None

    def install(self, *args: str) -> None:
        """uv pip install ARGS from the index; then the index's request log starts again."""
        uv_pip_install(self.python, *args, index_url=self.index.url)
        self.index.reset_log()

    def resolve(self, *texts: str, constraints: tuple[str, ...] = (), use_index: bool = True,
                **kwargs: Any) -> resolver.Resolution:
        """resolver.resolve() of `texts` (and `constraints`) against the venv as installed now and the index."""
        self.client = index_client(self.interpreter, self.index.url) if use_index else None
        return resolver.resolve(
            roots(*texts), roots(*constraints, file="constraints.txt"), interpreter=self.interpreter,
            installed=read_installed(self.interpreter.site_dirs), index=self.client, **kwargs)
