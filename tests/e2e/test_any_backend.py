"""Issue 18's "Seen" cases, through the CLI: a project without a [project] table gets its dependencies, or an error.

The smallest case of the issue: a folder holding only a setup.py. `uv pip install -e .` installs
six; so must `incrinstall sync . --editable`, and every later step must see the project: its
name, its extras, an edit to setup.py. A backend that cannot say the dependencies stops with the
file and line, never exit 0.
"""

from __future__ import annotations

import pytest

from tests.support.venvs import installed, pip_check

pytestmark = pytest.mark.slow

SETUP_PY = 'from setuptools import setup\nsetup(name="sp", version="1.0", packages=["sp"], install_requires=["six>=1.16"])\n'


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "sp-tree"
    (root / "sp").mkdir(parents=True)
    (root / "sp" / "__init__.py").write_text("")
    (root / "setup.py").write_text(SETUP_PY)
    return root


@pytest.fixture
def cli(index, real_wheels_index, run_cli):
    index.add_wheel("six", "1.16.0")
    index.add_wheel("idna", "3.10")
    args = ["--index-url", index.url, "--extra-index-url", real_wheels_index.url]
    return lambda *a: run_cli(*a, *args)


def test_a_setup_py_only_project_gets_its_dependencies_and_is_installed_editable(tree, cli, venv_factory):
    python = venv_factory("target")
    proc = cli("sync", tree, "--editable", "--python", python)
    assert proc.returncode == 0, proc.stderr
    assert "+ six==1.16.0" in proc.stdout
    assert f"+ sp (editable, {tree})" in proc.stdout and "None" not in proc.stdout
    assert installed(python) == {"six": "1.16.0", "sp": "1.0"}
    ok, out = pip_check(python)
    assert ok, out

    # An edit to setup.py is a spec change: the no-op path must not answer.
    (tree / "setup.py").write_text(SETUP_PY.replace('["six>=1.16"]', '["six>=1.16", "idna"]'))
    proc = cli("sync", tree, "--editable", "--python", python)
    assert proc.returncode == 0, proc.stderr
    assert "+ idna==3.10" in proc.stdout and "nothing to do" not in proc.stdout
    assert installed(python) == {"six": "1.16.0", "sp": "1.0", "idna": "3.10"}


def test_extras_of_a_setup_py_project_are_its_backends(tree, cli):
    (tree / "setup.py").write_text(SETUP_PY.replace(")\n", ', extras_require={"fast": ["idna"]})\n'))
    proc = cli("specs", tree, "--extra", "fast")
    assert proc.returncode == 0, proc.stderr
    assert "idna" in proc.stdout and "six>=1.16" in proc.stdout
    proc = cli("specs", tree, "--extra", "slow")
    assert proc.returncode == 2
    assert "unknown extra 'slow'; valid extras: fast" in proc.stderr


def test_provenance_names_setup_py_and_its_line(tree, cli):
    proc = cli("specs", tree)
    assert proc.returncode == 0, proc.stderr
    assert "six>=1.16  (setup.py:2)" in proc.stdout
    assert "pyproject.toml:1" not in proc.stdout


def test_a_backend_that_cannot_say_the_dependencies_is_an_error_naming_the_file(tree, cli, venv_factory):
    (tree / "setup.py").write_text("from setuptools import setup\n\nraise RuntimeError('cannot read version')\n")
    python = venv_factory("target")
    proc = cli("sync", tree, "--editable", "--python", python)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: setup.py:3: "), proc.stderr
    assert "cannot read version" in proc.stderr and "Traceback (most recent call last)" in proc.stderr
    assert installed(python) == {}


def test_a_pyproject_without_project_table_but_a_build_system_asks_the_backend(tmp_path, cli):
    # poetry-core 1.x style: only [tool.poetry]; before, this tree had "no project" and no dependencies.
    root = tmp_path / "poet"
    (root / "poet").mkdir(parents=True)
    (root / "poet" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["poetry-core>=1.0.0,<2"]\nbuild-backend = "poetry.core.masonry.api"\n\n'
        '[tool.poetry]\nname = "poet"\nversion = "1.0"\ndescription = ""\nauthors = ["A <a@example.invalid>"]\n\n'
        '[tool.poetry.dependencies]\npython = "^3.8"\nsix = "^1.16"\n')
    proc = cli("specs", root, "--json")
    assert proc.returncode == 0, proc.stderr
    assert "six<2.0,>=1.16" in proc.stdout and '"source": "pyproject.toml:13"' in proc.stdout


def test_a_stray_provider_yaml_is_noted_under_verbose(tmp_path, cli):
    root = tmp_path / "pkg"
    (root / "src" / "pkg" / "bundles").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "bundles" / "provider.yaml").write_text("package-name: idna\nstate: not-ready\n")
    (root / "pyproject.toml").write_text('[project]\nname = "pkg"\nversion = "1"\ndependencies = ["idna"]\n')
    proc = cli("specs", root, "-v")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("idna  (pyproject.toml:4)")
    assert "src/pkg/bundles/provider.yaml: not a provider of this tree" in proc.stderr
