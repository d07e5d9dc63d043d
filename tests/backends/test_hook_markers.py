"""Requires-Dist from a build backend hook: each line's marker is evaluated for the target, never pattern-matched."""

from __future__ import annotations

import sys

import pytest

from incrinstall.specs.model import Selection

from incrinstall.specs.collect import collect
from incrinstall.specs.backend_metadata import HookResult
from tests.support.trees import marker_env, write_tree

PYPROJECT = '''\
    [build-system]
    requires = ["hatchling"]
    build-backend = "hatchling.build"
    [project]
    name = "dyn"
    version = "1.0"
    dynamic = ["dependencies", "optional-dependencies"]
    '''

# Requires-Dist lines as a backend may write them (all valid PEP 508), by what they must give.
REQUIRES_DIST = [
    "always",
    'reversed-devel; "devel" == extra',
    'either-a-or-b; extra == "a" or extra == "b"',
    'old-python-x; (python_version < "3.12") and extra == "x"',
    'reversed-old-python-x; "x" == extra and python_version < "3.12"',
    'base-on-linux; sys_platform == "linux"',
    'base-on-windows; sys_platform == "win32"',
    'not-in-a; extra != "a"',
]


def hook(project_dir, markers, material, **kwargs):
    return HookResult(requires_dist=REQUIRES_DIST, provides_extra=["a", "b", "devel", "x"],
                      files=["pyproject.toml"], metadata_file="pyproject.toml")


def selected(tmp_path, *extras: str, python: str = "3.11") -> set[str]:
    tree = write_tree(tmp_path / "dyn", {"pyproject.toml": PYPROJECT})
    specset = collect(tree, Selection(extras=extras), marker_env(python), hook_runner=hook)
    return {r.requirement.split(";")[0] for r in specset.requirements}


BASE = {"always", "base-on-linux", "not-in-a"}


@pytest.mark.parametrize(("extras", "python", "expected"), [
    ((), "3.11", BASE),
    (("devel",), "3.11", BASE | {"reversed-devel"}),
    (("a",), "3.11", BASE | {"either-a-or-b"}),
    (("b",), "3.11", BASE | {"either-a-or-b"}),
    (("x",), "3.11", BASE | {"old-python-x", "reversed-old-python-x"}),
    (("x",), "3.13", BASE),  # the target's python_version decides, not the one running incrinstall
    (("a", "b", "devel", "x"), "3.11", BASE | {"reversed-devel", "either-a-or-b", "old-python-x",
                                                "reversed-old-python-x"}),
], ids=["base", "reversed-devel", "a-of-a-or-b", "b-of-a-or-b", "x-on-3.11", "x-on-3.13", "all"])
def test_hook_requirements_land_where_their_markers_put_them(tmp_path, extras, python, expected):
    assert selected(tmp_path, *extras, python=python) == expected


HATCH_TREE = {
    "pyproject.toml": '''\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "dyn"
        version = "1.0"
        dynamic = ["dependencies", "optional-dependencies"]
        [tool.hatch.metadata.hooks.custom]
        path = "hatch_build.py"
        [tool.hatch.build.targets.wheel]
        packages = ["dyn"]
        ''',
    "dyn/__init__.py": "",
    "hatch_build.py": '''\
        from hatchling.metadata.plugin.interface import MetadataHookInterface

        class CustomMetadataHook(MetadataHookInterface):
            def update(self, metadata):
                metadata["dependencies"] = [
                    "always-lite",
                    'reversed-devel-lite; "devel" == extra',
                    'either-lite; extra == "a" or extra == "b"',
                ]
                metadata["optional-dependencies"] = {"a": [], "b": [], "devel": []}
        ''',
}


def test_real_hatch_hook_with_reversed_extra_marker(tmp_path, real_wheels_index, monkeypatch):
    monkeypatch.setenv("UV_INDEX_URL", real_wheels_index.url)  # the isolated build env gets hatchling from loopback
    tree = write_tree(tmp_path / "dyn", HATCH_TREE)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    markers = marker_env(version, str(sys.version_info.micro))

    def names(*extras: str) -> set[str]:
        specset = collect(tree, Selection(extras=extras), markers, python=sys.executable)
        return {r.requirement.split(";")[0] for r in specset.requirements}

    assert names() == {"always-lite"}
    assert names("devel") == {"always-lite", "reversed-devel-lite"}
    assert names("b") == {"always-lite", "either-lite"}
