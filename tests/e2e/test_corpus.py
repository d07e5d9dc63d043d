"""A corpus of real project shapes, one per build-backend style: incrinstall agrees with the backend and with uv.

Each tree is small and written here; its dependencies are small wheels on a loopback index, and
its backend (setuptools, poetry-core 1.x and 2.x, pdm-backend, flit-core, hatchling and
hatch-requirements-txt) comes from the real wheels the setup step downloaded. For each shape:
- `specs --all-extras` equals the Requires-Dist of the METADATA that uv's own editable install
  writes (markers evaluated for the target), and `--extra` accepts exactly its Provides-Extra;
- `sync --editable` into a new venv installs the same names and versions as `uv pip install -e`
  into another, and both pass `uv pip check`;
- a dependency added in the file the backend reads is a delta: only that package changes, and
  the installed METADATA names it.
The module's tests share one incrinstall cache, so a backend's build environment is made once.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.venvs import installed, pip_check, site_packages, uv_pip_install

pytestmark = pytest.mark.slow

# name -> files; EDITS[name] adds `idna` where the backend reads the dependencies.
SHAPES: dict[str, dict[str, str]] = {
    "setuptools-setup-py": {
        "setup.py": """\
from setuptools import setup

setup(
    name="sp",
    version="1.0",
    packages=["sp"],
    install_requires=["six>=1.16", "attrs<24; python_version >= '3.8'", "oldonly; python_version < '3.0'"],
    extras_require={"fast": ["ujson"]},
)
""",
        "sp/__init__.py": "",
    },
    "setuptools-setup-cfg": {
        "setup.cfg": """\
[metadata]
name = scfg
version = 2.0

[options]
packages = scfg
install_requires =
    six>=1.16
    attrs

[options.extras_require]
fast =
    ujson>=5
""",
        "setup.py": "from setuptools import setup\n\nsetup()\n",
        "scfg/__init__.py": "",
    },
    "setuptools-pyproject-dynamic-files": {
        "pyproject.toml": """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "dynfiles"
version = "0.3"
dynamic = ["dependencies", "optional-dependencies"]

[tool.setuptools]
packages = ["dynfiles"]

[tool.setuptools.dynamic]
dependencies = {file = ["requirements.txt"]}
optional-dependencies.fast = {file = ["requirements-fast.txt"]}
""",
        "requirements.txt": "# runtime\nsix>=1.16\nattrs\n",
        "requirements-fast.txt": "ujson>=5\n",
        "dynfiles/__init__.py": "",
    },
    "poetry-core-1": {
        "pyproject.toml": """\
[build-system]
requires = ["poetry-core>=1.0.0,<2"]
build-backend = "poetry.core.masonry.api"

[tool.poetry]
name = "poet"
version = "1.2.0"
description = ""
authors = ["A <a@example.invalid>"]

[tool.poetry.dependencies]
python = "^3.8"
six = "^1.16"
attrs = {version = ">=22", optional = true}

[tool.poetry.extras]
fast = ["attrs"]
""",
        "poet/__init__.py": "",
    },
    "poetry-core-2": {
        "pyproject.toml": """\
[build-system]
requires = ["poetry-core>=2.0"]
build-backend = "poetry.core.masonry.api"

[project]
name = "poet2"
version = "2.1.0"
requires-python = ">=3.9"
dependencies = ["six>=1.16", "attrs"]

[project.optional-dependencies]
fast = ["ujson>=5"]
""",
        "poet2/__init__.py": "",
    },
    "pdm-backend-static": {
        "pyproject.toml": """\
[build-system]
requires = ["pdm-backend"]
build-backend = "pdm.backend"

[project]
name = "pdmstatic"
version = "0.1"
dependencies = ["six>=1.16"]

[project.optional-dependencies]
fast = ["ujson>=5"]
""",
        "src/pdmstatic/__init__.py": "",
    },
    "pdm-backend-dynamic-version": {
        "pyproject.toml": """\
[build-system]
requires = ["pdm-backend"]
build-backend = "pdm.backend"

[project]
name = "pdmdyn"
dynamic = ["version"]
dependencies = ["six>=1.16", "attrs"]

