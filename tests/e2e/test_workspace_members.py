"""`sync --editable` installs the workspace members the project reached, editable, as `uv sync` does."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.venvs import installed, pip_check
from tests.support.world import HATCH_PYPROJECT, World

pytestmark = pytest.mark.slow

WORKSPACE_ROOT = HATCH_PYPROJECT + """
[tool.uv.workspace]
members = ["packages/*"]
"""


@pytest.fixture
def world(tmp_path, index, real_wheels_index, venv_factory) -> World:
    index.add_wheel("aaa", "1.0")
    made = World(tmp_path, index, venv_factory("target"), template=WORKSPACE_ROOT, package="myproj",
                 extra_index=real_wheels_index.url)
    for name, deps in (("helper", '["aaa"]'), ("unreached", "[]")):
        member = made.work / "packages" / name
        (member / name).mkdir(parents=True)
        (member / name / "__init__.py").write_text(f'WHERE = "{name} from the member folder"\n')
        (member / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0.3"\ndependencies = {deps}\n'
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n')
    return made


def test_sync_editable_installs_the_reached_members_editable_and_only_once(world):
    world.project(world.work, ["helper"])
    proc = world.sync(None, "--editable")
    assert "+ helper (workspace member, editable" in proc.stdout, proc.stdout
    assert installed(world.python) == {"aaa": "1.0", "helper": "0.3", "myproj": "0.1"}  # not `unreached`
    out = subprocess.run([str(world.python), "-c", "import helper; print(helper.WHERE)"], capture_output=True,
                         text=True, cwd=world.tmp)
    assert out.stdout.strip() == "helper from the member folder", out.stderr
    direct = next(world.site.glob("helper-0.3.dist-info")) / "direct_url.json"
    assert json.loads(direct.read_text())["dir_info"] == {"editable": True}
    ok, said = pip_check(world.python)
    assert ok, said
    # Installed editable from its folder already: the next sync (the specs changed) leaves it alone.
    world.project(world.work, ["helper", "aaa"])
    again = world.sync(None, "--editable", "--json")
    assert json.loads(again.stdout)["members_editable"] == [], again.stdout


def test_a_sync_without_editable_installs_no_member(world):
    world.project(world.work, ["helper"])
    world.sync(None)
    assert installed(world.python) == {"aaa": "1.0"}
