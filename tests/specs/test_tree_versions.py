"""The tree's own packages have real versions, and every requirement on them is checked against it.

The project below has a dynamic version (hatchling reads it from `myproj/__init__.py`, as
Airflow's does), and the index holds a provider-like package whose newest release requires a
newer project than the tree is. Real hatchling computes the version (served from loopback),
real uv installs, and every path must refuse the too-new release: uv's fresh resolution
(baseline into an empty venv), incrinstall's resolver (baseline into a venv with packages of
its own), and the delta walk (a sync after the tree's version went down).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.venvs import installed, pip_check, uv_pip_install
from tests.support.world import World

pytestmark = pytest.mark.slow

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "myproj"
dynamic = ["version"]
dependencies = ["prov-lite", "plugin-lite"]

[project.optional-dependencies]
x = ["extra-dep-lite"]

[tool.hatch.version]
path = "myproj/__init__.py"

[tool.hatch.build.targets.wheel]
packages = ["myproj"]
"""


def write_tree(root: Path, version: str) -> Path:
    (root / "myproj").mkdir(parents=True, exist_ok=True)
    (root / "myproj" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


@pytest.fixture
def served(index):
    index.add_wheel("prov-lite", "1.0", requires_dist=["myproj>=2.0"])
    index.add_wheel("prov-lite", "2.0", requires_dist=["myproj>=2.11"])  # newest: too new for a 2.10 tree
    index.add_wheel("plugin-lite", "1.0", requires_dist=["myproj[x]>=2.0"])  # brings in the tree's extra
    index.add_wheel("extra-dep-lite", "1.0")
    index.add_wheel("myproj", "2.11.0", requires_dist=["poison-lite"])  # the tree provides myproj, never the index
    index.add_wheel("poison-lite", "1.0")
    index.add_wheel("unrelated-lite", "1.0")
    return index


@pytest.fixture
def world(tmp_path, served, real_wheels_index, venv_factory) -> World:
    """The CLI on a venv `target` against the served packages and the real hatchling wheels."""
    return World(tmp_path, served, venv_factory("target"), extra_index=real_wheels_index.url)


def assert_consistent_with_the_tree(python, tree_version: str) -> None:
    """uv pip check is clean but for the tree's package itself, which a baseline does not install."""
    ok, output = pip_check(python)
    if ok:
        return
    lines = [line for line in output.splitlines() if "requires" in line]
    assert lines and all("myproj" in line and "not installed" in line for line in lines), output


def test_baseline_into_an_empty_venv_checks_requirements_on_the_tree_at_its_dynamic_version(
        world, served, tmp_path):
    python = world.python
    tree = write_tree(tmp_path / "tree", "2.10.4")

    world.run("baseline", tree)
    assert installed(python) == {"prov-lite": "1.0", "plugin-lite": "1.0", "extra-dep-lite": "1.0"}
    assert_consistent_with_the_tree(python, "2.10.4")
    assert not any("myproj" in path or "poison" in path for _m, path in served.requests)

    # The project installed editable on top: every requirement is met, at the tree's real version.
    world.run("sync", tree, "--editable")
    assert installed(python) == {"prov-lite": "1.0", "plugin-lite": "1.0", "extra-dep-lite": "1.0",
                                 "myproj": "2.10.4"}
    ok, output = pip_check(python)
    assert ok, output


def test_baseline_with_our_resolver_checks_the_tree_version_and_brings_in_the_trees_extra(
        world, served, tmp_path):
    python = world.python
    uv_pip_install(python, "unrelated-lite", index_url=served.url)  # not empty: incrinstall's resolver decides
    tree = write_tree(tmp_path / "tree", "2.10.4")

    world.run("baseline", tree)
    assert installed(python) == {"prov-lite": "1.0", "plugin-lite": "1.0", "extra-dep-lite": "1.0",
                                 "unrelated-lite": "1.0"}
    assert_consistent_with_the_tree(python, "2.10.4")


def test_sync_after_the_tree_version_goes_down_replaces_what_requires_a_newer_tree(world, tmp_path):
    python = world.python
    tree = write_tree(tmp_path / "tree", "2.11.0")
    world.run("sync", tree, "--editable")
    assert installed(python)["prov-lite"] == "2.0"

    write_tree(tree, "2.10.4")  # the branch is older than main: only the version-bearing file changed
    proc = world.run("sync", tree, "--editable", "--json")
    summary = json.loads(proc.stdout)
    assert installed(python) == {"prov-lite": "1.0", "plugin-lite": "1.0", "extra-dep-lite": "1.0",
                                 "myproj": "2.10.4"}
    assert [c["name"] for c in summary["changed"]] == ["prov-lite"], summary
    ok, output = pip_check(python)
    assert ok, output


def test_plan_names_the_file_when_a_requirement_on_a_tree_package_without_a_version_cannot_be_checked(
        index, tmp_path, run_cli, venv_factory):
    index.add_wheel("plugin-lite", "1.0", requires_dist=["myproj-providers-x>=1.0"])
    tree = tmp_path / "tree"
    (tree / "providers" / "x").mkdir(parents=True)
    (tree / "pyproject.toml").write_text('[project]\nname = "myproj"\nversion = "1.0"\n'
                                         'dependencies = ["plugin-lite"]\n')
    # A provider.yaml without `versions`: the tree states no version for that package.
    (tree / "providers" / "x" / "provider.yaml").write_text("package-name: myproj-providers-x\n")
    python = venv_factory("target")

    proc = run_cli("plan", tree, "--python", python, "--index-url", index.url)
    assert proc.returncode != 0
    assert "providers/x/provider.yaml" in proc.stderr and "states no version" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