[tool.pdm.version]
source = "file"
path = "src/pdmdyn/__init__.py"
""",
        "src/pdmdyn/__init__.py": '__version__ = "3.4.5"\n',
    },
    "flit-core": {
        "pyproject.toml": """\
[build-system]
requires = ["flit_core>=3.4"]
build-backend = "flit_core.buildapi"

[project]
name = "flitty"
dynamic = ["version", "description"]
dependencies = ["six>=1.16"]

[project.optional-dependencies]
fast = ["ujson>=5"]
""",
        "flitty/__init__.py": '"""A flit project."""\n__version__ = "0.9"\n',
    },
    "hatchling-requirements-txt-plugin": {
        "pyproject.toml": """\
[build-system]
requires = ["hatchling", "hatch-requirements-txt"]
build-backend = "hatchling.build"

[project]
name = "hreq"
version = "1.0"
dynamic = ["dependencies"]

[tool.hatch.metadata.hooks.requirements_txt]
files = ["requirements.txt"]
""",
        "requirements.txt": "six>=1.16\nattrs\n",
        "hreq/__init__.py": "",
    },
    "hatchling-custom-metadata-hook": {
        "pyproject.toml": """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "hmeta"
version = "1.0"
dynamic = ["dependencies", "optional-dependencies"]

[tool.hatch.metadata.hooks.custom]
""",
        "hatch_build.py": """\
from hatchling.metadata.plugin.interface import MetadataHookInterface


class CustomMetadataHook(MetadataHookInterface):
    def update(self, metadata):
        metadata["dependencies"] = [
            "six>=1.16",
            "attrs",
        ]
        metadata["optional-dependencies"] = {"fast": ["ujson>=5"]}
""",
        "hmeta/__init__.py": "",
    },
}

# (file, old text, new text): the edit that adds idna where the backend reads the dependencies.
EDITS: dict[str, tuple[str, str, str]] = {
    "setuptools-setup-py": ("setup.py", '["six>=1.16", ', '["six>=1.16", "idna", '),
    "setuptools-setup-cfg": ("setup.cfg", "    attrs\n", "    attrs\n    idna\n"),
    "setuptools-pyproject-dynamic-files": ("requirements.txt", "attrs\n", "attrs\nidna\n"),
    "poetry-core-1": ("pyproject.toml", 'six = "^1.16"\n', 'six = "^1.16"\nidna = "*"\n'),
    "poetry-core-2": ("pyproject.toml", '"attrs"]', '"attrs", "idna"]'),
    "pdm-backend-static": ("pyproject.toml", '["six>=1.16"]', '["six>=1.16", "idna"]'),
    "pdm-backend-dynamic-version": ("pyproject.toml", '"attrs"]', '"attrs", "idna"]'),
    "flit-core": ("pyproject.toml", '["six>=1.16"]', '["six>=1.16", "idna"]'),
    "hatchling-requirements-txt-plugin": ("requirements.txt", "attrs\n", "attrs\nidna\n"),
    "hatchling-custom-metadata-hook": ("hatch_build.py", '"attrs",\n', '"attrs",\n            "idna",\n'),
}


@pytest.fixture(scope="module")
def deps_index(tmp_path_factory):
    """The projects' dependencies as small wheels (six has two releases: the resolution takes the newest)."""
    from tests.support.index_server import LoopbackIndex

    with LoopbackIndex(tmp_path_factory.mktemp("corpus-deps")) as idx:
        idx.add_wheel("six", "1.16.0")
        idx.add_wheel("six", "1.17.0")
        idx.add_wheel("attrs", "23.2.0")
        idx.add_wheel("ujson", "5.10.0")
        idx.add_wheel("idna", "3.10")
        idx.add_wheel("oldonly", "1.0")  # required only on Python < 3.0: never installed
        yield idx


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One incrinstall cache for the module: each backend's build environment is made once."""
    return tmp_path_factory.mktemp("corpus-incrinstall-cache")


def write_shape(root: Path, name: str) -> Path:
    for rel, text in SHAPES[name].items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def normalized(req: Requirement) -> str:
    extras = f"[{','.join(sorted(canonicalize_name(e) for e in req.extras))}]" if req.extras else ""
    return f"{canonicalize_name(req.name)}{extras}{req.url and ' @ ' + req.url or req.specifier}"


