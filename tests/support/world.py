"""One test world: a loopback index, a target venv and a project tree, driven through the real CLI.

`main/` is the tree a baseline is made from, `work/` the branch a sync reads. Each test file fills
the index with its own packages and writes its own pyproject.toml (`write_project` takes a template),
then calls `world.baseline(deps)`, `world.sync(deps)`, `world.plan()` and reads `world.state()`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import tomlkit

from tests.support.index_server import LoopbackIndex

# A [project] with dependencies and nothing to build: what most tests need.
PLAIN_PYPROJECT = """\
[project]
name = "myproj"
version = "0.1"
dependencies = {deps}
"""

# The same project, buildable by hatchling from a `myproj/` package (for --editable).
HATCH_PYPROJECT = PLAIN_PYPROJECT + """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["myproj"]
"""


def write_project(root: Path, deps: list[str], *, template: str = PLAIN_PYPROJECT, package: str | None = None) -> Path:
    """pyproject.toml from `template` (its `{deps}` filled in as a TOML list); `package`: an empty package too."""
    root.mkdir(parents=True, exist_ok=True)
    if package is not None:
        (root / package).mkdir(exist_ok=True)
        (root / package / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(template.format(deps=json.dumps(deps)))
    return root


class World:
    """One project (`main` for the baseline, `work` for the branch), one venv, one or two indexes."""

    def __init__(self, tmp: Path, index: LoopbackIndex, run_cli: Callable[..., subprocess.CompletedProcess],
                 python: Path, *, template: str = PLAIN_PYPROJECT, package: str | None = None,
                 extra_index: str | None = None):
        self.tmp, self.index, self.run_cli, self.python = tmp, index, run_cli, python
        self.prefix = python.parent.parent
        self.template, self.package = template, package
        self.index_args = ["--index-url", index.url] + (["--extra-index-url", extra_index] if extra_index else [])
        self.main = tmp / "main"
        self.work = tmp / "work"

    def project(self, root: Path, deps: list[str]) -> Path:
        return write_project(root, deps, template=self.template, package=self.package)

    def run(self, command: str, *args, ok: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """The CLI with this world's --python and index; `ok` asserts exit 0 (with the output in the message)."""
        proc = self.run_cli(command, *args, "--python", self.python, *self.index_args, env=env)
        if ok:
            assert proc.returncode == 0, f"{command} exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def baseline(self, deps: list[str], *args, ok: bool = True) -> subprocess.CompletedProcess:
        return self.run("baseline", self.project(self.main, deps), *args, ok=ok)

    def sync(self, deps: list[str] | None = None, *args, ok: bool = True,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        if deps is not None:
            self.project(self.work, deps)
        return self.run("sync", self.work, *args, ok=ok, env=env)

    def plan(self, deps: list[str] | None = None, *args, ok: bool = True) -> subprocess.CompletedProcess:
        if deps is not None:
            self.project(self.work, deps)
        return self.run("plan", self.work, *args, ok=ok)

    def state(self) -> dict:
        """The state file (pylock.toml) as plain data."""
        return tomlkit.parse((self.prefix / ".incrinstall" / "pylock.toml").read_text()).unwrap()

    def managed(self) -> set[str]:
        return set(self.state()["tool"]["incrinstall"]["managed"])
