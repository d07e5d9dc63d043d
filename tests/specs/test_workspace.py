"""uv workspaces select what uv selects: the root project and what it reaches, --all-packages, --package, groups.

The reference is uv itself: `uv lock` of the fixture against the same loopback index, then
`uv export` with the same selection gives the packages `uv sync` would install. incrinstall's
fresh resolution (its own resolver for `plan`, uv's for a baseline into an empty venv) must
pin exactly those, and the workspace members it reaches must be the ones uv installs editable.
The tree's uv.lock is uv's reference here, not incrinstall's input: incrinstall runs with --no-lock
(with it, the lock would be the truth: tests/e2e/test_lock.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.trees import write_tree
from tests.support.venvs import installed, run_uv

pytestmark = pytest.mark.slow

BUILD = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'

TREE = {
    # The root: a member through a workspace source, an extra naming a member provider, groups with
    # include-group and a self-referencing extra (Airflow 3's `dev = ["apache-airflow[all]"]`).
    "pyproject.toml": """\
        [project]
        name = "ws-root"
        version = "1.0"
        dependencies = ["core-lite", "rdep>=1"]
        [project.optional-dependencies]
        all = ["prov-a"]
        [dependency-groups]
        dev = ["pytest-lite", {include-group = "docs"}]
        docs = ["sphinx-lite"]
        everything = ["ws-root[all]"]
        [tool.uv.sources]
        core-lite = { workspace = true }
        prov-a = { workspace = true }
        [tool.uv.workspace]
        members = ["packages/*", "providers/*"]
        """ + BUILD,
    "packages/core/pyproject.toml": """\
        [project]
        name = "core-lite"
        version = "3.0"
        dependencies = ["cdep"]
        [dependency-groups]
        dev = ["core-dev-lite"]
        """ + BUILD,
    # Providers are members with a provider.yaml beside their pyproject.toml (Airflow 3): the
    # pyproject.toml declares the dependencies, and nothing seeds them unless selected or reached.
    "providers/a/pyproject.toml": """\
        [project]
        name = "prov-a"
        version = "1.2"
        dependencies = ["adep", "core-lite"]
        [dependency-groups]
        dev = ["a-dev-lite"]
        [tool.uv.sources]
        core-lite = { workspace = true }
        """ + BUILD,
    "providers/a/provider.yaml": "package-name: prov-a\nversions:\n  - 1.2\ndependencies:\n  - yaml-only-dep\n",
    "providers/b/pyproject.toml": """\
        [project]
        name = "prov-b"
        version = "1.0"
        dependencies = ["bdep<2"]
        """ + BUILD,
    "providers/b/provider.yaml": "package-name: prov-b\nversions:\n  - 1.0\ndependencies:\n  - bdep<2\n",
}

SELECTIONS = {
    "default": [],
    "all-packages": ["--all-packages"],
    "package": ["--package", "prov-b"],
    "extra": ["--extra", "all"],
    "group": ["--group", "dev"],
    "group-self-extra": ["--group", "everything"],
    "all-packages-group": ["--all-packages", "--group", "dev"],
    "package-group": ["--package", "prov-a", "--group", "dev"],
}


@pytest.fixture
def workspace(index, tmp_path):
    for name in ("rdep", "cdep", "adep", "pytest-lite", "sphinx-lite", "core-dev-lite", "a-dev-lite", "yaml-only-dep"):
        index.add_wheel(name, "1.0")
    index.add_wheel("rdep", "1.1")
    index.add_wheel("bdep", "1.5")
    index.add_wheel("bdep", "2.0")  # excluded by prov-b's bound
    tree = write_tree(tmp_path / "ws", TREE)
    run_uv(["lock", "--no-config", "--index-url", index.url, "--directory", str(tree)])
    return tree


def uv_selection(tree: Path, args: list[str]) -> tuple[dict[str, str], set[str]]:
    """(pins from the index, workspace members installed editable) that `uv sync` would install."""
    out = run_uv(["export", "--no-config", "--frozen", "--no-hashes", "--no-header", "--no-annotate",
                  "--no-default-groups", "--directory", str(tree), *args]).stdout
    pins, members = {}, set()
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("-e "):
            folder = tree / line[3:].strip()
            members.add(folder.resolve().name if folder.resolve() != tree.resolve() else ".")
        elif line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = version
    return pins, members


@pytest.mark.parametrize("selection", sorted(SELECTIONS))
def test_fresh_resolution_equals_uv_for_each_selection(workspace, index, run_cli, venv_factory, selection):
    args = SELECTIONS[selection]
    expected, _members = uv_selection(workspace, args)
    python = venv_factory("target")
    proc = run_cli("plan", workspace, "--python", python, "--index-url", index.url, "--json", "--no-lock", *args)
    assert proc.returncode == 0, proc.stderr
    planned = {a["name"]: a["to"] for a in json.loads(proc.stdout)["actions"] if a["action"] == "install"}
    assert planned == expected


@pytest.mark.parametrize("selection", ["default", "all-packages-group", "package-group"])
def test_baseline_by_uv_into_an_empty_venv_equals_uv_sync(workspace, index, run_cli, venv_factory, selection):
    args = SELECTIONS[selection]
    expected, _members = uv_selection(workspace, args)
    python = venv_factory("target")
    proc = run_cli("baseline", workspace, "--python", python, "--index-url", index.url, "--no-lock", *args)
    assert proc.returncode == 0, proc.stderr
    assert installed(python) == expected


def test_unknown_package_names_the_valid_workspace_members(workspace, index, run_cli, venv_factory):
    proc = run_cli("plan", workspace, "--python", venv_factory("target"), "--index-url", index.url, "--no-lock",
                   "--package", "nope")
    assert proc.returncode == 2
    assert "nope" in proc.stderr and "core-lite, prov-a, prov-b, ws-root" in proc.stderr