def metadata_of(python: Path, project: str) -> str:
    pattern = canonicalize_name(project).replace("-", "_") + "-*.dist-info"
    [path] = [m for sp in site_packages(python) for m in glob.glob(os.path.join(sp, pattern, "METADATA"))]
    return Path(path).read_text(encoding="utf-8")


def requires_for_every_extra(metadata: str) -> tuple[set[str], list[str]]:
    """(Requires-Dist that apply here with any of Provides-Extra, markers dropped; Provides-Extra)."""
    headers = HeaderParser().parsestr(metadata)
    extras = [canonicalize_name(e) for e in headers.get_all("Provides-Extra") or []]
    env = default_environment()
    out = set()
    for line in headers.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in ["", *extras]):
            out.add(normalized(req))
    return out, extras


def changes(stdout: str) -> list[str]:
    """The package lines of a sync's output, the project's own editable line left out."""
    return sorted(line for line in stdout.splitlines() if line[:2] in ("+ ", "- ", "~ ") and "(editable" not in line)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_specs_sync_and_a_dependency_edit_agree_with_the_backend_and_uv(shape, tmp_path, deps_index,
                                                                        real_wheels_index, run_cli, venv_factory,
                                                                        shared_cache):
    tree = write_shape(tmp_path / shape, shape)
    index_args = ["--index-url", deps_index.url, "--extra-index-url", real_wheels_index.url]
    cache = {"INCRINSTALL_CACHE_DIR": str(shared_cache)}

    def cli(*args: str) -> str:
        proc = run_cli(*args, *index_args, env=cache)
        assert proc.returncode == 0, f"{args[0]} exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    # The reference: uv's own PEP 517/660 frontend, into a venv of its own.
    uv_venv = venv_factory("uv")
    started = time.perf_counter()
    uv_pip_install(uv_venv, "-e", str(tree), "--extra-index-url", real_wheels_index.url, index_url=deps_index.url)
    uv_seconds = time.perf_counter() - started
    project = next(iter(set(installed(uv_venv)) - {"six", "attrs", "ujson", "idna", "oldonly"}))
    expected, provides_extra = requires_for_every_extra(metadata_of(uv_venv, project))

    # specs equals the backend's own METADATA, and --extra knows exactly its Provides-Extra.
    out = json.loads(cli("specs", str(tree), "--all-extras", "--json", "--python", sys.executable))
    assert {normalized(Requirement(r["requirement"])) for r in out["requirements"]} == expected
    for r in out["requirements"]:  # provenance: a line that really states it, or the backend by name
        if r["source"].endswith(")"):
            continue
        rel, number = r["source"].rsplit(":", 1)
        line = (tree / rel).read_text().splitlines()[int(number) - 1].lower().replace("_", "-")
        assert canonicalize_name(Requirement(r["requirement"]).name) in line, (r, line)
    unknown = run_cli("specs", str(tree), "--extra", "no-such-extra", *index_args, env=cache)
    assert unknown.returncode == 2
    assert f"valid extras: {', '.join(sorted(provides_extra)) or '(none)'}" in unknown.stderr, unknown.stderr

    # sync --editable into a new venv installs what uv installed.
    ours = venv_factory("ours")
    started = time.perf_counter()
    cli("sync", str(tree), "--editable", "--python", str(ours))
    ours_seconds = time.perf_counter() - started
    assert installed(ours) == installed(uv_venv)
    for python in (ours, uv_venv):
        ok, report = pip_check(python)
        assert ok, report

    # A dependency added where the backend reads it: only that package changes.
    file, old, new = EDITS[shape]
    text = (tree / file).read_text()
    assert old in text
    (tree / file).write_text(text.replace(old, new, 1))
    assert changes(cli("sync", str(tree), "--editable", "--python", str(ours))) == ["+ idna==3.10"]
    assert installed(ours) == {**installed(uv_venv), "idna": "3.10"}
    assert "idna" in {canonicalize_name(Requirement(r).name)
                      for r in HeaderParser().parsestr(metadata_of(ours, project)).get_all("Requires-Dist") or []}
    ok, report = pip_check(ours)
    assert ok, report
    print(f"{shape}: uv pip install -e {uv_seconds:.2f} s, incrinstall sync --editable {ours_seconds:.2f} s")
