"""Small real projects of every backend shape the Docker recipe flow supports, and how a folder is compared.

SHAPES: one project per backend and layout (tests/e2e/test_recipe_backends.py runs the flow on each,
tests/e2e/test_recipe_dockerfile.py the specs stage); HOOKED: a hatchling project whose build hook reads
a generated file and whose backend opens license files (the recipe's byte-stability tests); listing():
a folder as a Docker COPY hashes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

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


HOOKED = {
    "pyproject.toml": """\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "hooked"
        version = "1.0"
        dynamic = ["dependencies"]
        [tool.hatch.build.targets.wheel]
        packages = ["hooked"]
        [tool.hatch.build.targets.wheel.hooks.custom]
        path = "hatch_build.py"
        """,
    # The hook computes the dependencies from a generated file, as Airflow's did; hatchling itself opens the
    # license files while it builds the editable wheel (its default license-files), as it did Airflow's.
    "hatch_build.py": """\
        import json
        from pathlib import Path
        from hatchling.builders.hooks.plugin.interface import BuildHookInterface

        class CustomBuildHook(BuildHookInterface):
            def initialize(self, version, build_data):
                build_data["dependencies"] = json.loads((Path(self.root) / "generated" / "deps.json").read_text())
        """,
    "generated/deps.json": '["dep-lite>=1"]\n',
    "LICENSE": "Apache-2.0\n",
    "NOTICE": "Copyright\n",
    ".gitignore": "*.pyc\n",
    "hooked/__init__.py": 'VALUE = "from the real source"\n',
    "hooked/models.py": "X = 1\n",
}


def listing(folder: Path) -> list[tuple[str, int, int, bytes]]:
    """Every entry with its mode, mtime and content: what a Docker COPY of the folder hashes."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            st = path.lstat()
            out.append((str(path.relative_to(folder)), st.st_mode, int(st.st_mtime),
                        path.read_bytes() if path.is_file() else b""))
    return sorted(out)
