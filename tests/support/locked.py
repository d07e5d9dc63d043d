"""Locked fixtures: a small project and a small workspace, locked by the uv the tests use, and uv's own install.

Both are locked with `uv lock` against a LoopbackIndex (the test's autouse fixture isolates uv from the
machine's configuration and gives it its own cache), from small wheels built here. Each has extras,
dependency groups, a package locked at two versions split by a marker (`split` 1.0 below Python 3.12,
2.0 from 3.12), a package for Windows only, and a package with wheels for several targets (`native`).
`change()` moves a tree to its second version (a bump, an added and a dropped dependency) and locks
again, as a branch would.

`uv_sync_frozen()` is the reference: `uv sync --frozen --no-install-workspace` into another venv, the
tree's own packages left out as incrinstall leaves them out without --editable.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from tests.support.index_server import LoopbackIndex
from tests.support.venvs import run_uv, site_packages

NATIVE_TAGS = ("cp311-cp311-manylinux_2_17_x86_64", "cp312-cp312-manylinux_2_17_x86_64", "py3-none-any")


def fill_index(index: LoopbackIndex) -> None:
    """Every wheel either version of either tree locks."""
    index.add_wheel("alpha", "1.0", requires_dist=["beta>=1"])
    index.add_wheel("alpha", "1.1", requires_dist=["beta>=1", "newdep"])
    index.add_wheel("beta", "1.0")
    index.add_wheel("beta", "2.0")
    index.add_wheel("split", "1.0")
    index.add_wheel("split", "2.0")
    index.add_wheel("winonly", "1.0")
    index.add_wheel("gamma", "1.0", extras={"speed": ["delta"]})
    index.add_wheel("delta", "1.0")
    index.add_wheel("sphinxy", "1.0")
    index.add_wheel("pytesty", "8.0", requires_dist=["beta"])
    index.add_wheel("linty", "1.0")
    index.add_wheel("dropme", "1.0")
    index.add_wheel("newdep", "1.0")
    for tag in NATIVE_TAGS:
        index.add_wheel("native", "1.0", tag=tag)


SPLIT = ["split==1.0; python_version < '3.12'", "split==2.0; python_version >= '3.12'"]


def _toml_list(items: Sequence[str]) -> str:
    return json.dumps(list(items))


def write_project(root: Path, *, version: int = 1) -> Path:
    """A single project with a lock's worth of everything: extras, groups, a marker split, platform wheels."""
    deps = ["alpha==1.0" if version == 1 else "alpha==1.1", *SPLIT, "winonly; sys_platform == 'win32'", "native"]
    if version == 1:
        deps.append("dropme")
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "app"
        version = "0.1"
        requires-python = ">=3.10"
        dependencies = {_toml_list(deps)}

        [project.optional-dependencies]
        fast = ["gamma[speed]"]
        docs = ["sphinxy"]

        [dependency-groups]
        dev = ["pytesty"]
        lint = ["linty"]
        """))
    return root


def write_workspace(root: Path, *, version: int = 1) -> Path:
    """A workspace whose root has no [project]: members core and cli (cli needs core), groups at both levels."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.uv.workspace]
        members = ["packages/*"]

        [dependency-groups]
        dev = ["pytesty"]
        ci = ["linty"]
        """))
    core_deps = ["beta>=1", *SPLIT] + (["dropme"] if version == 1 else [])
    (root / "packages" / "core").mkdir(parents=True, exist_ok=True)
    (root / "packages" / "core" / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "core"
        version = "1.0"
        requires-python = ">=3.10"
        dependencies = {_toml_list(core_deps)}

        [project.optional-dependencies]
        fast = ["gamma[speed]"]

        [dependency-groups]
        dev = ["sphinxy"]
        """))
    (root / "packages" / "cli").mkdir(parents=True, exist_ok=True)
    alpha = "alpha==1.0" if version == 1 else "alpha==1.1"
    (root / "packages" / "cli" / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "cli"
        version = "2.0"
        requires-python = ">=3.10"
        dependencies = ["core", "{alpha}", "winonly; sys_platform == 'win32'"]

        [project.optional-dependencies]
        native = ["native"]

        [tool.uv.sources]
        core = {{ workspace = true }}
        """))
    return root


def uv_lock(tree: Path, index: LoopbackIndex) -> Path:
    """`uv lock` of the tree against the loopback index; returns the uv.lock."""
    run_uv(["lock", "--index-url", index.url, "--python", sys.executable], cwd=tree)
    return tree / "uv.lock"


def uv_sync_frozen(tree: Path, python: Path, *selection: str) -> None:
    """The reference install: `uv sync --frozen` of the tree into the venv of `python`, its own packages left out."""
    run_uv(["sync", "--frozen", "--no-install-workspace", *selection],
           cwd=tree, env={"UV_PROJECT_ENVIRONMENT": str(python.parent.parent)})


def wheel_tags(python: Path) -> dict[str, str]:
    """{name: the Tag line of its WHEEL file}: which of several wheels of one version was installed."""
    out = {}
    for site in site_packages(python):
        for entry in os.scandir(site):
            wheel = os.path.join(entry.path, "WHEEL")
            if entry.name.endswith(".dist-info") and os.path.isfile(wheel):
                tags = [line.split(":", 1)[1].strip() for line in Path(wheel).read_text().splitlines()
                        if line.startswith("Tag:")]
                out[entry.name[: -len(".dist-info")].rsplit("-", 1)[0].lower()] = ",".join(tags)
    return out
