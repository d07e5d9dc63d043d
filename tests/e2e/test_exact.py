"""`sync --exact` removes what nothing needs, but never the project, a workspace member, or incrinstall's own needs."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import REPO_ROOT
from tests.support.venvs import installed, make_venv, pip_check, site_packages, uv_bin, uv_pip_install
from tests.support.world import HATCH_PYPROJECT, World

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path, index, real_wheels_index, venv_factory) -> World:
    index.add_wheel("aaa", "1.0")
    index.add_wheel("zzz", "1.0")  # installed by other means: --exact removes it
    return World(tmp_path, index, venv_factory("target"), template=HATCH_PYPROJECT, package="myproj",
                 extra_index=real_wheels_index.url)


def test_sync_editable_exact_keeps_the_project(world):
    world.project(world.work, ["aaa"])
    world.sync(None, "--editable")
    uv_pip_install(world.python, "zzz", index_url=world.index.url)
    proc = world.sync(None, "--editable", "--exact")
    assert "- zzz==1.0" in proc.stdout
    assert "myproj" not in proc.stdout.replace(f"{world.work}", ""), proc.stdout  # no "- myproj==0.1"
    assert installed(world.python) == {"aaa": "1.0", "myproj": "0.1"}
    # Still the editable install of the tree: the package imports from it.
    (world.work / "myproj" / "__init__.py").write_text("ANSWER = 42\n")
    import subprocess

    out = subprocess.run([str(world.python), "-c", "import myproj; print(myproj.ANSWER)"], capture_output=True,
                         text=True, cwd=world.tmp)
    assert out.stdout.strip() == "42", out.stderr


WORKSPACE_ROOT = HATCH_PYPROJECT + """
[tool.uv.workspace]
members = ["packages/*"]
"""


def test_sync_exact_keeps_a_workspace_member_installed_by_other_means(world):
    member = world.work / "packages" / "helper"
    (member / "helper").mkdir(parents=True)
    (member / "helper" / "__init__.py").write_text("")
    (member / "pyproject.toml").write_text(
        '[project]\nname = "helper"\nversion = "0.3"\ndependencies = []\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n')
    world.template = WORKSPACE_ROOT
    world.project(world.work, ["aaa"])
    world.sync(None)
    uv_pip_install(world.python, "--no-deps", "-e", str(member), "zzz", "--extra-index-url", world.index_args[-1],
                   index_url=world.index.url)
    proc = world.sync(None, "--exact")
    assert "- zzz==1.0" in proc.stdout and "- helper" not in proc.stdout, proc.stdout
    assert installed(world.python) == {"aaa": "1.0", "helper": "0.3"}


def _own_requirements() -> dict[str, str]:
    """incrinstall's requirements as its installed metadata states them (markers evaluated here), with the
    versions installed in this test run's environment."""
    out = {}
    for line in importlib.metadata.requires("incrinstall") or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            name = canonicalize_name(req.name)
            out[name] = importlib.metadata.version(name)
    return out


def test_sync_exact_inside_incrinstalls_own_venv_keeps_every_requirement_of_incrinstall(tmp_path, index):
    """incrinstall runs from the target venv: --exact must keep what its installed metadata requires.

    The venv holds stand-in wheels with incrinstall's real Requires-Dist and its requirements' names and
    versions; the code runs from this checkout and this run's environment (PYTHONPATH), as an installed
    incrinstall would, so the target is the interpreter incrinstall itself runs in.
    """
    own = _own_requirements()
    assert "pyproject-hooks" in own  # the one that drifted from a hand-written list
    for name, version in own.items():
        index.add_wheel(name, version)
    index.add_wheel("incrinstall", "0.0.1", requires_dist=importlib.metadata.requires("incrinstall"))
    index.add_wheel("aaa", "1.0")
    index.add_wheel("zzz", "1.0")
    python = make_venv(tmp_path / "self-venv")
    uv_pip_install(python, "incrinstall", "zzz", index_url=index.url)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1"\ndependencies = ["aaa"]\n')

    deps = [p for p in sys.path if p.endswith("site-packages")]
    # --python names the target: with no virtualenv active, the default would be python3 on PATH.
    assert python.is_relative_to(tmp_path) and python.parent.parent.joinpath("pyvenv.cfg").is_file()
    proc = run_cli_in(python, "sync", project, "--exact", "--python", python, "--index-url", index.url,
                      pythonpath=[str(REPO_ROOT), *deps])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "- zzz==1.0" in proc.stdout, proc.stdout
    have = installed(python)
    missing = sorted(set(own) - set(have))
    assert not missing, f"--exact removed incrinstall's own requirements: {missing}\n{proc.stdout}"
    assert "incrinstall" in have and "aaa" in have and "zzz" not in have
    ok, out = pip_check(python)
    assert ok, out


def run_cli_in(python: Path, *args, pythonpath: list[str]):
    """`python -m incrinstall ARGS` with the target venv's own interpreter (sys.prefix is the target)."""
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(pythonpath), INCRINSTALL_UV=uv_bin())
    return subprocess.run([str(python), "-m", "incrinstall", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_stand_in_venv_really_runs_incrinstall_from_inside(tmp_path, index):
    # The test above is only a test of the self-venv case if sys.prefix is the target's prefix.
    python = make_venv(tmp_path / "v")
    import subprocess

    deps = [p for p in sys.path if p.endswith("site-packages")]
    out = subprocess.run([str(python), "-c", "import sys, incrinstall; print(sys.prefix)"], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *deps])))
    assert Path(out.stdout.strip()).resolve() == python.parent.parent.resolve(), out.stderr
    assert site_packages(python)


def test_sync_refuses_a_python_found_on_path_that_is_not_a_virtual_environment(tmp_path, monkeypatch):
    # As uv: a Python incrinstall found by looking (no --python, no venv active) is changed only when it is a
    # virtual environment, or with --system. The interpreter here is a stand-in whose prefix is a temporary
    # folder: were the guard missing, nothing on the machine could be touched.
    from dataclasses import replace

    from incrinstall import pipeline
    from incrinstall.common.errors import InterpreterError
    from incrinstall.environment.interpreter import find_interpreter
    from incrinstall.pipeline import Options

    real = find_interpreter(sys.executable)
    prefix = tmp_path / "system-python"
    fake = replace(real, found_by="PATH", is_venv=False, prefix=str(prefix), site_dirs=(str(prefix / "site"),))
    monkeypatch.setattr(pipeline, "find_interpreter", lambda python: fake)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\ndependencies = []\n')

    with pytest.raises(InterpreterError, match="no virtual environment is active") as refused:
        pipeline.sync(Options(project_dir=project))
    assert "--system" in refused.value.message and not prefix.exists()


def test_sync_uses_a_virtual_environment_found_on_path(tmp_path, index, run_cli, venv_factory):
    python = venv_factory("found")
    index.add_wheel("aaa", "1.0")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\ndependencies = ["aaa"]\n')
    env = {"PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    proc = run_cli("sync", project, "--index-url", index.url, env=env)
    assert proc.returncode == 0, proc.stderr
    assert installed(python) == {"aaa": "1.0"}
