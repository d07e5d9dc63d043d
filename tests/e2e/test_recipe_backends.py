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
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.trees import write_tree
from tests.support.venvs import pip_check

pytestmark = pytest.mark.slow

MARK = "from the real source"


@dataclass
class Shape:
    files: dict[str, str]
    module: str  # what `import` must find
    source: str  # the file it must come from, relative to the project
    script: str | None = None  # a console script printing MARK
    roots: list[str] = field(default_factory=lambda: ["."])


def _module(value: str = MARK) -> str:
    return f'VALUE = "{value}"\n\ndef main():\n    print(VALUE)\n'


SHAPES: dict[str, Shape] = {
    "setuptools-setup.py": Shape(
        {
            "setup.py": """\
                from setuptools import setup
                setup(name="sp-lite", version="1.0", packages=["sp", "sp.sub"], install_requires=["dep-lite>=1"],
                      long_description=open("README.md").read(),
                      entry_points={"console_scripts": ["sp-hello = sp:main"]})
                """,
            "README.md": "# sp\n",
            "sp/__init__.py": _module(),
            "sp/sub/__init__.py": "X = 1\n",
        },
        module="sp", source="sp/__init__.py", script="sp-hello"),
    "setuptools-setup.cfg": Shape(
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n',
            "setup.cfg": """\
                [metadata]
                name = cfg-lite
                version = attr: cfgpkg.version.VERSION
                long_description = file: README.rst
                license_files = LICENSE
                [options]
                packages = find:
                install_requires = dep-lite>=1
                [options.entry_points]
                console_scripts =
                    cfg-hello = cfgpkg:main
                """,
            "README.rst": "cfg\n===\n",
            "LICENSE": "MIT\n",
            "cfgpkg/__init__.py": _module(),
            "cfgpkg/version.py": 'VERSION = "2.0"\n',
        },
        module="cfgpkg", source="cfgpkg/__init__.py", script="cfg-hello"),
    "setuptools-pyproject-flat": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["setuptools>=77"]
                build-backend = "setuptools.build_meta"
                [project]
                name = "flat-lite"
                version = "1.0"
                readme = "README.md"
                license = "MIT"
                license-files = ["LICENSE"]
                dependencies = ["dep-lite>=1"]
                [project.scripts]
                flat-hello = "flatpkg:main"
                """,
            "README.md": "# flat\n",
            "LICENSE": "MIT\n",
            "flatpkg/__init__.py": _module(),
            "flatpkg/util.py": "Y = 2\n",
        },
        module="flatpkg", source="flatpkg/__init__.py", script="flat-hello"),
    "setuptools-pyproject-src": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["setuptools>=64"]
                build-backend = "setuptools.build_meta"
                [project]
                name = "src-lite"
                version = "1.0"
                dependencies = ["dep-lite>=1"]
                [project.scripts]
                src-hello = "srcpkg:main"
                """,
            "src/srcpkg/__init__.py": _module(),
        },
        module="srcpkg", source="src/srcpkg/__init__.py", script="src-hello", roots=["src"]),
    "poetry-core-1": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["poetry-core>=1.0,<2"]
                build-backend = "poetry.core.masonry.api"
                [tool.poetry]
                name = "poetry-one"
                version = "1.0"
                description = "x"
                authors = ["A <a@example.invalid>"]
                readme = "README.md"
                packages = [{include = "poetry_one"}]
                [tool.poetry.dependencies]
                python = ">=3.8"
                dep-lite = ">=1"
                [tool.poetry.scripts]
                poetry-one-hello = "poetry_one:main"
                """,
            "README.md": "# one\n",
            "poetry_one/__init__.py": _module(),
        },
        module="poetry_one", source="poetry_one/__init__.py", script="poetry-one-hello"),
    "poetry-core-2": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["poetry-core>=2.0"]
                build-backend = "poetry.core.masonry.api"
                [project]
                name = "poetry-two"
                version = "1.0"
                readme = "README.md"
                license = "MIT"
                license-files = ["LICENSE*"]
                dependencies = ["dep-lite>=1"]
                [project.scripts]
                poetry-two-hello = "poetry_two:main"
                [tool.poetry]
                packages = [{include = "poetry_two", from = "src"}]
                """,
            "README.md": "# two\n",
            "LICENSE": "MIT\n",
            "src/poetry_two/__init__.py": _module(),
        },
        module="poetry_two", source="src/poetry_two/__init__.py", script="poetry-two-hello", roots=["src"]),
    "pdm-backend": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["pdm-backend"]
                build-backend = "pdm.backend"
                [project]
                name = "pdm-lite"
                dynamic = ["version"]
                readme = "README.md"
                license-files = ["LICENSE"]
                dependencies = ["dep-lite>=1"]
                [project.scripts]
                pdm-hello = "pdmpkg:main"
                [tool.pdm.version]
                source = "file"
                path = "src/pdmpkg/version.py"
                """,
            "README.md": "# pdm\n",
            "LICENSE": "MIT\n",
            "src/pdmpkg/__init__.py": _module(),
            "src/pdmpkg/version.py": '__version__ = "3.1"\n',
        },
        module="pdmpkg", source="src/pdmpkg/__init__.py", script="pdm-hello", roots=["src"]),
    # Its version from elsewhere (an sdist's PKG-INFO, scm): nothing keeps src/ in the recipe but the package's marker.
    "pdm-backend-package-dir": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["pdm-backend"]
                build-backend = "pdm.backend"
                [project]
                name = "pdm-dir-lite"
                version = "1.4"
                dependencies = ["dep-lite>=1"]
                [project.scripts]
                pdm-dir-hello = "pdmdir:main"
                [tool.pdm.build]
                package-dir = "src"
                """,
            "src/pdmdir/__init__.py": _module(),
        },
        module="pdmdir", source="src/pdmdir/__init__.py", script="pdm-dir-hello", roots=["src"]),
    "flit-core": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["flit_core>=3.12,<5"]
                build-backend = "flit_core.buildapi"
                [project]
                name = "flit-lite"
                dynamic = ["version", "description"]
                readme = "README.md"
                license = "MIT"
                license-files = ["LICENSE"]
                dependencies = ["dep-lite>=1"]
                [project.scripts]
                flit-hello = "flit_lite.core:main"
                """,
            "README.md": "# flit\n",
            "LICENSE": "MIT\n",
            # The version and description come from the module: it is a spec file, copied into the recipe.
            "flit_lite/__init__.py": '"""Flit lite."""\n__version__ = "0.4"\n',
            "flit_lite/core.py": _module(),
        },
        module="flit_lite.core", source="flit_lite/core.py", script="flit-hello"),
    "hatchling-default": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                [project]
                name = "hatch-default"
                version = "1.0"
                dependencies = ["dep-lite>=1"]
                [project.scripts]
                hatch-default-hello = "hatch_default:main"
                """,
            "hatch_default/__init__.py": _module(),
        },
        module="hatch_default", source="hatch_default/__init__.py", script="hatch-default-hello"),
    "hatchling-packages": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                [project]
                name = "hatch-packages"
                version = "1.0"
                dependencies = ["dep-lite>=1"]
                [tool.hatch.build.targets.wheel]
                packages = ["src/hpk"]
                """,
            "src/hpk/__init__.py": _module(),
        },
        module="hpk", source="src/hpk/__init__.py", roots=["src"]),
    "hatchling-include": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                [project]
                name = "hatch-include"
                version = "1.0"
                dependencies = ["dep-lite>=1"]
                [project.scripts]
                hinc-hello = "hinc:main"
                [tool.hatch.build.targets.wheel]
                include = ["hinc", "helper.py"]
                """,
            "hinc/__init__.py": _module(),
            "helper.py": "H = 1\n",
        },
        module="hinc", source="hinc/__init__.py", script="hinc-hello"),
    "hatchling-only-include-sources": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                [project]
                name = "hatch-only"
                version = "1.0"
                dependencies = ["dep-lite>=1"]
                [tool.hatch.build.targets.wheel]
                only-include = ["lib/honly"]
                sources = ["lib"]
                """,
            "lib/honly/__init__.py": _module(),
        },
        module="honly", source="lib/honly/__init__.py", roots=["lib"]),
    "hatchling-build-hook": Shape(
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["hatchling"]
                build-backend = "hatchling.build"
                [project]
                name = "hatch-hook"
                version = "1.0"
                dynamic = ["dependencies"]
                [project.scripts]
                hatch-hook-hello = "hatch_hook:main"
                [tool.hatch.build.targets.wheel]
                include = ["hatch_hook"]
                [tool.hatch.build.targets.wheel.hooks.custom]
                path = "hatch_build.py"
                """,
            # Dependencies computed by a build hook, as Airflow 2's: hatchling runs it only when it builds a wheel.
            "hatch_build.py": """\
                from hatchling.builders.hooks.plugin.interface import BuildHookInterface

                class CustomBuildHook(BuildHookInterface):
                    def initialize(self, version, build_data):
                        build_data["dependencies"] = ["dep-lite>=1"]
                """,
            "hatch_hook/__init__.py": _module(),
        },
        module="hatch_hook", source="hatch_hook/__init__.py", script="hatch-hook-hello"),
}


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
