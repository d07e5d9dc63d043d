"""[tool.uv] build-constraint-dependencies bounds the build environments incrinstall makes, as uv's own do."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

PYPROJECT = """\
[project]
name = "bc"
dynamic = ["version"]
dependencies = ["dep-lite"]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.version]
path = "bc/__init__.py"

[tool.uv]
build-constraint-dependencies = [{constraint}]
"""


def _tree(tmp_path, constraint: str):
    tree = tmp_path / "tree"
    (tree / "bc").mkdir(parents=True)
    (tree / "bc" / "__init__.py").write_text('__version__ = "1.0"\n')
    (tree / "pyproject.toml").write_text(PYPROJECT.format(constraint=constraint))
    return tree


def test_a_build_constraint_that_admits_the_backend_is_honoured(tmp_path, index, real_wheels_index, run_cli,
                                                                venv_factory):
    index.add_wheel("dep-lite", "1.0")
    python = venv_factory("target")
    tree = _tree(tmp_path, '"hatchling>=1"')
    proc = run_cli("sync", tree, "--python", python, "--index-url", index.url, "--extra-index-url",
                   real_wheels_index.url)
    assert proc.returncode == 0, proc.stderr  # was refused: "build-constraint-dependencies ... does not implement"
    assert "+ dep-lite==1.0" in proc.stdout


def test_a_build_constraint_that_excludes_the_backend_stops_its_build_environment(tmp_path, index,
                                                                                  real_wheels_index, run_cli):
    tree = _tree(tmp_path, '"hatchling<0.1"')
    proc = run_cli("specs", tree, "--index-url", index.url, "--extra-index-url", real_wheels_index.url)
    assert proc.returncode == 2
    assert "cannot create the build environment" in proc.stderr and "hatchling" in proc.stderr
