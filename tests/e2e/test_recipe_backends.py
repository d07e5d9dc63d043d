"""The Docker flow for every backend: `recipe` -> `sync --editable` on the recipe -> sources copied over it -> import.

Each shape is a small real project built by its real backend (from the real-wheels loopback
index): after the sync, the full tree is copied over the recipe folder, as README's Dockerfile
does with `COPY . .`, and the venv must import the copied sources (a value only the real source
has), run the project's console script, and pass `uv pip check`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.recipe_shapes import MARK, SHAPES, Shape
from tests.support.trees import write_tree
from tests.support.venvs import pip_check

pytestmark = pytest.mark.slow

@pytest.fixture
def flow(index, real_wheels_index, run_cli, venv_factory, tmp_path):
    """Run the recipe flow on a tree; returns (venv python, recipe folder, recipe JSON)."""
    index.add_wheel("dep-lite", "1.0")
    common = ["--index-url", index.url, "--extra-index-url", real_wheels_index.url]

    def run(shape: Shape, *, name: str = "tree") -> tuple[Path, Path, dict]:
        tree = write_tree(tmp_path / name, shape.files)
        app = tmp_path / "app"
        python = venv_factory()
        proc = run_cli("recipe", tree, "--out", app, "--python", python, "--json", *common)
        assert proc.returncode == 0, proc.stderr
        written = json.loads(proc.stdout)
        # No source of the tree is in the recipe, only empty placeholders where the backend looks for packages.
        assert MARK not in (app / shape.source).read_text() if (app / shape.source).exists() else True
        proc = run_cli("sync", app, "--editable", "--python", python, *common)
        assert proc.returncode == 0, proc.stderr
        shutil.copytree(tree, app, dirs_exist_ok=True)  # COPY . . over the recipe, no RUN after it
        return python, app, written

    return run


@pytest.mark.parametrize("shape_name", list(SHAPES))
def test_recipe_flow_imports_the_sources_copied_over_the_recipe(shape_name, flow, tmp_path):
    shape = SHAPES[shape_name]
    python, app, written = flow(shape)
    assert written["roots"] == shape.roots
    probe = subprocess.run([str(python), "-c", f"import {shape.module} as m; print(m.__file__); print(m.VALUE)"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    where, value = probe.stdout.splitlines()
    assert Path(where) == app / shape.source
    assert value == MARK
    if shape.script is not None:
        script = subprocess.run([str(python.parent / shape.script)], capture_output=True, text=True, cwd=tmp_path)
        assert (script.returncode, script.stdout.strip()) == (0, MARK), script.stderr
    ok, output = pip_check(python)  # the dependencies too, also where only the backend can say them
    assert ok, output


def test_a_later_sync_of_the_full_tree_in_that_folder_sees_the_editable_install(flow, index, real_wheels_index,
                                                                                 run_cli, tmp_path):
    """The recipe's editable install says where it is from: a sync of the folder afterwards (the image's /app,
    the sources now there) keeps it, and a dependency edit refreshes its metadata in place."""
    index.add_wheel("other-lite", "1.0")
    common = ["--index-url", index.url, "--extra-index-url", real_wheels_index.url]
    python, app, _ = flow(SHAPES["setuptools-pyproject-flat"])
    proc = run_cli("sync", app, "--editable", "--python", python, *common)
    assert proc.returncode == 0, proc.stderr
    assert "(editable" not in proc.stdout and "0 changed" in proc.stdout  # the project stays as installed
    pyproject = app / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = ["dep-lite>=1"]',
                                                       'dependencies = ["dep-lite>=1", "other-lite"]'))
    proc = run_cli("sync", app, "--editable", "--python", python, "-v", *common)
    assert proc.returncode == 0, proc.stderr
    assert "+ other-lite==1.0" in proc.stdout
    assert "refreshed the editable install's metadata of flat-lite in place" in proc.stderr
    probe = subprocess.run([str(python), "-c", "import flatpkg; print(flatpkg.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path)
    assert probe.stdout.strip() == str(app / "flatpkg" / "__init__.py"), probe.stderr
    ok, output = pip_check(python)
    assert ok, output
